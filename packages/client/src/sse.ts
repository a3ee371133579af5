import type { WebSocketLike } from './types.js';

/** Most frames sent in one `POST`. */
const MAX_BATCH = 32;

/**
 * The Server-Sent Events fallback transport: a {@link WebSocketLike} over a streaming `fetch`
 * (server to client, one frame per SSE event) and `POST`s (client to server, one frame per line),
 * for networks where WebSockets are blocked. Pass it as the client's `SSE` option; the client
 * tries WebSocket first and falls back to it (see `transports`).
 *
 * Given the hub's WebSocket URL (`wss://host/v1/ws/notifications`) it connects to the SSE
 * endpoint next to it (`https://host/v1/sse/notifications`); an `http(s)` URL is used as is.
 * Needs `fetch` with streaming response bodies (every current browser, Node 18+).
 *
 * @example
 * ```ts
 * import { createNotificationClient } from '@wardcast/client';
 * import { SseSocket } from '@wardcast/client/sse';
 *
 * const client = createNotificationClient({ url: 'wss://api.example.org/v1/ws/notifications', token, SSE: SseSocket });
 * ```
 *
 * @category Client
 */
export class SseSocket implements WebSocketLike {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  /** The stream's URL. */
  readonly url: string;
  readonly #abort = new AbortController();
  #postUrl = '';
  #key = '';
  readonly #queue: string[] = [];
  #posting = false;

  constructor(url: string) {
    this.url = sseUrl(url);
    void this.#run();
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('SSE transport is not open');
    this.#queue.push(data);
    void this.#flush();
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState > 1) return;
    this.readyState = 2;
    // Fired asynchronously, as a WebSocket does.
    void Promise.resolve().then(() => this.#finish(code, reason));
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    try {
      const res = await fetch(this.url, { headers: { accept: 'text/event-stream' }, cache: 'no-store', signal });
      const body = res.body;
      if (!res.ok || !body || !/^text\/event-stream/i.test(res.headers.get('content-type') ?? '')) {
        // Same wording as `ws`, so the client reads the status out of it.
        this.onerror?.({ message: `Unexpected server response: ${res.status}` });
        void body?.cancel().catch(() => {});
        this.#finish(1006, '');
        return;
      }
      const reader = body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      let event = '';
      let data: string[] = [];
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let eol = buffer.indexOf('\n');
        while (eol !== -1) {
          const line = buffer.charCodeAt(eol - 1) === 13 ? buffer.slice(0, eol - 1) : buffer.slice(0, eol);
          buffer = buffer.slice(eol + 1);
          eol = buffer.indexOf('\n');
          if (line === '') {
            if (data.length > 0) this.#event(event, data.join('\n'));
            event = '';
            data = [];
            if (this.readyState > 1) return;
          } else if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5));
          else if (line.startsWith('event:')) event = line.slice(6).trim();
          // Comments (`: ping`), `id:` and `retry:` are not used.
        }
      }
      this.#finish(1006, 'stream ended');
    } catch (cause) {
      if (this.readyState > 1) return;
      this.onerror?.(cause);
      this.#finish(1006, '');
    }
  }

  #event(event: string, data: string): void {
    if (this.readyState > 1) return;
    if (event === 'open') {
      const { id, key } = JSON.parse(data) as { id: string; key: string };
      this.#postUrl = `${this.url.split('?')[0]}/${encodeURIComponent(id)}`;
      this.#key = key;
      this.readyState = 1;
      this.onopen?.({});
    } else if (event === 'close') {
      const { code, reason } = JSON.parse(data) as { code: number; reason: string };
      this.#finish(code, reason);
    } else this.onmessage?.({ data });
  }

  /** Sends the queued frames in order, one `POST` at a time. */
  async #flush(): Promise<void> {
    if (this.#posting || this.#queue.length === 0) return;
    this.#posting = true;
    const batch = this.#queue.splice(0, MAX_BATCH);
    try {
      const res = await fetch(this.#postUrl, {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8', 'x-wardcast-key': this.#key },
        body: batch.join('\n'),
        cache: 'no-store',
        signal: this.#abort.signal,
      });
      void res.body?.cancel().catch(() => {});
      if (!res.ok) throw new Error(`POST answered ${res.status}`);
    } catch (cause) {
      if (this.readyState > 1) return;
      this.onerror?.(cause);
      this.#finish(1006, 'frames not delivered');
      return;
    }
    this.#posting = false;
    void this.#flush();
  }

  #finish(code: number, reason: string): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.#abort.abort();
    this.onclose?.({ code, reason });
  }
}

/** The SSE endpoint next to a hub's WebSocket endpoint: `ws(s)://h/.../ws/x` to `http(s)://h/.../sse/x`. */
export function sseUrl(url: string): string {
  if (!/^wss?:/i.test(url)) return url;
  const u = new URL(url);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = u.pathname.replace(/\/ws(\/[^/]*)$/, '/sse$1');
  return u.toString();
}
