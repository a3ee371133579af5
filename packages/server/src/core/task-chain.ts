/** A promise that is settled: the tail of a chain with nothing queued (shared, not one per chain). */
const SETTLED: Promise<void> = Promise.resolve();

/** A task of a {@link TaskChain}: done when it returns, or when the promise it returns settles. */
export type ChainTask = () => Promise<void> | void;

/** Who a {@link TaskChain} tells about a task that threw or rejected. */
export interface TaskChainOwner {
  /** A task threw (or its promise rejected); the tasks after it still run. */
  taskFailed(cause: unknown): void;
}

/**
 * Runs one connection's tasks (its frames, its reauthorizations) one at a time, in the order they
 * were queued, and as early as it can: a task queued while nothing else is runs at once, in this
 * turn, and one that finishes without returning a promise is done at once, without a turn of the
 * microtask queue (an `auth` or `subscribe` whose hooks and history store answer synchronously).
 * A task queued while another one runs waits for it, however that one finishes. Internal to the hub.
 */
export class TaskChain {
  readonly #owner: TaskChainOwner;
  /** The tail of the queue, {@link SETTLED} when nothing is queued. */
  #chain: Promise<void> = SETTLED;
  /** Tasks queued and not finished yet. */
  #queued = 0;
  /**
   * While {@link TaskChain.runNow} runs a task: `null`, or what lets the tasks queued meanwhile go
   * on once it is done; `undefined` otherwise.
   */
  #inline: (() => void) | null | undefined = undefined;

  constructor(owner: TaskChainOwner) {
    this.#owner = owner;
  }

  /** Queues `task` after every task queued before it; with nothing queued, runs it at once. */
  enqueue(task: ChainTask): Promise<void> {
    if (this.#queued === 0) return this.runNow(task);
    this.#queued++;
    if (this.#inline === null) {
      // Queued by the task running in `runNow` (an event listener, say): it waits for that task.
      let open: () => void = () => {};
      this.#chain = new Promise<void>((resolve) => {
        open = resolve;
      });
      this.#inline = open;
    }
    const next = this.#chain.then(() => this.#run(task));
    this.#chain = next;
    return next;
  }

  /** Runs `task` now, as the only task of the chain (nothing may be queued); tasks it queues meanwhile wait for it. */
  runNow(task: ChainTask): Promise<void> {
    this.#queued = 1;
    this.#inline = null;
    const now = this.#run(task);
    const open = this.#inline;
    this.#inline = undefined;
    if (open) void now.then(open);
    else if (this.#queued > 0) this.#chain = now;
    return now;
  }

  /** Runs one task; back to {@link SETTLED} once the last queued task is done. */
  #run(task: ChainTask): Promise<void> {
    let result: Promise<void> | void;
    try {
      result = task();
    } catch (cause) {
      this.#owner.taskFailed(cause);
      this.#finished();
      return SETTLED;
    }
    if (result === undefined) {
      this.#finished();
      return SETTLED;
    }
    return result.then(
      () => this.#finished(),
      (cause: unknown) => {
        this.#owner.taskFailed(cause);
        this.#finished();
      },
    );
  }

  #finished(): void {
    if (--this.#queued === 0) this.#chain = SETTLED;
  }
}
