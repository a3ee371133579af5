import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { EncodedFrame, TransportSocket } from '../core/transport.js';
import type { HeldSocket, WriteCoalescer } from './coalescer.js';

const OPEN = 1;

/**
 * Frames a text message once, as `ws` would (FIN, opcode 1, unmasked, no RSV bits), into one
 * buffer every socket can be written: the header and the UTF-8 text are written straight into
 * it, so the text is encoded once and copied nowhere else. `byteLength`, the UTF-8 length of
 * `text` when the caller knows it, spares measuring it; an ASCII text (as long in bytes as in
 * characters, the usual frame) is copied as is rather than transcoded.
 */
export function prepare(text: string, byteLength: number = Buffer.byteLength(text)): Buffer {
  const length = byteLength;
  const head = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + length);
  frame[0] = 0x81;
  if (head === 2) {
    frame[1] = length;
  } else if (head === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt16BE(0, 2);
    frame.writeUIntBE(length, 4, 6);
  }
  // As many bytes as UTF-16 units: every one is below 0x80, and Latin-1 is UTF-8 there.
  if (length === text.length) frame.write(text, head, length, 'latin1');
  else frame.write(text, head, length, 'utf8');
  return frame;
}

/** Cache key for frames prepared by this transport. */
const PREPARED_BY_WS = {};

/**
 * Wraps a `ws` socket for the hub core. Fan-out frames are framed once per publish and written
 * straight to each TCP socket, which is what `ws` itself does for an uncompressed text frame;
 * frames for this socket alone are framed the same way.
 * With a {@link WriteCoalescer}, the first frame of a turn is written at once and the socket is
 * corked from its second write to the end of the turn (or a drain), so the rest of a burst goes
 * out in one buffer and one write; everything written meanwhile (`ws`'s own control and close
 * frames included) keeps its order. With permessage-deflate on, every frame goes through
 * `ws.send`, uncorked.
 */
export class WsSocket implements TransportSocket, HeldSocket {
  readonly #ws: WebSocket;
  readonly #raw: Socket | undefined;
  readonly #coalescer: WriteCoalescer | undefined;
  /** Corked by this wrapper and registered with the coalescer until the end of the turn. */
  #held = false;
  /** The coalescer's turn of this socket's last write. */
  #turn = -1;
  /**
   * The TCP socket's writable state, uncompressed only: its `length` is the bytes written and not
   * yet handed to the kernel, which is all `ws.bufferedAmount` counts when every frame goes
   * straight to the socket (`ws` queues bytes of its own only while compressing or reading a
   * Blob). Kept to read on every delivery without going through two getters.
   */
  readonly #state: { readonly length: number } | undefined;
  /**
   * The frames held since the second write of this turn, written to the TCP socket only when
   * released or drained, joined into one buffer: nothing per frame is allocated while the turn
   * runs (a burst to thousands of sockets is a long turn), so nothing lives long enough to be
   * promoted and collected later by a mark-compact. The array itself is kept from turn to turn.
   */
  #pending: Buffer[] = [];
  /** Bytes in {@link WsSocket.#pending}. */
  #pendingBytes = 0;

  constructor(ws: WebSocket, compressed: boolean, coalescer: WriteCoalescer | undefined) {
    this.#ws = ws;
    this.#raw = compressed ? undefined : (ws as unknown as { _socket?: Socket })._socket;
    this.#coalescer = this.#raw === undefined ? undefined : coalescer;
    this.#state = (this.#raw as { _writableState?: { length: number } } | undefined)?._writableState;
  }

  /** Frames `text` as {@link prepare} does and writes it to the TCP socket (through `ws.send` when compressed). */
  send(text: string): void {
    if (this.#ws.readyState !== OPEN) return;
    const raw = this.#raw;
    if (raw === undefined) {
      this.#ws.send(text);
      return;
    }
    this.#write(raw, prepare(text));
  }

  sendEncoded(frame: EncodedFrame): void {
    if (this.#ws.readyState !== OPEN) return;
    const raw = this.#raw;
    if (raw === undefined) {
      this.#ws.send(frame.text);
      return;
    }
    this.#write(raw, frame.prepared(PREPARED_BY_WS, prepare));
  }

  /** Writes `bytes` now (the first frame of a turn) or holds them until the end of the turn. */
  #write(raw: Socket, bytes: Buffer): void {
    this.#hold();
    if (!this.#held) {
      raw.write(bytes);
      return;
    }
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
    const coalescer = this.#coalescer as WriteCoalescer;
    // Past `flushAtBytes` what is held goes out at once; the socket stays corked for the rest of the turn.
    if (this.#pendingBytes >= coalescer.flushAtBytes) this.drain();
    // Last: it may drain every held socket, this one included (the bound on holding).
    coalescer.held();
  }

  /** Writes the frames held so far (one write) and keeps the socket corked for the rest of the turn. */
  drain(): void {
    if (!this.#held || this.#pending.length === 0) return;
    const raw = this.#raw as Socket;
    if (this.#ws.readyState !== OPEN) {
      this.#dropPending();
      return;
    }
    this.#writePending(raw);
    raw.uncork();
    raw.cork();
  }

  /** Writes the held frames, joined into one buffer, into the corked TCP socket. */
  #writePending(raw: Socket): void {
    const pending = this.#pending;
    if (pending.length === 0) return;
    // One buffer, one write: the frames are copied once (at most `flushAtBytes`, 64 KiB), and Node
    // keeps no entry per frame for a `writev`, which a long turn would have kept alive long enough
    // to promote them, for mark-compacts to collect during the fan-outs that follow.
    const bytes = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, this.#pendingBytes);
    // The same array for the next turn: a new one per socket per burst would live until the next
    // burst, be promoted, and be old-generation garbage then.
    pending.length = 0;
    this.#pendingBytes = 0;
    raw.write(bytes);
  }

  /**
   * Holds what is written to the socket until the end of this turn: for the replies to the frames
   * a client just sent (`authenticated` and `subscribed` for `auth` + `subscribe` in one packet,
   * replayed notifications and `ready` for a `hello`), and, with `corked` (the transport corked
   * the TCP socket before the upgrade of a protocol 1 connection), for the `101` response and the
   * `welcome` frame. One system call each instead of one per frame.
   */
  holdTurn(corked = false): void {
    const coalescer = this.#coalescer;
    const raw = this.#raw;
    if (coalescer === undefined || raw === undefined) {
      if (corked) raw?.uncork();
      return;
    }
    if (this.#held) {
      if (corked) raw.uncork();
      return;
    }
    this.#held = true;
    this.#turn = coalescer.turn;
    if (!corked) raw.cork();
    coalescer.add(this);
  }

  release(): void {
    if (!this.#held) return;
    this.#held = false;
    const raw = this.#raw as Socket;
    // A connection that stopped being open meanwhile (the peer's close, answered by `ws` in the
    // corked socket) gets no data frame after its close frame: what is held is dropped, as a
    // browser drops what arrives once it is closing.
    if (this.#ws.readyState === OPEN) this.#writePending(raw);
    else this.#dropPending();
    raw.uncork();
  }

  #dropPending(): void {
    this.#pending.length = 0;
    this.#pendingBytes = 0;
  }

  /**
   * Before a write: the first of a turn goes straight out; the second corks the socket until the
   * end of the turn (nested corks, like `ws`'s own, stay balanced).
   */
  #hold(): void {
    const coalescer = this.#coalescer;
    if (this.#held || coalescer === undefined) return;
    if (this.#turn !== coalescer.turn) {
      this.#turn = coalescer.turn;
      coalescer.wrote();
      return;
    }
    this.#held = true;
    (this.#raw as Socket).cork();
    coalescer.add(this);
  }

  /**
   * `ws`'s `bufferedAmount`. Uncompressed, that is what the TCP socket holds: `ws`'s own queue is
   * used only while it compresses (or reads a Blob, which the hub never sends), so the `ws` object
   * and its sender are not read on every write.
   */
  get bufferedAmount(): number {
    const state = this.#state;
    return state === undefined ? this.#ws.bufferedAmount : state.length + this.#pendingBytes;
  }

  /** The close frame is written after every frame held so far, and all of them go out now. */
  close(code: number, reason: string): void {
    try {
      if (this.#held && this.#ws.readyState === OPEN) this.#writePending(this.#raw as Socket);
      this.#ws.close(code, reason);
    } finally {
      this.release();
    }
  }

  terminate(): void {
    this.#dropPending();
    this.#ws.terminate();
  }

  ping(): void {
    if (this.#ws.readyState === OPEN) this.#ws.ping();
  }
}
