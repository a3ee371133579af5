import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { HubCore } from '../core/hub-core.js';
import { WriteCoalescer } from './coalescer.js';
import { writeRefusal } from './http-refusal.js';
import { WsSocket } from './ws-socket.js';

/** Options of the `ws` transport. */
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
   * a replay): the first is written at once, the others go out together in one `writev` at the
   * end of the turn. A lone notification never waits. `false` writes every frame with its own
   * system call. Has no effect with `perMessageDeflate`.
   * @default true
   */
  readonly coalesceWrites?: boolean;
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
 * Glues a {@link HubCore} to `ws`: admission (limits and origin, refused before the upgrade),
 * upgrade with the hub's frame limits, event wiring.
 */
export class WsTransport {
  readonly #hub: HubCore;
  readonly #wss: WebSocketServer;
  readonly #compressed: boolean;
  readonly #coalescer: WriteCoalescer | undefined;

  constructor(hub: HubCore, options: WsTransportOptions = {}) {
    this.#hub = hub;
    this.#compressed = options.perMessageDeflate === true;
    this.#coalescer = options.coalesceWrites === false ? undefined : new WriteCoalescer(hub.limits.maxBufferedBytes);
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: hub.limits.maxFrameBytes,
      maxFragments: options.maxFragments ?? 128,
      perMessageDeflate: this.#compressed,
      // Bound the closing handshake: a peer that never answers (a stalled slow consumer) is
      // destroyed after closeTimeoutMs instead of ws's default 30 s.
      closeTimeout: hub.limits.closeTimeoutMs,
    } as ConstructorParameters<typeof WebSocketServer>[0]);
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    const verdict = this.#hub.admit({
      headers: req.headers,
      url: req.url ?? '/',
      remoteAddress: req.socket.remoteAddress,
    });
    if (!verdict.ok) {
      writeRefusal(socket, verdict.status, verdict.message, verdict.retryAfterS);
      return;
    }
    const { request, ticket } = verdict;
    // The socket's end is the ground truth: a failed handshake (ws answers 400 itself) or a
    // connection that never reaches the hub gives its slot back here.
    socket.once('close', () => ticket.release());
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const handlers = this.#hub.open(new WsSocket(ws, this.#compressed, this.#coalescer), request, ticket);
      ws.on('message', (data, binary) => {
        // ws keeps reading a socket it is closing (until closeTimeoutMs): what arrives then is
        // dropped here, undecoded, whatever the client keeps sending.
        if (ws.readyState !== ws.OPEN) return;
        handlers.message(binary ? new Uint8Array(data as Buffer) : (data as Buffer).toString('utf8'), binary);
      });
      ws.on('pong', () => handlers.pong());
      ws.on('close', (code, reason) => handlers.closed(code, reason.toString('utf8')));
      // ws closes the socket itself after a protocol error (bad framing, 1009, invalid UTF-8);
      // the hub reports it, and the 'close' event frees the session.
      ws.on('error', (error) => handlers.protocolError(closeCodeOf(error)));
    });
  }

  close(): Promise<void> {
    this.#coalescer?.flush();
    return new Promise((resolve) => this.#wss.close(() => resolve()));
  }
}
