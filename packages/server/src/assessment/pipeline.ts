import { ErrorCode, isWardcastError, WardcastError } from '@wardcast/protocol';
import { silentLogger } from '../core/logger.js';
import {
  AssessmentBusyError,
  type AssessmentPipeline,
  type AssessmentPipelineOptions,
  type AssessmentStatus,
} from './model.js';
import { news2 } from './news2.js';
import { synthesisPercent, TextCoalescer } from './progress.js';
import { AssessmentPublisher, diagnosisPayload } from './publisher.js';
import { parseReview, parseSubmit } from './schemas.js';
import {
  ACTIVE_STATUSES,
  type AssessmentRecord,
  AssessmentStore,
  DEFAULT_ASSESSMENT_RETENTION,
  viewOf,
} from './store.js';
import { abortable, checkOutcome, messageOf } from './synthesis-call.js';

function positiveInt(name: string, value: number, min = 1): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new WardcastError(ErrorCode.InvalidOption, `createAssessmentPipeline: ${name} must be an integer >= ${min}`);
  }
  return value;
}

/**
 * Creates the assessment pipeline: `submit` validates and queues an assessment and returns its id
 * at once; in the background, at most `concurrency` at a time, each is scored (NEWS2 by default),
 * synthesized by `llm` with streamed text, and published to `patient:<id>`:
 * `assessment_progress` frames (`queued`, `scoring`, `synthesis` with the growing `partialText`
 * at most once per `progressIntervalMs`), then a `preliminary` `diagnosis_update`, or an
 * `assessment_progress` with stage `failed` and a `reason` code (never silence). `review`
 * publishes the clinician's `final`/`retracted` decision; only a final one reaches the
 * patient-facing topic. `cancel` aborts the LLM call and publishes stage `cancelled`.
 *
 * Everything is in memory: finished assessments are kept up to `retention.maxFinished`
 * (1000) for `retention.ttlMs` (6 h); a restart forgets them.
 *
 * @throws {WardcastError} `invalid_option` for a bad option.
 *
 * @example
 * ```ts
 * import { NotificationHub } from '@wardcast/server';
 * import { createAssessmentPipeline } from '@wardcast/server/assessment';
 * import { createLocalAdapter, createResilientLlm } from '@wardcast/server/llm';
 *
 * const hub = new NotificationHub({ authenticate });
 * const pipeline = createAssessmentPipeline({
 *   hub,
 *   llm: createResilientLlm({ adapters: [createLocalAdapter()] }),
 *   patientFacingTopic: (patientId) => `user:${patientUserIdOf(patientId)}`,
 * });
 * const { assessmentId } = pipeline.submit({
 *   patientId: 'p9', requestedBy: 'dr-lee',
 *   intake: { chiefComplaint: 'fever and confusion', age: 71 },
 *   vitals: { respirationRate: 24, spo2: 93, onOxygen: false, systolicBp: 98, pulse: 118,
 *     consciousness: 'C', temperature: 38.9 },
 * });
 * // later, after a clinician read the preliminary diagnosis:
 * await pipeline.review(assessmentId, { reviewedBy: 'dr-lee', decision: 'final' });
 * ```
 *
 * @category Assessment pipeline
 */
export function createAssessmentPipeline(options: AssessmentPipelineOptions): AssessmentPipeline {
  const { hub, llm } = options;
  if (typeof hub?.publish !== 'function' || typeof llm?.synthesize !== 'function') {
    throw new WardcastError(ErrorCode.InvalidOption, 'createAssessmentPipeline: hub and llm are required');
  }
  const scorer = options.scorer ?? news2;
  const concurrency = positiveInt('concurrency', options.concurrency ?? 4);
  const maxQueue = positiveInt('maxQueue', options.maxQueue ?? 100, 0);
  const intervalMs = positiveInt('progressIntervalMs', options.progressIntervalMs ?? 100, 0);
  const maxPartial = positiveInt('maxPartialTextChars', options.maxPartialTextChars ?? 8000);
  const timeoutMs = positiveInt('timeoutMs', options.timeoutMs ?? 120_000);
  const retention = {
    maxFinished: positiveInt(
      'retention.maxFinished',
      options.retention?.maxFinished ?? DEFAULT_ASSESSMENT_RETENTION.maxFinished,
      0,
    ),
    ttlMs: positiveInt('retention.ttlMs', options.retention?.ttlMs ?? DEFAULT_ASSESSMENT_RETENTION.ttlMs),
  };
  const patientTopic = options.patientTopic ?? ((patientId: string) => `patient:${patientId}`);
  const logger = options.logger ?? silentLogger;
  const generateId = options.generateId ?? (() => globalThis.crypto.randomUUID());
  const store = new AssessmentStore(retention);
  const publisher = new AssessmentPublisher(hub, patientTopic, logger);
  const queue: AssessmentRecord[] = [];
  const running = new Map<AssessmentRecord, Promise<void>>();
  /** Moving average of how long an assessment takes, for the `busy` retry hint. */
  let averageMs = 5_000;
  let closing: Promise<void> | undefined;
  const sweeper = setInterval(() => store.sweep(), Math.min(retention.ttlMs, 60_000));
  sweeper.unref?.();

  const setStatus = (r: AssessmentRecord, status: AssessmentStatus): void => {
    r.status = status;
    r.updatedAt = Date.now();
    if (!ACTIVE_STATUSES.has(status)) store.finished(r, r.updatedAt);
  };

  /** Seals a queued or running assessment as failed or cancelled, and publishes that. */
  const stop = (r: AssessmentRecord, status: 'failed' | 'cancelled', reason: string, message: string): void => {
    r.sealed = true;
    r.failure = { reason, message };
    setStatus(r, status);
    const index = queue.indexOf(r);
    if (index >= 0) queue.splice(index, 1);
    r.input = undefined;
    if (hub.closed) return;
    void publisher.progress(
      r,
      status,
      { reason },
      { force: true, priority: status === 'failed' ? 'urgent' : 'routine' },
    );
  };

  const run = async (r: AssessmentRecord): Promise<void> => {
    const controller = new AbortController();
    r.controller = controller;
    const timer = setTimeout(
      () =>
        controller.abort(new WardcastError(ErrorCode.AssessmentTimeout, `assessment took longer than ${timeoutMs} ms`)),
      timeoutMs,
    );
    const started = performance.now();
    let coalescer: TextCoalescer | undefined;
    try {
      await Promise.resolve(); // submit() returns before any work starts
      const input = r.input;
      if (r.sealed || !input) return;
      setStatus(r, 'scoring');
      void publisher.progress(r, 'scoring', { percent: 10 });
      let risk: ReturnType<typeof scorer.score>;
      try {
        risk = scorer.score(input.vitals);
      } catch (err) {
        stop(r, 'failed', isWardcastError(err) ? err.code : ErrorCode.ScorerFailed, messageOf(err));
        return;
      }
      r.risk = risk;
      setStatus(r, 'synthesis');
      void publisher.progress(r, 'synthesis', { percent: 20 });
      const progress = new TextCoalescer(intervalMs, maxPartial, (partialText, total) => {
        void publisher.progress(r, 'synthesis', { percent: synthesisPercent(total), partialText });
      });
      coalescer = progress;
      const call = llm.synthesize(
        { intake: input.intake, vitals: input.vitals, risk, patientId: r.patientId },
        {
          signal: controller.signal,
          onText: (delta) => progress.push(delta),
          onAttempt: ({ attempt }) => {
            if (attempt > 1) progress.reset();
          },
        },
      );
      const outcome = await abortable(Promise.resolve(call), controller.signal);
      progress.stop();
      if (r.sealed) return;
      const synthesis = checkOutcome(outcome);
      const latencyMs = outcome.latencyMs ?? Math.round(performance.now() - started);
      r.synthesis = { adapter: String(outcome.adapter), model: outcome.model, latencyMs };
      if (outcome.version !== undefined) r.synthesis = { ...r.synthesis, version: outcome.version };
      if (outcome.attempts !== undefined) r.synthesis = { ...r.synthesis, attempts: outcome.attempts };
      r.result = synthesis;
      const published = await publisher.diagnosis(r, diagnosisPayload(r, 'preliminary', synthesis));
      // A cancel that raced the publish has the last word (its frame follows the diagnosis).
      if (published && !r.sealed) setStatus(r, 'preliminary');
    } catch (err) {
      coalescer?.stop();
      if (r.sealed) return;
      const cause = controller.signal.aborted ? controller.signal.reason : err;
      stop(r, 'failed', isWardcastError(cause) ? cause.code : ErrorCode.LlmFailed, messageOf(cause));
    } finally {
      coalescer?.stop();
      clearTimeout(timer);
      r.controller = undefined;
      r.input = undefined;
      averageMs = 0.8 * averageMs + 0.2 * (performance.now() - started);
      running.delete(r);
      pump();
    }
  };

  const pump = (): void => {
    while (running.size < concurrency && queue.length > 0 && closing === undefined) {
      const r = queue.shift() as AssessmentRecord;
      running.set(r, run(r));
    }
  };

  const retryAfterSeconds = (): number =>
    Math.min(300, Math.max(1, Math.ceil((averageMs * (queue.length / concurrency + 1)) / 1000)));

  const recordOf = (assessmentId: string): AssessmentRecord => {
    const r = typeof assessmentId === 'string' ? store.get(assessmentId) : undefined;
    if (!r) throw new WardcastError(ErrorCode.NotFound, 'no such assessment');
    return r;
  };

  return {
    hub,

    submit(raw) {
      if (closing !== undefined || hub.closed) {
        throw new WardcastError(ErrorCode.HubClosed, 'assessment pipeline is closed');
      }
      const input = parseSubmit(raw);
      const key = input.idempotencyKey === undefined ? undefined : `${input.requestedBy}\u0000${input.idempotencyKey}`;
      const existing = key === undefined ? undefined : store.byKey(key);
      if (existing) return { assessmentId: existing.id, duplicate: true };
      if (queue.length >= maxQueue && running.size >= concurrency) throw new AssessmentBusyError(retryAfterSeconds());
      const now = Date.now();
      const r: AssessmentRecord = {
        id: generateId(),
        patientId: input.patientId,
        requestedBy: input.requestedBy,
        createdAt: now,
        key,
        input: { intake: input.intake, vitals: input.vitals },
        status: 'queued',
        updatedAt: now,
        controller: undefined,
        chain: Promise.resolve(),
        sealed: false,
      };
      store.add(r);
      queue.push(r);
      void publisher.progress(r, 'queued', { percent: 0 });
      pump();
      return { assessmentId: r.id, duplicate: false };
    },

    get(assessmentId) {
      const r = typeof assessmentId === 'string' ? store.get(assessmentId) : undefined;
      return r ? viewOf(r) : undefined;
    },

    async review(assessmentId, raw) {
      const r = recordOf(assessmentId);
      const input = parseReview(raw);
      const from = r.status;
      const allowed = from === 'preliminary' || (from === 'final' && input.decision === 'retracted');
      if (!allowed || !r.result) {
        throw new WardcastError(ErrorCode.InvalidState, `cannot mark a ${from} assessment ${input.decision}`);
      }
      const result = input.summary === undefined ? r.result : { ...r.result, summary: input.summary };
      const payload = diagnosisPayload(r, input.decision, result, input.reviewedBy);
      setStatus(r, input.decision); // claimed now, so a concurrent review sees the new status
      try {
        await publisher.diagnosis(r, payload, { force: true });
      } catch (err) {
        setStatus(r, from);
        throw err;
      }
      r.result = result;
      r.reviewedBy = input.reviewedBy;
      r.reviewedAt = Date.now();
      // The patient hears of a diagnosis only once it is final (and of the retraction of a final one).
      const tellPatient = input.decision === 'final' || r.patientNotifiedAt !== undefined;
      if (tellPatient && options.patientFacingTopic) {
        try {
          const topic = await options.patientFacingTopic(r.patientId);
          if (topic !== undefined) {
            await publisher.toPatient(r, topic, payload);
            r.patientNotifiedAt = Date.now();
          }
        } catch (err) {
          logger.error({ err, assessmentId: r.id }, 'wardcast: patient-facing diagnosis publish failed');
        }
      }
      return viewOf(r);
    },

    cancel(assessmentId) {
      const r = recordOf(assessmentId);
      if (!ACTIVE_STATUSES.has(r.status)) return { cancelled: false, status: r.status };
      stop(r, 'cancelled', 'cancelled', 'cancelled on request');
      r.controller?.abort(new DOMException('assessment cancelled', 'AbortError'));
      return { cancelled: true, status: 'cancelled' };
    },

    close() {
      closing ??= (async () => {
        clearInterval(sweeper);
        for (const r of [...queue, ...running.keys()]) {
          stop(r, 'cancelled', ErrorCode.HubClosed, 'assessment pipeline closed');
          r.controller?.abort(new DOMException('assessment pipeline closed', 'AbortError'));
        }
        await Promise.allSettled([...running.values()]);
        await Promise.allSettled([...store.all()].map((r) => r.chain));
      })();
      return closing;
    },
  };
}
