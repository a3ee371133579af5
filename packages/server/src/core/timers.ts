const MAX_DELAY = 2_147_483_647;

/**
 * `setTimeout` that accepts delays past ~24.8 days (re-arming as needed) and never keeps the
 * process alive. Returns a cancel function.
 */
export function schedule(delayMs: number, fn: () => void): () => void {
  let handle: ReturnType<typeof setTimeout>;
  const arm = (remaining: number): void => {
    handle = setTimeout(
      () => {
        if (remaining > MAX_DELAY) arm(remaining - MAX_DELAY);
        else fn();
      },
      Math.max(0, Math.min(remaining, MAX_DELAY)),
    );
    (handle as { unref?: () => void }).unref?.();
  };
  arm(delayMs);
  return () => clearTimeout(handle);
}

/** One pending {@link TimerQueue} entry. Hold it only to cancel it; never reuse it. */
export interface QueuedTimer {
  /** Due time, `Date.now()` ms. */
  readonly at: number;
}

class Entry<T> implements QueuedTimer {
  at: number;
  /** Position in the heap; `-1` once fired or cancelled. */
  index = -1;
  target: T | undefined;
  readonly fire: (target: T) => void;

  constructor(at: number, target: T, fire: (target: T) => void) {
    this.at = at;
    this.target = target;
    this.fire = fire;
  }

  /**
   * One entry alive for as long as the class, with fields of the types every entry has. V8 keeps
   * the hidden class of an `Entry` only while some entry lives; a hub whose sessions are all open
   * has none pending, so without this every full collection would drop it and throw away the
   * optimized code of everything that adds or cancels a timer (the connect path).
   */
  static readonly shape: Entry<object> = new Entry<object>(Date.now(), {}, () => {});
}

/**
 * Many timers on one `setTimeout`: a binary min-heap of due times with a single unref'd timer
 * armed for the earliest. For the per-connection timers of the hub (authentication timeout, idle
 * check): a pending entry costs one small object instead of a `Timeout`, a closure and its
 * context per connection, and a cancelled one is gone from the heap at once. `fire` should be a shared function
 * (a static method) so that nothing is allocated per timer beyond the entry. Adding and
 * cancelling are O(log n). Due times use `Date.now()`, like fake timers in tests. Internal to the hub.
 */
export class TimerQueue {
  readonly #heap: Entry<unknown>[] = [];
  #handle: ReturnType<typeof setTimeout> | undefined;
  /** Due time the handle is armed for. */
  #armedAt = Number.POSITIVE_INFINITY;
  readonly #run = (): void => this.#expire();

  /** Pending timers. */
  get size(): number {
    return this.#heap.length;
  }

  /**
   * Calls `fire(target)` in about `delayMs` ms from `now` (at once for `0` or less), unless
   * cancelled. `now` is `Date.now()` unless the caller read the clock already in this turn.
   */
  add<T>(delayMs: number, target: T, fire: (target: T) => void, now: number = Date.now()): QueuedTimer {
    const entry = new Entry<T>(now + Math.max(0, delayMs), target, fire);
    const heap = this.#heap;
    entry.index = heap.length;
    heap.push(entry as Entry<unknown>);
    this.#up(entry.index);
    if (entry.at < this.#armedAt) this.#arm();
    return entry;
  }

  /**
   * Cancels `timer` (no-op when `undefined`, fired or cancelled already). The shared timer stays
   * armed when the queue empties: a connection that authenticates and subscribes at once adds and
   * cancels two entries, and re-arming `setTimeout` for each would cost more than the one early
   * wake-up (which finds nothing due) it saves.
   */
  cancel(timer: QueuedTimer | undefined): void {
    if (timer === undefined) return;
    const entry = timer as Entry<unknown>;
    const at = entry.index;
    if (at < 0) return;
    entry.index = -1;
    entry.target = undefined;
    const heap = this.#heap;
    const last = heap.pop() as Entry<unknown>;
    if (at < heap.length) {
      heap[at] = last;
      last.index = at;
      this.#down(at);
      this.#up(last.index);
    }
  }

  /** Cancels every timer and disarms the shared one. */
  clear(): void {
    for (const entry of this.#heap) {
      entry.index = -1;
      entry.target = undefined;
    }
    this.#heap.length = 0;
    this.#disarm();
  }

  #arm(): void {
    const first = this.#heap[0];
    if (this.#handle !== undefined) clearTimeout(this.#handle);
    if (first === undefined) {
      this.#handle = undefined;
      this.#armedAt = Number.POSITIVE_INFINITY;
      return;
    }
    this.#armedAt = first.at;
    this.#handle = setTimeout(this.#run, Math.min(MAX_DELAY, Math.max(0, first.at - Date.now())));
    (this.#handle as { unref?: () => void }).unref?.();
  }

  #disarm(): void {
    if (this.#handle !== undefined) clearTimeout(this.#handle);
    this.#handle = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
  }

  /** Fires every due entry (in due order), then re-arms for the next. */
  #expire(): void {
    this.#handle = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const heap = this.#heap;
    const now = Date.now();
    try {
      for (let first = heap[0]; first !== undefined && first.at <= now; first = heap[0]) {
        const target = first.target;
        this.cancel(first);
        first.fire(target);
      }
    } finally {
      if (this.#handle === undefined) this.#arm();
    }
  }

  #up(i: number): void {
    const heap = this.#heap;
    const entry = heap[i] as Entry<unknown>;
    while (i > 0) {
      const parentAt = (i - 1) >> 1;
      const parent = heap[parentAt] as Entry<unknown>;
      if (parent.at <= entry.at) break;
      heap[i] = parent;
      parent.index = i;
      i = parentAt;
    }
    heap[i] = entry;
    entry.index = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const entry = heap[i] as Entry<unknown>;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && (heap[right] as Entry<unknown>).at < (heap[left] as Entry<unknown>).at ? right : left;
      const c = heap[child] as Entry<unknown>;
      if (c.at >= entry.at) break;
      heap[i] = c;
      c.index = i;
      i = child;
    }
    heap[i] = entry;
    entry.index = i;
  }
}
