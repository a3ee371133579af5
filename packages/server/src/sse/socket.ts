import type { EncodedFrame, SocketHandlers, TransportSocket } from '../core/transport.js';

/**
 * Where an SSE stream's bytes go: a Node `ServerResponse` (see `node.ts`) or a Fetch
 * `ReadableStream` controller. Only what {@link SseSocket} needs.
 */
export interface SseSink {
  /**
   * Writes text, or UTF-8 bytes shared by every stream of a fan-out (not to be modified);
   * `flushed` runs once they reached the network layer (for the heartbeat).
   */
  write(text: string | Uint8Array, flushed?: () => void): void;
  /** Ends the stream after what was written. */
  end(): void;
  /** Drops the stream at once. */
  destroy(): void;
  /** Bytes written and not yet flushed to the network. */
  readonly bufferedAmount: number;
}

/** `data:` field of one event: JSON never holds a raw line break, but a line break would end the field. */
function dataOf(text: string): string {
  if (text.indexOf('\n') === -1 && text.indexOf('\r') === -1) return `data: ${text}\n\n`;
  return `${text
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}`)
    .join('\n')}\n\n`;
}

/** A fan-out frame as one SSE event in UTF-8, built once per publish and shared by every stream. */
const prepare = (text: string): Uint8Array => Buffer.from(dataOf(text), 'utf8');

/** Cache key for frames prepared by this transport (see `EncodedFrame.prepared`). */
const PREPARED_BY_SSE = {};

/**
 * One Server-Sent Events stream as a hub socket ({@link TransportSocket}): every server frame is
 * one `data:` event; the heartbeat is an SSE comment (`: ping`) whose flush counts as the pong (a
 * stream that stopped draining never answers, and is terminated by the hub's next heartbeat); a
 * close is a final `event: close` with `{ code, reason }` before the stream ends.
 */
export class SseSocket implements TransportSocket {
  readonly #sink: SseSink;
  /** Set once the hub adopted the socket. */
  handlers: SocketHandlers | undefined;
  #ended = false;
  /** Code and reason of a close the hub asked for, reported when the stream is gone. */
  #close: { code: number; reason: string } | undefined;

  constructor(sink: SseSink) {
    this.#sink = sink;
  }

  get ended(): boolean {
    return this.#ended;
  }

  send(text: string): void {
    if (!this.#ended) this.#sink.write(dataOf(text));
  }

  sendEncoded(frame: EncodedFrame): void {
    if (!this.#ended) this.#sink.write(frame.prepared(PREPARED_BY_SSE, prepare));
  }

  get bufferedAmount(): number {
    return this.#sink.bufferedAmount;
  }

  close(code: number, reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#close = { code, reason };
    this.#sink.write(`event: close\ndata: ${JSON.stringify({ code, reason })}\n\n`);
    this.#sink.end();
  }

  terminate(): void {
    this.#ended = true;
    this.#sink.destroy();
  }

  ping(): void {
    if (this.#ended) return;
    this.#sink.write(': ping\n\n', () => this.handlers?.pong());
  }

  /** The stream is gone (ended by the hub, the client or the network): tells the hub, once. */
  gone(): void {
    this.#ended = true;
    const close = this.#close ?? { code: 1006, reason: 'stream ended' };
    this.handlers?.closed(close.code, close.reason);
  }
}
