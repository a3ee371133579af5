import type { Priority } from '@wardcast/protocol';
import type { AssessmentProgressPayload, DiagnosisUpdatePayload } from '@wardcast/protocol/kinds';
import type { HubCore } from '../core/hub-core.js';
import type { Logger } from '../core/logger.js';
import type { AssessmentRecord } from './store.js';
import type { Synthesis } from './types.js';

/** Options of a step: `force` publishes even after the assessment was sealed (cancel, fail, review). */
interface StepOptions {
  readonly force?: boolean;
}

/** Progress fields besides the assessment id and stage. */
export type ProgressExtra = Omit<AssessmentProgressPayload, 'assessmentId' | 'stage'>;

/**
 * Publishes an assessment's notifications one after another, in the order they were asked for
 * (each assessment has its own chain, so a slow publish never reorders frames). A stage frame asked
 * for before a cancellation but not yet sent is dropped once the assessment is sealed.
 */
export class AssessmentPublisher {
  readonly #hub: HubCore;
  readonly #patientTopic: (patientId: string) => string;
  readonly #logger: Logger;
  readonly #frames = new WeakMap<AssessmentRecord, number>();

  constructor(hub: HubCore, patientTopic: (patientId: string) => string, logger: Logger) {
    this.#hub = hub;
    this.#patientTopic = patientTopic;
    this.#logger = logger;
  }

  /**
   * Queues an `assessment_progress` frame to the patient topic; never rejects (a failed publish is
   * logged). Resolves once it was published or dropped.
   */
  progress(
    r: AssessmentRecord,
    stage: string,
    extra: ProgressExtra = {},
    options: StepOptions & { readonly priority?: Priority } = {},
  ): Promise<void> {
    const n = (this.#frames.get(r) ?? 0) + 1;
    this.#frames.set(r, n);
    const payload: AssessmentProgressPayload = { assessmentId: r.id, stage, ...extra };
    const topic = this.#patientTopic(r.patientId);
    const input = { kind: 'assessment_progress', priority: options.priority ?? 'routine', id: `${r.id}:${n}`, payload };
    return this.#step(r, options, () => this.#hub.publish(topic, input)).then(
      () => {},
      (err: unknown) =>
        this.#logger.error({ err, assessmentId: r.id, stage }, 'wardcast: assessment progress publish failed'),
    );
  }

  /**
   * Queues a `diagnosis_update` to the patient topic. Resolves `true` once published, `false`
   * when dropped (sealed); rejects when the hub refused it.
   */
  diagnosis(r: AssessmentRecord, payload: DiagnosisUpdatePayload, options: StepOptions = {}): Promise<boolean> {
    const topic = this.#patientTopic(r.patientId);
    const id = `${r.id}:${payload.status}`;
    return this.#step(r, options, () =>
      topic === `patient:${r.patientId}`
        ? this.#hub.notify.diagnosis(r.patientId, payload, { id, priority: priorityOf(payload, r) })
        : this.#hub.publish(topic, { kind: 'diagnosis_update', priority: priorityOf(payload, r), id, payload }),
    );
  }

  /** Publishes a `diagnosis_update` to a patient-facing topic (outside the chain: reviews only). */
  async toPatient(r: AssessmentRecord, topic: string, payload: DiagnosisUpdatePayload): Promise<void> {
    const id = `${r.id}:${payload.status}`;
    await this.#hub.publish(topic, { kind: 'diagnosis_update', priority: priorityOf(payload, r), id, payload });
  }

  #step(r: AssessmentRecord, options: StepOptions, publish: () => Promise<unknown>): Promise<boolean> {
    const run = async (): Promise<boolean> => {
      if (r.sealed && options.force !== true) return false;
      await publish();
      return true;
    };
    const result = r.chain.then(run);
    r.chain = result.catch(() => {});
    return result;
  }
}

/** Retractions and high clinical risk (e.g. NEWS2 7+) are urgent; everything else routine. */
function priorityOf(payload: DiagnosisUpdatePayload, r: AssessmentRecord): Priority {
  return payload.status === 'retracted' || r.risk?.band === 'high' ? 'urgent' : 'routine';
}

/**
 * The `diagnosis_update` payload of a synthesis, trimmed to the kind's limits (summary 8000
 * characters, 20 differential entries, condition names 200 characters, likelihoods in 0..1).
 */
export function diagnosisPayload(
  r: AssessmentRecord,
  status: DiagnosisUpdatePayload['status'],
  synthesis: Synthesis,
  reviewedBy?: string,
): DiagnosisUpdatePayload {
  const model = r.synthesis;
  const payload: DiagnosisUpdatePayload = {
    assessmentId: r.id,
    patientId: r.patientId,
    status,
    summary: synthesis.summary.slice(0, 8000),
    differential: synthesis.differential.slice(0, 20).map((d) => ({
      condition: String(d.condition).slice(0, 200),
      likelihood: Number.isFinite(d.likelihood) ? Math.min(1, Math.max(0, d.likelihood)) : 0,
    })),
    riskScore: r.risk?.total ?? 0,
    model: { name: (model?.model ?? 'unknown').slice(0, 100), version: (model?.version ?? 'unknown').slice(0, 100) },
  };
  return reviewedBy === undefined ? payload : { ...payload, reviewedBy };
}
