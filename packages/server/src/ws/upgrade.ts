import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode, WardcastError } from '@wardcast/protocol';
import { WebSocket, WebSocketServer } from 'ws';
import type { HubCore } from '../core/hub-core.js';
import { asksProtocol2 } from '../core/negotiate.js';
import type { SocketHandlers } from '../core/transport.js';
import { WriteCoalescer } from './coalescer.js';
import { writeRefusal } from './http-refusal.js';
import { WsSocket } from './ws-socket.js';

/**
 * Options of the `ws` transport.
 *
 * @category Transport
 */
export interface WsTransportOptions {
  /**
   * Most fragments one message may arrive in (`ws`'s `maxFragments`); browsers never fragment
   * the small frames this protocol uses, so a flood of fragments is refused early.
   * @default 128
   */
  readonly maxFragments?: number;
  /**
   * permessage-deflate. Off by default: it costs CPU and memory per connection and, over TLS,
   * can leak secrets (CRIME/BREACH-style attacks). Turning it on also disables the framed-once fan-out.
   * @default false
   */
  readonly perMessageDeflate?: boolean;
  /**
   * Gathers the frames written to one socket in the same event-loop turn (a burst of publishes,
   * a replay): the first is written at once, the others go out together in one write at the
   * end of the turn (or sooner: {@link WsTransportOptions.maxFlushDelayMs}). A lone notification
   * never waits. `false` writes every frame with its own system call. Has no effect with
   * `perMessageDeflate`.
   * @default true
   */
  readonly coalesceWrites?: boolean;
  /**
   * The bound on how long {@link WsTransportOptions.coalesceWrites} holds a frame. In a long turn
   * (a burst to thousands of sockets, several publishes in one turn), once the oldest frame held
   * has waited this long, every held socket writes what it holds (one write each) and goes on
   * holding for the rest of the turn. Checked every 64 held frames, so a frame can wait a little
   * longer (the microseconds those take); synchronous work of your own in the same turn cannot be
   * interrupted. `0` writes what is held every 64 held frames; `Infinity` holds to the end of the
   * turn. A non-negative number, else the constructor throws `invalid_option`.
   *
   * @example
   * ```ts
   * // Hold frames at most 2 ms: lower latency inside long bursts, more system calls.
   * const hub = new NotificationHub({ authenticate, maxFlushDelayMs: 2 });
   * ```
   * @default 5
   */
  readonly maxFlushDelayMs?: number;
}

/** {@link WsTransportOptions.maxFlushDelayMs} when not set. */
const DEFAULT_MAX_FLUSH_DELAY_MS = 5;

/** `options.maxFlushDelayMs`, checked. @throws {WardcastError} `invalid_option` */
function maxFlushDelay(options: WsTransportOptions): number {
  const value = options.maxFlushDelayMs ?? DEFAULT_MAX_FLUSH_DELAY_MS;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new WardcastError(ErrorCode.InvalidOption, 'NotificationHub: maxFlushDelayMs must be a non-negative number');
  }
  return value;
}

/** Close codes `ws` uses for the errors it finds in what a client sends, by error code. */
const WS_ERROR_CLOSE_CODES: Readonly<Record<string, number>> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_INVALID_UTF8: 1007,
  WS_ERR_TOO_MANY_BUFFERED_PARTS: 1008,
};

/** The close code `ws` sends for one of its receiver errors (it keeps it under a private symbol). */
function closeCodeOf(error: Error): number {
  const symbol = Object.getOwnPropertySymbols(error).find((s) => s.description === 'status-code');
  const status = symbol === undefined ? undefined : (error as unknown as Record<symbol, unknown>)[symbol];
  if (typeof status === 'number') return status;
  return WS_ERROR_CLOSE_CODES[(error as { code?: string }).code ?? ''] ?? 1002;
}

/**
 * The `ws` socket class the hub's server creates (ws's `WebSocket` option): it hands the events
 * the hub needs straight to the session's handlers instead of through listeners, so a connection
 * holds no listener closures and no listener table of its own. Other events (and these ones
 * before the hub adopted the socket) go through `EventEmitter` as usual.
 */
class HubWebSocket extends WebSocket {
  handlers: SocketHandlers | undefined = undefined;
  transport: WsSocket | undefined = undefined;

  override emit(event: string | symbol, a?: unknown, b?: unknown): boolean {
    const handlers = this.handlers;
    if (handlers === undefined) {
      // An `error` with no listener must not throw (EventEmitter would).
      if (event === 'error' && this.listenerCount('error') === 0) return false;
      return super.emit(event, a, b);
    }
    switch (event) {
      case 'message':
        // ws keeps reading a socket it is closing (until closeTimeoutMs): what arrives then is
        // dropped here, undecoded, whatever the client keeps sending.
        if (this.readyState === WebSocket.OPEN) {
          this.transport?.holdTurn();
          handlers.message(b ? new Uint8Array(a as Buffer) : (a as Buffer).toString('utf8'), b === true);
        }
        return true;
      case 'pong':
        handlers.pong();
        return true;
      case 'close':
        handlers.closed(a as number, (b as Buffer).toString('utf8'));
        return true;
      case 'error':
        // ws closes the socket itself after a protocol error (bad framing, 1009, invalid UTF-8);
        // the hub reports it, and the 'close' event frees the session.
        handlers.protocolError(closeCodeOf(a as Error));
        return true;
      default:
        return super.emit(event, a, b);
    }
  }
}

/**
 * Request headers that only serve the WebSocket handshake (ws reads them from the request itself):
 * left out of the request the hub keeps for the life of the connection and passes to
 * `authenticate`, `clientAddress` and origin checks (`sec-websocket-protocol` is kept: some
 * clients carry a token in it).
 */
const HANDSHAKE_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'upgrade',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
]);

/** `headers` without {@link HANDSHAKE_HEADERS}. */
function appHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const name in headers) if (!HANDSHAKE_HEADERS.has(name)) out[name] = headers[name];
  return out;
}

/** Listener for errors on a socket before and during the upgrade: shared, nothing per connection. */
function ignore(): void {}

export class WsTransport {
  readonly #hub: HubCore;
  readonly #wss: WebSocketServer;
  readonly #compressed: boolean;
  readonly #coalescer: WriteCoalescer | undefined;

  constructor(hub: HubCore, options: WsTransportOptions = {}) {
    this.#hub = hub;
    this.#compressed = options.perMessageDeflate === true;
    const maxDelayMs = maxFlushDelay(options);
    this.#coalescer =
      options.coalesceWrites === false ? undefined : new WriteCoalescer(hub.limits.maxBufferedBytes, maxDelayMs);
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: hub.limits.maxFrameBytes,
      maxFragments: options.maxFragments ?? 128,
      perMessageDeflate: this.#compressed,
      WebSocket: HubWebSocket,
      // Bound the closing handshake: a peer that never answers (a stalled slow consumer) is
      // destroyed after closeTimeoutMs instead of ws's default 30 s.
      closeTimeout: hub.limits.closeTimeoutMs,
    } as ConstructorParameters<typeof WebSocketServer>[0]);
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', ignore);
    const verdict = this.#hub.admit({
      headers: appHeaders(req.headers),
      url: req.url ?? '/',
      remoteAddress: req.socket.remoteAddress,
    });
    if (!verdict.ok) {
      writeRefusal(socket, verdict.status, verdict.message, verdict.retryAfterS);
      return;
    }
    const { request, ticket } = verdict;
    // The `101` response and the `welcome` frame go out together, at the end of this turn (a
    // handshake ws refuses is ended, which writes what is corked). A protocol 2 connection is sent
    // nothing before its `hello`: its `101` goes out alone, at once.
    const cork = this.#coalescer !== undefined && !this.#compressed && !asksProtocol2(req.url);
    if (cork) socket.cork();
    let adopted = false;
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      adopted = true;
      const hubWs = ws as HubWebSocket;
      const transport = new WsSocket(ws, this.#compressed, this.#coalescer);
      if (cork) transport.holdTurn(true);
      hubWs.transport = transport;
      hubWs.handlers = this.#hub.open(transport, request, ticket);
    });
    // From `open()` on, the session releases the slot. `ws` completes a handshake within
    // `handleUpgrade` (there is no `verifyClient`), so an adopted connection needs no listener
    // here. Otherwise `ws` refused it (answering 400 or 503, then ending the socket): the socket's
    // end gives the slot back, unless the hub adopted the connection meanwhile.
    if (adopted) return;
    socket.once('close', () => {
      if (!adopted) ticket.release();
    });
  }

  close(): Promise<void> {
    this.#coalescer?.flush();
    return new Promise((resolve) => this.#wss.close(() => resolve()));
  }
}
