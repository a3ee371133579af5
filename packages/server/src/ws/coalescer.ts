/** A socket whose writes a {@link WriteCoalescer} holds until the end of the turn. */
export interface HeldSocket {
  /** Lets the frames held since the second write of the turn go out, in one `writev`. */
  release(): void;
}

/**
 * Gathers what the hub writes to each TCP socket in one event-loop turn. The first frame of a turn
 * is written at once, so a lone notification never waits, not even for the rest of its fan-out;
 * a second frame for the same socket in the same turn corks it and registers it here, and one
 * `setImmediate` per turn (not per socket) uncorks every registered socket. A burst of N
 * notifications then costs two system calls per socket (the first frame, then one `writev`)
 * instead of N. Every frame stays a complete WebSocket frame, in order.
 */
export class WriteCoalescer {
  /**
   * Bytes held on one socket past which they are written at once rather than at the end of the
   * turn: bounds what a long replay keeps in memory, and keeps a socket the kernel would accept
   * from looking like a slow consumer (`bufferedAmount` counts held bytes).
   */
  readonly flushAtBytes: number;
  /** Bumped at every flush: a socket that last wrote in an older turn writes its next frame at once. */
  turn = 0;
  #held: HeldSocket[] = [];
  #scheduled = false;
  readonly #flush = (): void => this.flush();

  /** `maxBufferedBytes`: held bytes are flushed at half of it, and at 64 KiB at most. */
  constructor(maxBufferedBytes: number) {
    this.flushAtBytes = Math.max(1, Math.min(64 * 1024, Math.floor(maxBufferedBytes / 2)));
  }

  /**
   * Notes a write in this turn: the turn ends (and {@link turn} moves on) at the next flush.
   * Called for the first write of every socket in a turn, so kept small enough to be inlined.
   */
  wrote(): void {
    if (!this.#scheduled) this.#schedule();
  }

  #schedule(): void {
    this.#scheduled = true;
    setImmediate(this.#flush);
  }

  /** Registers a socket the caller just corked; it is released at the end of this turn. */
  add(socket: HeldSocket): void {
    this.#held.push(socket);
    this.wrote();
  }

  /** Ends the turn: releases every registered socket now. */
  flush(): void {
    this.#scheduled = false;
    this.turn++;
    const held = this.#held;
    this.#held = [];
    for (const socket of held) {
      try {
        socket.release();
      } catch {
        // A failed write is the socket's own 'error'/'close'; the other sockets must still go out.
      }
    }
  }
}
