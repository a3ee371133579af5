import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { type HubCore, transportHostOf } from '../core/hub-core.js';
import type { SocketHandlers, TransportHost } from '../core/transport.js';
import type { UpgradeRequestLike } from '../core/types.js';
import { type SseSink, SseSocket } from './socket.js';

/**
 * Path of the SSE stream (`GET`) and, followed by `/<connection id>`, of its frames (`POST`).
 *
 * @category Transport
 */
export const SSE_PATH = '/v1/sse/notifications';
/**
 * Header that carries the per-connection key of a `POST`.
 *
 * @category Transport
 */
export const SSE_KEY_HEADER = 'x-wardcast-key';

/** An answer that is not a stream: a status, a short message and maybe a `Retry-After`. */
export interface SseRefusal {
  readonly ok: false;
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly retryAfterS?: number;
}

/** A refusal as an HTTP answer: status, headers (`Retry-After`, `Allow`) and a JSON body. */
export function refusalAnswer(result: {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly retryAfterS?: number | undefined;
}): { readonly status: number; readonly headers: Record<string, string>; readonly body: string } {
  const body = JSON.stringify({ success: false, error: { code: result.code, message: result.message } });
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  };
  if (result.retryAfterS !== undefined) headers['retry-after'] = String(result.retryAfterS);
  if (result.status === 405) headers.allow = 'GET';
  return { status: result.status, headers, body };
}

interface Connection {
  readonly socket: SseSocket;
  readonly handlers: SocketHandlers;
  readonly key: Buffer;
}

function header(request: UpgradeRequestLike, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : (value as string | undefined);
}

function refusal(status: number, code: string, message: string, retryAfterS?: number): SseRefusal {
  return retryAfterS === undefined
    ? { ok: false, status, code, message }
    : { ok: false, status, code, message, retryAfterS };
}

/** UTF-8 byte length (Buffer.byteLength without the Buffer import in the hot path). */
const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/**
 * The Server-Sent Events transport of one hub: a second transport adapter next to `ws`, on the
 * same {@link HubCore} (same admission, origin check, authentication, limits, resume). One
 * stream is one hub session; the client's frames arrive by `POST`, authorized by the
 * connection's key, which only the stream's reader knows (so another site cannot inject frames).
 */
export class SseTransport {
  readonly #hub: TransportHost;
  readonly #connections = new Map<string, Connection>();

  constructor(hub: TransportHost) {
    this.#hub = hub;
  }

  /** Open streams on this hub. */
  get size(): number {
    return this.#connections.size;
  }

  /** Largest `POST` body: a few frames of `maxFrameBytes`. */
  get maxPostBytes(): number {
    return this.#hub.limits.maxFrameBytes * 4;
  }

  /**
   * Decides a stream request as the `ws` transport decides an upgrade ({@link HubCore.admit}),
   * after a Fetch Metadata check: a browser request that is neither `cors` nor same-origin (an
   * `<img>`, a `no-cors` fetch or a navigation from another site, which carry no `Origin` and so
   * would pass the origin check) is refused with 403. On success, `start(sink)` opens the stream:
   * call it once the response headers are written.
   */
  admit(
    request: UpgradeRequestLike,
  ): SseRefusal | { readonly ok: true; start(sink: SseSink): { readonly gone: () => void } } {
    const mode = header(request, 'sec-fetch-mode');
    const site = header(request, 'sec-fetch-site');
    if (mode !== undefined && mode !== 'cors' && mode !== 'same-origin' && site !== 'same-origin') {
      // Reported as an origin refusal: a page of another site, whose request carries no `Origin`.
      this.#hub.reportRefusal(request, 'origin', 403, 'cross-site request refused');
      return refusal(403, 'forbidden', 'cross-site request refused');
    }
    const verdict = this.#hub.admit(request);
    if (!verdict.ok) {
      const code = verdict.status === 403 ? 'forbidden' : verdict.status === 429 ? 'rate_limited' : 'unavailable';
      return refusal(verdict.status, code, verdict.message, verdict.retryAfterS);
    }
    let started = false;
    return {
      ok: true,
      start: (sink) => {
        if (started) throw new Error('SSE stream already started');
        started = true;
        const id = randomUUID();
        const key = randomBytes(24);
        const socket = new SseSocket(sink);
        // First event: where to POST frames and the key that authorizes them.
        sink.write(`event: open\ndata: ${JSON.stringify({ id, key: key.toString('base64url') })}\n\n`);
        const handlers = this.#hub.open(socket, verdict.request, verdict.ticket);
        socket.handlers = handlers;
        this.#connections.set(id, { socket, handlers, key });
        return {
          gone: () => {
            if (this.#connections.get(id)?.socket === socket) this.#connections.delete(id);
            socket.gone();
            verdict.ticket.release();
          },
        };
      },
    };
  }

  /**
   * Frames a client `POST`ed to connection `id`: one JSON frame per line, each handed to the
   * session as a WebSocket message would be (the same rate, pre-auth and size limits apply).
   * Refused with 404 for an unknown connection or a wrong key (alike, so ids cannot be probed) and
   * 403 for a disallowed `Origin`. A line over `maxFrameBytes` closes the stream with `1009`.
   */
  post(id: string, request: UpgradeRequestLike, body: string): SseRefusal | { readonly ok: true } {
    const connection = this.#connections.get(id);
    const given = header(request, SSE_KEY_HEADER);
    if (connection === undefined || given === undefined || !sameKey(connection.key, given)) {
      return refusal(404, 'not_found', 'no such stream');
    }
    if (!this.#hub.checkOrigin(request)) return refusal(403, 'forbidden', 'origin not allowed');
    const { socket, handlers } = connection;
    const max = this.#hub.limits.maxFrameBytes;
    for (const line of body.split('\n')) {
      if (socket.ended) break;
      const frame = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (frame === '') continue;
      if (frame.length * 3 > max && bytes(frame) > max) {
        handlers.protocolError(1009);
        socket.close(1009, 'message too big');
        break;
      }
      handlers.message(frame, false);
    }
    return { ok: true };
  }
}

function sameKey(expected: Buffer, given: string): boolean {
  const actual = Buffer.from(given, 'base64url');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

const transports = new WeakMap<HubCore, SseTransport>();

/** The SSE transport of `hub` (one per hub, shared by every HTTP handler made for it). */
export function sseTransportOf(hub: HubCore): SseTransport {
  let transport = transports.get(hub);
  if (transport === undefined) {
    transport = new SseTransport(transportHostOf(hub));
    transports.set(hub, transport);
  }
  return transport;
}
