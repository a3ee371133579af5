import type { EscalationRecord, EscalationStore } from './types.js';

/**
 * Options of {@link MemoryEscalationStore}.
 *
 * @category Escalation
 */
export interface MemoryEscalationStoreOptions {
  /**
   * Finished (acknowledged or unacknowledged) records kept for `load()`; the oldest are dropped first.
   * @default 1_000
   */
  readonly maxFinished?: number;
}

/**
 * The default {@link EscalationStore}: records in process memory, lost at a restart. Share one
 * instance between hubs that run one after another (as tests do) to see escalations resume.
 * Each running hub keeps its own: with several instances on a broker that has a control channel
 * (`@wardcast/redis`), an ack received by another instance is relayed to the one that tracks the
 * escalation. `acknowledge` and `advance` are compare-and-set within the process.
 *
 * @example
 * ```ts
 * const escalations = new MemoryEscalationStore();
 * const hub = new NotificationHub({ authenticate, escalations });
 * ```
 *
 * @category Escalation
 */
export class MemoryEscalationStore implements EscalationStore {
  readonly #records = new Map<string, EscalationRecord>();
  readonly #finished: string[] = [];
  readonly #maxFinished: number;

  constructor(options: MemoryEscalationStoreOptions = {}) {
    this.#maxFinished = options.maxFinished ?? 1_000;
  }

  save(record: EscalationRecord): void {
    this.#records.set(record.id, structuredClone(record));
    if (record.status !== 'pending') this.#finishedNow(record.id);
  }

  load(id: string): EscalationRecord | undefined {
    const record = this.#records.get(id);
    return record && structuredClone(record);
  }

  loadPending(): EscalationRecord[] {
    return [...this.#records.values()].filter((r) => r.status === 'pending').map((r) => structuredClone(r));
  }

  delete(id: string): void {
    this.#records.delete(id);
  }

  /** Ends a `pending` record as acknowledged by `userId`; `false` when there is none (compare-and-set). */
  acknowledge(id: string, userId: string): boolean {
    const record = this.#records.get(id);
    if (record?.status !== 'pending') return false;
    this.save({ ...record, status: 'acknowledged', acknowledgedBy: userId });
    return true;
  }

  /** Replaces the record with `next` only if it is still `pending` at `fromStep` (compare-and-set). */
  advance(next: EscalationRecord, fromStep: number): boolean {
    const record = this.#records.get(next.id);
    if (record?.status !== 'pending' || record.step !== fromStep) return false;
    this.save(next);
    return true;
  }

  #finishedNow(id: string): void {
    this.#finished.push(id);
    while (this.#finished.length > this.#maxFinished) {
      const old = this.#finished.shift() as string;
      if (this.#records.get(old)?.status !== 'pending') this.#records.delete(old);
    }
  }
}
