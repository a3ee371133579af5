import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { HubCore } from '../core/hub-core.js';
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
}

const STATUS_TEXT: Record<number, string> = { 403: 'Forbidden', 503: 'Service Unavailable' };

function reject(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Glues a {@link HubCore} to `ws`: origin check, upgrade with the hub's limits, event wiring. */
export class WsTransport {
  readonly #hub: HubCore;
  readonly #wss: WebSocketServer;
  readonly #compressed: boolean;

  constructor(hub: HubCore, options: WsTransportOptions = {}) {
    this.#hub = hub;
    this.#compressed = options.perMessageDeflate === true;
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
    if (this.#hub.closed) {
      reject(socket, 503, 'shutting down');
      return;
    }
    const request = { headers: req.headers, url: req.url ?? '/', remoteAddress: req.socket.remoteAddress };
    if (!this.#hub.checkOrigin(request)) {
      reject(socket, 403, 'origin not allowed');
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const handlers = this.#hub.open(new WsSocket(ws, this.#compressed), request);
      ws.on('message', (data, binary) => {
        handlers.message(binary ? new Uint8Array(data as Buffer) : (data as Buffer).toString('utf8'), binary);
      });
      ws.on('pong', () => handlers.pong());
      ws.on('close', (code, reason) => handlers.closed(code, reason.toString('utf8')));
      // ws closes the socket itself after an error (bad frame, 1009); the 'close' event frees it.
      ws.on('error', () => {});
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#wss.close(() => resolve()));
  }
}
