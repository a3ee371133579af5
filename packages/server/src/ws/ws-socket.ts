import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import * as wsModule from 'ws';
import type { EncodedFrame, TransportSocket } from '../core/transport.js';

interface SenderStatic {
  frame(
    data: Buffer,
    options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean },
  ): Buffer[];
}

const Sender = (wsModule as unknown as { Sender: SenderStatic }).Sender;
const OPEN = 1;

/** Frames a text message once, as `ws` would, into one buffer every socket can be written. */
function prepare(text: string): Buffer {
  const parts = Sender.frame(Buffer.from(text), { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false });
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
}

/** Cache key for frames prepared by this transport. */
const PREPARED_BY_WS = {};

/**
 * Wraps a `ws` socket for the hub core. Fan-out frames are framed once per publish and written
 * straight to each TCP socket, which is what `ws` itself does for an uncompressed text frame.
 * With permessage-deflate on, every frame goes through `ws.send` instead.
 */
export class WsSocket implements TransportSocket {
  readonly #ws: WebSocket;
  readonly #raw: Socket | undefined;

  constructor(ws: WebSocket, compressed: boolean) {
    this.#ws = ws;
    this.#raw = compressed ? undefined : (ws as unknown as { _socket?: Socket })._socket;
  }

  send(text: string): void {
    if (this.#ws.readyState === OPEN) this.#ws.send(text);
  }

  sendEncoded(frame: EncodedFrame): void {
    if (this.#ws.readyState !== OPEN) return;
    if (this.#raw === undefined) this.#ws.send(frame.text);
    else this.#raw.write(frame.prepared(PREPARED_BY_WS, prepare));
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  close(code: number, reason: string): void {
    this.#ws.close(code, reason);
  }

  terminate(): void {
    this.#ws.terminate();
  }

  ping(): void {
    if (this.#ws.readyState === OPEN) this.#ws.ping();
  }
}
