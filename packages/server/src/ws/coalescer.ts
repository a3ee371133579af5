/** A socket whose writes a {@link WriteCoalescer} holds until the end of the turn. */
export interface HeldSocket {
  /** Lets the frames held since the second write of the turn go out, in one write. */
  release(): void;
  /** Writes the frames held so far, in one write, and goes on holding for the rest of the turn. */
  drain(): void;
}

/** Held frames between two looks at the clock: one clock read per this many, a few µs of work. */
const CHECK_EVERY = 64;

/**
 * Gathers what the hub writes to each TCP socket in one event-loop turn. The first frame of a turn
 * is written at once, so a lone notification never waits, not even for the rest of its fan-out;
 * a second frame for the same socket in the same turn corks it and registers it here, and one
 * `setImmediate` per turn (not per socket) uncorks every registered socket. A burst of N
 * notifications then costs two system calls per socket (the first frame, then one write)
 * instead of N. Every frame stays a complete WebSocket frame, in order.
 *
 * Holding is bounded in time as well: every {@link CHECK_EVERY} held frames the coalescer reads
 * the clock, and once the oldest frame it holds has waited `maxDelayMs`, every held socket writes
 * what it holds there and then (one write each) and goes on holding for the rest of the turn.
 * A long burst then costs one system call per socket per `maxDelayMs` of holding, not per frame.
 */
export class WriteCoalescer {
  /**
   * Bytes held on one socket past which they are written at once rather than at the end of the
   * turn: bounds what a long replay keeps in memory, and keeps a socket the kernel would accept
   * from looking like a slow consumer (`bufferedAmount` counts held bytes).
   */
  readonly flushAtBytes: number;
  /** Longest a held frame waits, checked as frames are held; `Infinity`: until the end of the turn. */
  readonly maxDelayMs: number;
  /** Bumped at every flush: a socket that last wrote in an older turn writes its next frame at once. */
  turn = 0;
  #held: HeldSocket[] = [];
  /** The list {@link WriteCoalescer.#held} was before the last flush, emptied, for the next one. */
  #spare: HeldSocket[] = [];
  #scheduled = false;
  /** `performance.now()` when the oldest frame held was held (the first `add`, or the last drain). */
  #heldSince = 0;
  /** Held frames until the next look at the clock. */
  #countdown = CHECK_EVERY;
  readonly #flush = (): void => this.flush();

  /**
   * `maxBufferedBytes`: held bytes are flushed at half of it, and at 64 KiB at most.
   * `maxDelayMs`: the bound on holding (`Infinity` holds to the end of the turn).
   */
  constructor(maxBufferedBytes: number, maxDelayMs: number = Number.POSITIVE_INFINITY) {
    this.flushAtBytes = Math.max(1, Math.min(64 * 1024, Math.floor(maxBufferedBytes / 2)));
    this.maxDelayMs = maxDelayMs;
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
    if (this.#held.length === 0 && this.maxDelayMs !== Number.POSITIVE_INFINITY) this.#heldSince = performance.now();
    this.#held.push(socket);
    this.wrote();
  }

  /**
   * Notes one frame held by a registered socket (called after it is queued): every
   * {@link CHECK_EVERY} of them, drains every held socket once the oldest frame has waited `maxDelayMs`.
   */
  held(): void {
    if (--this.#countdown === 0) this.#check();
  }

  #check(): void {
    this.#countdown = CHECK_EVERY;
    if (this.#held.length > 0 && performance.now() - this.#heldSince >= this.maxDelayMs) this.#drain();
  }

  /** Writes what every held socket holds; they stay held until the end of the turn. */
  #drain(): void {
    for (const socket of this.#held) {
      try {
        socket.drain();
      } catch {
        // A failed write is the socket's own 'error'/'close'; the other sockets must still go out.
      }
    }
    // Nothing is held any more: the next frame held starts the wait (the drain itself took time).
    this.#heldSince = performance.now();
  }

  /** Ends the turn: releases every registered socket now. */
  flush(): void {
    this.#scheduled = false;
    this.turn++;
    // Two lists in turn rather than a new one per turn: a list that lives from one burst to the
    // next is promoted, and would be old-generation garbage at the next flush.
    const held = this.#held;
    this.#held = this.#spare;
    for (const socket of held) {
      try {
        socket.release();
      } catch {
        // A failed write is the socket's own 'error'/'close'; the other sockets must still go out.
      }
    }
    held.length = 0;
    this.#spare = held;
  }
}
