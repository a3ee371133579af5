/**
 * Which protocol a connection speaks, from its upgrade request: protocol 2 when the URL asks for
 * it (`?protocol=2`, `PROTOCOL_2_QUERY` in `@wardcast/protocol`), protocol 1 otherwise. Internal
 * to the hub.
 */
import { PROTOCOL_2_QUERY } from '@wardcast/protocol';

const AMPERSAND = 38;
const QUESTION_MARK = 63;

/** Whether an upgrade request's URL asks for protocol 2: `protocol=2`, as is, anywhere in its query. */
export function asksProtocol2(url: string | undefined): boolean {
  // Without a regular expression or a URL object: this runs on every connect.
  if (url === undefined) return false;
  const query = url.indexOf('?');
  if (query < 0) return false;
  const length = PROTOCOL_2_QUERY.length;
  for (let at = url.indexOf(PROTOCOL_2_QUERY, query); at >= 0; at = url.indexOf(PROTOCOL_2_QUERY, at + 1)) {
    const before = url.charCodeAt(at - 1);
    const after = at + length === url.length ? AMPERSAND : url.charCodeAt(at + length);
    // A whole parameter: after `?` or `&`, followed by `&` or the end.
    if ((before === QUESTION_MARK || before === AMPERSAND) && after === AMPERSAND) return true;
  }
  return false;
}
