/** A test client of the hub's SSE transport: the stream as events, and `POST`s of frames back. */

/** The SSE endpoint's path (`createNodeHandler`'s default). */
export const STREAM = '/v1/sse/notifications';

export interface SseEvent {
  readonly event: string;
  readonly data: string;
}

/** An open SSE stream: its response, the events and comments read so far. */
export interface Stream {
  readonly response: Response;
  readonly events: SseEvent[];
  readonly comments: string[];
  ended: boolean;
  /** The `open` event's connection id and key. */
  id: string;
  key: string;
  frames(): Record<string, unknown>[];
  post(body: string, headers?: Record<string, string>): Promise<Response>;
  until(what: string, check: () => boolean, timeoutMs?: number): Promise<void>;
  abort(): void;
}

/**
 * Opens the hub's SSE stream at `base` (`query`, e.g. `?protocol=2`, added to its URL) and reads
 * it in the background; resolves once the `open` event arrived (or at once when the response is
 * not a 200 stream). `cleanups` gets the abort.
 */
export async function openStream(
  base: string,
  cleanups: (() => Promise<void> | void)[],
  headers: Record<string, string> = {},
  query = '',
): Promise<Stream> {
  const abort = new AbortController();
  const response = await fetch(`${base}${STREAM}${query}`, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: abort.signal,
  });
  cleanups.push(() => abort.abort());
  const stream: Stream = {
    response,
    events: [],
    comments: [],
    ended: false,
    id: '',
    key: '',
    frames: () => stream.events.filter((e) => e.event === '').map((e) => JSON.parse(e.data)),
    post: (body, extra = {}) =>
      fetch(`${base}${STREAM}/${stream.id}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', 'x-wardcast-key': stream.key, ...extra },
        body,
      }),
    async until(what, check, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}: ${JSON.stringify(stream.events)}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    abort: () => abort.abort(),
  };
  if (response.status !== 200 || !response.body) return stream;
  void (async () => {
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
          let event = '';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) stream.comments.push(line);
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length > 0) stream.events.push({ event, data: data.join('\n') });
          if (event === 'open') Object.assign(stream, JSON.parse(data.join('\n')));
        }
      }
    } catch {
      // Aborted.
    }
    stream.ended = true;
  })();
  await stream.until('the open event', () => stream.id !== '');
  return stream;
}
