import { ErrorCode, WardcastError } from '@wardcast/protocol';

/** Least `reauthorizeIntervalMs`: a shorter one would turn `authorize` into a busy loop. */
export const MIN_REAUTHORIZE_INTERVAL_MS = 1_000;

/** Connections re-checked at a time by one sweep, so that `authorize`'s backend sees bounded load. */
export const REAUTHORIZE_CONCURRENCY = 8;

/** What the sweep needs of a connection. */
export interface Reauthorizable {
  readonly isOpen: boolean;
  readonly topics: { readonly size: number };
  /** Re-checks every subscription; never rejects. */
  reauthorize(): Promise<void>;
}

/**
 * Re-authorizes every subscription of every open connection each `intervalMs` (the hub option
 * `reauthorizeIntervalMs`): one hub-wide unref'd timer; at most {@link REAUTHORIZE_CONCURRENCY}
 * connections at a time; a sweep still running when the next is due makes that one skip.
 * Connections with no subscription cost nothing. Internal to the hub.
 */
export class ReauthorizeSweep {
  readonly #timer: ReturnType<typeof setInterval> | undefined;
  readonly #sessions: () => Iterable<Reauthorizable>;
  #running: Promise<void> | undefined;
  #stopped = false;

  /**
   * @throws {WardcastError} `invalid_option` when `intervalMs` is set and is not a finite number of
   * at least {@link MIN_REAUTHORIZE_INTERVAL_MS}.
   */
  constructor(intervalMs: number | undefined, sessions: () => Iterable<Reauthorizable>) {
    this.#sessions = sessions;
    if (intervalMs === undefined) return;
    if (typeof intervalMs !== 'number' || !Number.isFinite(intervalMs) || intervalMs < MIN_REAUTHORIZE_INTERVAL_MS) {
      throw new WardcastError(
        ErrorCode.InvalidOption,
        `NotificationHub: reauthorizeIntervalMs must be a number of at least ${MIN_REAUTHORIZE_INTERVAL_MS}`,
      );
    }
    this.#timer = setInterval(() => void this.sweep(), intervalMs);
    this.#timer.unref?.();
  }

  /** Runs one sweep now (or returns the one running). Never rejects. */
  sweep(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Stops the timer; a sweep running stops taking connections. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }

  async #run(): Promise<void> {
    const queue = [...this.#sessions()].filter((s) => s.isOpen && s.topics.size > 0);
    const worker = async (): Promise<void> => {
      for (let s = queue.pop(); s !== undefined && !this.#stopped; s = queue.pop()) {
        if (s.isOpen) await s.reauthorize();
      }
    };
    await Promise.all(Array.from({ length: Math.min(REAUTHORIZE_CONCURRENCY, queue.length) }, worker));
  }
}
