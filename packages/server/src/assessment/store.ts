import type { AssessmentRetention, AssessmentStatus, AssessmentView, SynthesisMeta } from './model.js';
import type { Intake, RiskScore, Synthesis, Vitals } from './types.js';

/** Default {@link AssessmentRetention}: 1000 finished assessments, 6 hours. *
 * @example
 * ```ts
 * createAssessmentPipeline({ hub, llm, retention: { ...DEFAULT_ASSESSMENT_RETENTION, maxFinished: 200 } });
 * ```
 *
 * @category Assessment pipeline
 */
export const DEFAULT_ASSESSMENT_RETENTION: Readonly<Required<AssessmentRetention>> = Object.freeze({
  maxFinished: 1000,
  ttlMs: 6 * 60 * 60 * 1000,
});

/** Statuses in which an assessment is still queued or running. */
export const ACTIVE_STATUSES: ReadonlySet<AssessmentStatus> = new Set(['queued', 'scoring', 'synthesis']);

/** The pipeline's mutable state of one assessment. */
export interface AssessmentRecord {
  readonly id: string;
  readonly patientId: string;
  readonly requestedBy: string;
  readonly createdAt: number;
  /** `requestedBy\0idempotencyKey`, when a key was given. */
  readonly key: string | undefined;
  /** The submitted intake and vitals; dropped once the work is done. */
  input: { readonly intake: Intake; readonly vitals: Vitals } | undefined;
  status: AssessmentStatus;
  updatedAt: number;
  risk?: RiskScore;
  synthesis?: SynthesisMeta;
  result?: Synthesis;
  failure?: { readonly reason: string; readonly message: string };
  reviewedBy?: string;
  reviewedAt?: number;
  patientNotifiedAt?: number;
  /** Aborts the running LLM call. */
  controller: AbortController | undefined;
  /** Tail of this assessment's publishes, which run one after another, in order. */
  chain: Promise<unknown>;
  /** Set when it was cancelled or failed: no stage frame is published after that. */
  sealed: boolean;
}

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

/** The public snapshot of a record. */
export function viewOf(r: AssessmentRecord): AssessmentView {
  const view: Record<string, unknown> = {
    assessmentId: r.id,
    patientId: r.patientId,
    requestedBy: r.requestedBy,
    status: r.status,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
    risk: r.risk,
    synthesis: r.synthesis,
    result: r.result,
    failure: r.failure,
    reviewedBy: r.reviewedBy,
    reviewedAt: iso(r.reviewedAt),
    patientNotifiedAt: iso(r.patientNotifiedAt),
  };
  for (const k of Object.keys(view)) if (view[k] === undefined) delete view[k];
  return view as unknown as AssessmentView;
}

/**
 * In-memory assessments with bounded retention: active ones are bounded by the pipeline's queue
 * and concurrency; finished ones are kept up to `maxFinished`, each for `ttlMs` after it last
 * changed. Forgetting one also forgets its idempotency key.
 */
export class AssessmentStore {
  readonly #records = new Map<string, AssessmentRecord>();
  readonly #byKey = new Map<string, string>();
  /** Finished ids, oldest change first (re-inserted on every change). */
  readonly #finished = new Map<string, number>();
  readonly #maxFinished: number;
  readonly #ttlMs: number;

  constructor(retention: Required<AssessmentRetention>) {
    this.#maxFinished = retention.maxFinished;
    this.#ttlMs = retention.ttlMs;
  }

  /** Records kept (active and finished). */
  get size(): number {
    return this.#records.size;
  }

  add(record: AssessmentRecord): void {
    this.#records.set(record.id, record);
    if (record.key !== undefined) this.#byKey.set(record.key, record.id);
  }

  get(id: string): AssessmentRecord | undefined {
    return this.#records.get(id);
  }

  byKey(key: string): AssessmentRecord | undefined {
    const id = this.#byKey.get(key);
    return id === undefined ? undefined : this.#records.get(id);
  }

  /** Every record, for shutdown. */
  all(): IterableIterator<AssessmentRecord> {
    return this.#records.values();
  }

  /** Marks a record finished (or changed again after finishing) and applies the retention bounds. */
  finished(record: AssessmentRecord, now = Date.now()): void {
    this.#finished.delete(record.id);
    this.#finished.set(record.id, now);
    this.sweep(now);
  }

  /** Forgets finished records past `ttlMs`, then the oldest past `maxFinished`. */
  sweep(now = Date.now()): void {
    for (const [id, at] of this.#finished) {
      if (this.#finished.size <= this.#maxFinished && at + this.#ttlMs > now) break;
      this.#forget(id);
    }
  }

  #forget(id: string): void {
    this.#finished.delete(id);
    const record = this.#records.get(id);
    this.#records.delete(id);
    if (record?.key !== undefined && this.#byKey.get(record.key) === id) this.#byKey.delete(record.key);
  }
}
