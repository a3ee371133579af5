/**
 * Which protocol a connection speaks, from its upgrade request: protocol 2 when the URL asks for
 * it (`?protocol=2`, `PROTOCOL_2_QUERY` in `@wardcast/protocol`), protocol 1 otherwise. Internal
 * to the hub.
 */

/** Whether an upgrade request's URL asks for protocol 2: a `protocol` query parameter equal to `2`. */
export function asksProtocol2(url: string | undefined): boolean {
  // Without a regular expression or a URL object: this runs on every connect.
  if (url === undefined) return false;
  const query = url.indexOf('?');
  if (query < 0) return false;
  for (let at = url.indexOf('protocol=2', query); at >= 0; at = url.indexOf('protocol=2', at + 1)) {
    const before = url.charCodeAt(at - 1);
    const after = at + 10 === url.length ? 38 : url.charCodeAt(at + 10);
    // Preceded by `?` or `&`, followed by `&` or the end (38 is `&`, 63 is `?`).
    if ((before === 63 || before === 38) && after === 38) return true;
  }
  return false;
}
