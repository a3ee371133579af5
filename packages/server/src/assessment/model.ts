import { ErrorCode, WardcastError } from '@wardcast/protocol';
import type { HubCore } from '../core/hub-core.js';
import type { Logger } from '../core/logger.js';
import type { Intake, RiskScore, RiskScorer, Synthesis, Vitals } from './types.js';

/**
 * What the pipeline asks the LLM layer to synthesize: the intake as submitted, the validated
 * vitals and the risk score computed from them.
 *
 * @example
 * ```ts
 * const input: SynthesisInput = { intake: { chiefComplaint: 'cough' }, vitals, risk: news2.score(vitals), patientId: 'p9' };
 * ```
 *
 * @category Assessment pipeline
 */
export interface SynthesisInput {
  readonly intake: Intake;
  readonly vitals: Vitals;
  readonly risk: RiskScore;
  readonly patientId: string;
}

/** How the pipeline calls the LLM layer: an abort signal (cancel, timeout) and a text-delta callback. *
 * @example
 * ```ts
 * await llm.synthesize(input, { signal: controller.signal, onText: (d) => process.stdout.write(d), onAttempt: () => {} });
 * ```
 *
 * @category Assessment pipeline
 */
export interface SynthesizeOptions {
  readonly signal: AbortSignal;
  readonly onText: (delta: string) => void;
  /** Called before each attempt; from the second one on, the pipeline starts the partial text over. */
  readonly onAttempt: (info: { readonly attempt: number }) => void;
}

/** What a {@link Synthesizer} resolves with: the validated synthesis and which model produced it. *
 * @example
 * ```ts
 * const outcome: SynthesisOutcome = {
 *   synthesis: { summary: 'Likely viral illness', differential: [], recommendations: [] },
 *   adapter: 'openai', model: 'gpt-4o', version: 'gpt-4o-2024-08-06', latencyMs: 3200, attempts: 1,
 * };
 * ```
 *
 * @category Assessment pipeline
 */
export interface SynthesisOutcome {
  readonly synthesis: Synthesis;
  /** Adapter that answered, e.g. `openai` or `local`. */
  readonly adapter: string;
  /** Model id, e.g. `gpt-4o`. */
  readonly model: string;
  readonly version?: string | undefined;
  /** Duration of the whole call, retries included; measured by the pipeline when absent. */
  readonly latencyMs?: number | undefined;
  /** Attempts made (retries and fallbacks included). */
  readonly attempts?: number | undefined;
}

/**
 * The part of the LLM layer the pipeline needs. `createResilientLlm({ adapters })` returns one;
 * tests and custom integrations can pass their own. It must stop (reject) soon after `signal`
 * aborts, and may call `onText` with streamed text deltas.
 *
 * @example
 * ```ts
 * const synthesizer: Synthesizer = {
 *   async synthesize({ risk }, { signal, onText }) {
 *     onText('Reviewing vitals... ');
 *     signal.throwIfAborted();
 *     return {
 *       synthesis: { summary: `NEWS2 ${risk.total}`, differential: [], recommendations: [] },
 *       adapter: 'rules', model: 'rules-v1',
 *     };
 *   },
 * };
 * ```
 *
 * @category Assessment pipeline
 */
export interface Synthesizer {
  synthesize(input: SynthesisInput, options: SynthesizeOptions): Promise<SynthesisOutcome>;
}

/**
 * Where an assessment is: `queued` → `scoring` → `synthesis` → `preliminary` (awaiting review)
 * → `final` or `retracted`; or it stopped as `failed` or `cancelled`.
 *
 * @example
 * ```ts
 * const waiting = (s: AssessmentStatus) => s === 'queued' || s === 'scoring' || s === 'synthesis';
 * ```
 *
 * @category Assessment pipeline
 */
export type AssessmentStatus =
  | 'queued'
  | 'scoring'
  | 'synthesis'
  | 'preliminary'
  | 'final'
  | 'retracted'
  | 'failed'
  | 'cancelled';

/** What {@link AssessmentPipeline.submit} takes. *
 * @example
 * ```ts
 * const input: SubmitInput = {
 *   patientId: 'p9', requestedBy: 'dr-lee', idempotencyKey: 'form-123',
 *   intake: { chiefComplaint: 'chest pain', age: 58 },
 *   vitals: { respirationRate: 18, spo2: 97, onOxygen: false, systolicBp: 132, pulse: 88, consciousness: 'A', temperature: 36.9 },
 * };
 * ```
 *
 * @category Assessment pipeline
 */
export interface SubmitInput {
  /** Patient record id; progress and results go to `patientTopic(patientId)`. */
  readonly patientId: string;
  readonly intake: Intake;
  /** Vital signs; validated at submit (`invalid_vitals`). */
  readonly vitals: Vitals;
  /** User id of the clinician who asked; scopes `idempotencyKey`. */
  readonly requestedBy: string;
  /** Same key (per `requestedBy`) → same assessment, while the first one is retained. */
  readonly idempotencyKey?: string | undefined;
}

/** What {@link AssessmentPipeline.submit} returns. *
 * @example
 * ```ts
 * const { assessmentId, duplicate } = pipeline.submit(input);
 * ```
 *
 * @category Assessment pipeline
 */
export interface SubmitResult {
  readonly assessmentId: string;
  /** `true` when `idempotencyKey` matched an earlier submission (nothing new was started). */
  readonly duplicate: boolean;
}

/** A clinician's decision on a preliminary (or, to retract it, final) diagnosis. *
 * @example
 * ```ts
 * await pipeline.review(assessmentId, { reviewedBy: 'dr-lee', decision: 'final', summary: 'Community-acquired pneumonia' });
 * ```
 *
 * @category Assessment pipeline
 */
export interface ReviewInput {
  /** User id of the reviewing clinician; published as `reviewedBy`. */
  readonly reviewedBy: string;
  readonly decision: 'final' | 'retracted';
  /** Replaces the model's summary in the published diagnosis. */
  readonly summary?: string | undefined;
}

/** What {@link AssessmentPipeline.cancel} returns. *
 * @example
 * ```ts
 * const { cancelled, status } = pipeline.cancel(assessmentId); // { cancelled: false, status: 'final' } when already done
 * ```
 *
 * @category Assessment pipeline
 */
export interface CancelResult {
  /** `true` when this call stopped the assessment; `false` when it had already finished. */
  readonly cancelled: boolean;
  /** The status after the call (`cancelled`, or the finished status it already had). */
  readonly status: AssessmentStatus;
}

/** Which model produced an assessment's synthesis, and how long it took. *
 * @example
 * ```ts
 * const { adapter, model, latencyMs } = pipeline.get(assessmentId)?.synthesis ?? {};
 * ```
 *
 * @category Assessment pipeline
 */
export interface SynthesisMeta {
  readonly adapter: string;
  readonly model: string;
  readonly version?: string | undefined;
  readonly latencyMs: number;
  readonly attempts?: number | undefined;
}

/** A snapshot of one assessment, as {@link AssessmentPipeline.get} returns it. *
 * @example
 * ```ts
 * const view = pipeline.get(assessmentId);
 * if (view?.status === 'failed') console.warn(view.failure?.reason); // e.g. 'llm_failed'
 * ```
 *
 * @category Assessment pipeline
 */
export interface AssessmentView {
  readonly assessmentId: string;
  readonly patientId: string;
  readonly requestedBy: string;
  readonly status: AssessmentStatus;
  /** ISO 8601. */
  readonly createdAt: string;
  /** ISO 8601. */
  readonly updatedAt: string;
  /** Present from the end of `scoring`. */
  readonly risk?: RiskScore | undefined;
  /** Present once the synthesis finished. */
  readonly synthesis?: SynthesisMeta | undefined;
  /** The diagnosis as published (a reviewer's summary replaces the model's). */
  readonly result?: Synthesis | undefined;
  /** Why it failed or was cancelled: `reason` is an error code such as `llm_failed`. */
  readonly failure?: { readonly reason: string; readonly message: string } | undefined;
  readonly reviewedBy?: string | undefined;
  readonly reviewedAt?: string | undefined;
  /** When the final diagnosis went to the patient-facing topic. */
  readonly patientNotifiedAt?: string | undefined;
}

/** How long finished assessments are kept in memory. *
 * @example
 * ```ts
 * createAssessmentPipeline({ hub, llm, retention: { maxFinished: 5000, ttlMs: 24 * 60 * 60 * 1000 } });
 * ```
 *
 * @category Assessment pipeline
 */
export interface AssessmentRetention {
  /**
   * Most finished assessments (preliminary, final, retracted, failed, cancelled) kept; the oldest
   * are forgotten first. @default 1000
   */
  readonly maxFinished?: number;
  /** A finished assessment is forgotten this long after it last changed. @default 21_600_000 (6 h) */
  readonly ttlMs?: number;
}

/** Options of {@link createAssessmentPipeline}. *
 * @example
 * ```ts
 * const options: AssessmentPipelineOptions = { hub, llm, concurrency: 8, maxQueue: 200, timeoutMs: 60_000 };
 * ```
 *
 * @category Assessment pipeline
 */
export interface AssessmentPipelineOptions {
  /** The hub progress and results are published on. */
  readonly hub: HubCore;
  /** The LLM layer, e.g. `createResilientLlm({ adapters: [createLocalAdapter()] })`. */
  readonly llm: Synthesizer;
  /** @default news2 */
  readonly scorer?: RiskScorer;
  /** Assessments run at once. @default 4 */
  readonly concurrency?: number;
  /** Assessments waiting to run; past it `submit` throws `busy`. @default 100 */
  readonly maxQueue?: number;
  /** Streamed text is published at most once per this interval. @default 100 (≤ 10 frames/s) */
  readonly progressIntervalMs?: number;
  /** Longest partial text published (the start of the streamed text). @default 8000 characters */
  readonly maxPartialTextChars?: number;
  /** An assessment still running after this is stopped with reason `assessment_timeout`. @default 120_000 */
  readonly timeoutMs?: number;
  /** Topic of the clinicians viewing a patient. @default (patientId) => `patient:${patientId}` */
  readonly patientTopic?: (patientId: string) => string;
  /**
   * Topic the patient reads (e.g. `user:<their user id>`). It gets nothing until a clinician
   * finalizes the diagnosis; then the final diagnosis (and a later retraction of it). Return
   * `undefined` for no patient-facing notification. @default none
   */
  readonly patientFacingTopic?: (patientId: string) => string | undefined | Promise<string | undefined>;
  readonly retention?: AssessmentRetention;
  /** Where publish failures are logged. @default no logging */
  readonly logger?: Logger;
  /** @default crypto.randomUUID */
  readonly generateId?: () => string;
}

/**
 * The assessment pipeline: a bounded queue of assessments, each scored, synthesized by the LLM
 * layer and published to the patient's topic. Everything is in memory.
 *
 * @example
 * ```ts
 * const pipeline: AssessmentPipeline = createAssessmentPipeline({ hub, llm });
 * const { assessmentId } = pipeline.submit(input);
 * pipeline.get(assessmentId)?.status; // 'queued'
 * ```
 *
 * @category Assessment pipeline
 */
export interface AssessmentPipeline {
  /** The hub it publishes on. */
  readonly hub: HubCore;
  /**
   * Validates and queues an assessment; resolves at once with its id (the work runs in the
   * background). @throws {WardcastError} `invalid_request`, `invalid_vitals`, `busy`
   * ({@link AssessmentBusyError}), `hub_closed` after `close()`.
   */
  submit(input: SubmitInput): SubmitResult;
  /** A snapshot, or `undefined` for an unknown (or forgotten) id. */
  get(assessmentId: string): AssessmentView | undefined;
  /**
   * Publishes the clinician's decision. @throws {WardcastError} `not_found`, `invalid_request`,
   * `invalid_state` (not preliminary, or retracting a retracted one), or the hub's publish errors.
   */
  review(assessmentId: string, input: ReviewInput): Promise<AssessmentView>;
  /** Stops a queued or running assessment. @throws {WardcastError} `not_found`. */
  cancel(assessmentId: string): CancelResult;
  /** Stops accepting work, cancels what is queued or running, and waits for it to settle. */
  close(): Promise<void>;
}

/**
 * The `busy` error of {@link AssessmentPipeline.submit}: the queue is full. `retryAfterSeconds`
 * estimates when a slot frees up (the HTTP endpoint sends it as `Retry-After`).
 *
 * @example
 * ```ts
 * try {
 *   pipeline.submit(input);
 * } catch (err) {
 *   if (err instanceof AssessmentBusyError) setTimeout(retry, err.retryAfterSeconds * 1000);
 * }
 * ```
 *
 * @category Assessment pipeline
 */
export class AssessmentBusyError extends WardcastError {
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number) {
    super(ErrorCode.Busy, `assessment queue is full; retry in ${retryAfterSeconds} s`);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
