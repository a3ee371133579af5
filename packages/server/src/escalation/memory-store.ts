import type { EscalationRecord, EscalationStore } from './types.js';

/** Options of {@link MemoryEscalationStore}. */
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
 *
 * @example
 * ```ts
 * const escalations = new MemoryEscalationStore();
 * const hub = new NotificationHub({ authenticate, escalations });
 * ```
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
    if (record.status === 'pending') return;
    this.#finished.push(record.id);
    while (this.#finished.length > this.#maxFinished) {
      const id = this.#finished.shift() as string;
      if (this.#records.get(id)?.status !== 'pending') this.#records.delete(id);
    }
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
}
