import type { Priority } from '@wardcast/protocol';
import type {
  AiAnalysisPayload,
  AppointmentPayload,
  DiagnosisUpdatePayload,
  LabResultPayload,
  SystemAlertPayload,
} from '@wardcast/protocol/kinds';
import type { PublishInput, PublishPayload, PublishResult } from '../core/types.js';
import type { EscalationPolicy } from '../escalation/types.js';

/**
 * Options every helper accepts.
 *
 * @category Clinical kinds
 */
export interface NotifyOptions {
  /** Overrides the helper's default priority. */
  readonly priority?: Priority;
  /** Your id, for dedupe of retried publishes. */
  readonly id?: string;
  /**
   * Acknowledgement deadlines and escalation chain; only for `critical` notifications (e.g. a
   * `labResult` flagged `critical`). See `PublishInput.escalation`.
   */
  readonly escalation?: EscalationPolicy;
}

/**
 * What a helper returns: where the notification went and its place in the stream.
 *
 * @category Clinical kinds
 */
export interface NotifyResult extends PublishResult {
  readonly topic: string;
  readonly kind: string;
}

/**
 * Topic of a system-wide broadcast. Your `authorize` must allow it for clients to receive alerts.
 *
 * @category Clinical kinds
 */
export const BROADCAST_TOPIC = 'broadcast';

type Publish = (topic: string, input: PublishInput) => Promise<PublishResult>;

/**
 * Typed shortcuts for the clinical kinds, available as `hub.notify`. Each validates its payload
 * against the kind's schema (through `publish`), picks a sensible priority, and returns what was
 * published.
 *
 * @category Clinical kinds
 */
export interface NotifyHelpers {
  /**
   * An appointment change for a patient or clinician (`user:<userId>`). Priority: `urgent` for
   * cancellations and reschedules, otherwise `routine`.
   *
   * @example
   * ```ts
   * await hub.notify.appointment('patient-42', {
   *   appointmentId: 'apt-9', status: 'rescheduled', startsAt: '2026-12-01T09:30:00+01:00', location: 'Clinic B',
   * });
   * ```
   */
  appointment(userId: string, payload: AppointmentPayload, options?: NotifyOptions): Promise<NotifyResult>;
  /**
   * A lab result for the ordering clinician (`user:<userId>`). Priority: `critical` when the
   * result is flagged critical, `urgent` when abnormal, otherwise `routine`. A critical result
   * may carry an `escalation` policy: unacknowledged, it is re-sent along the chain.
   *
   * @example
   * ```ts
   * await hub.notify.labResult('dr-lee', {
   *   labOrderId: 'L-778', testName: 'Potassium', testCode: '2823-3', status: 'final',
   *   abnormal: true, critical: true, resultAt: new Date().toISOString(), value: '6.4', unit: 'mmol/L',
   * }, { escalation: { chain: [{ userId: 'dr-lee', deadlineMs: 300_000 }, { userId: 'dr-senior', deadlineMs: 300_000 }] } });
   * ```
   */
  labResult(userId: string, payload: LabResultPayload, options?: NotifyOptions): Promise<NotifyResult>;
  /**
   * Progress or completion of an AI analysis for a user. Priority `routine` (`urgent` when failed).
   *
   * @example
   * ```ts
   * await hub.notify.aiAnalysis('dr-lee', { analysisId: 'an-1', analysisType: 'ecg', status: 'completed' });
   * ```
   */
  aiAnalysis(userId: string, payload: AiAnalysisPayload, options?: NotifyOptions): Promise<NotifyResult>;
  /**
   * A diagnosis update to everyone viewing the patient (`patient:<patientId>`). Priority `urgent`
   * for a retraction, otherwise `routine`.
   *
   * @example
   * ```ts
   * await hub.notify.diagnosis('p9', {
   *   assessmentId: 'as-1', patientId: 'p9', status: 'preliminary', summary: 'Suspected sepsis',
   *   differential: [{ condition: 'Sepsis', likelihood: 0.62 }], riskScore: 7,
   *   model: { name: 'local-template', version: '1' },
   * });
   * ```
   */
  diagnosis(patientId: string, payload: DiagnosisUpdatePayload, options?: NotifyOptions): Promise<NotifyResult>;
  /**
   * A system-wide alert on the `broadcast` topic. Priority follows severity: `critical`,
   * `urgent` for warnings, `routine` for info.
   *
   * @example
   * ```ts
   * await hub.notify.systemAlert({ severity: 'warning', message: 'EHR maintenance at 22:00', until: '2026-11-23T23:00:00Z' });
   * ```
   */
  systemAlert(payload: SystemAlertPayload, options?: NotifyOptions): Promise<NotifyResult>;
  /**
   * Any other kind: `custom` (untyped) or a kind defined with `hub.defineKind`, on any topic. As
   * with `hub.publish`, a built-in kind named here must come with its payload type
   * ({@link PublishPayload}); other kinds' payloads are checked at runtime only.
   *
   * @example
   * ```ts
   * await hub.notify.custom('user:dr-lee', 'acme.discharge', { encounterId: 'e1', status: 'done' });
   * ```
   */
  custom<K extends string>(
    topic: string,
    kind: K,
    payload: PublishPayload<K>,
    options?: NotifyOptions,
  ): Promise<NotifyResult>;
}

/** Builds {@link NotifyHelpers} over a publish function. */
export function createNotifyHelpers(publish: Publish): NotifyHelpers {
  // Generic so each helper's kind and payload type are checked against each other.
  const send = async <K extends string>(
    topic: string,
    kind: K,
    payload: PublishPayload<K>,
    priority: Priority,
    options: NotifyOptions | undefined,
  ): Promise<NotifyResult> => {
    const input: PublishInput = {
      kind,
      payload,
      priority: options?.priority ?? priority,
      ...(options?.id === undefined ? {} : { id: options.id }),
      ...(options?.escalation === undefined ? {} : { escalation: options.escalation }),
    };
    return { topic, kind, ...(await publish(topic, input)) };
  };
  // `payload?.`: a JS caller passing null/undefined gets an `invalid_payload` rejection, not a TypeError.
  return {
    appointment: (userId, payload, options) =>
      send(
        `user:${userId}`,
        'appointment',
        payload,
        payload?.status === 'cancelled' || payload?.status === 'rescheduled' ? 'urgent' : 'routine',
        options,
      ),
    labResult: (userId, payload, options) =>
      send(
        `user:${userId}`,
        'lab_result',
        payload,
        payload?.critical ? 'critical' : payload?.abnormal ? 'urgent' : 'routine',
        options,
      ),
    aiAnalysis: (userId, payload, options) =>
      send(`user:${userId}`, 'ai_analysis', payload, payload?.status === 'failed' ? 'urgent' : 'routine', options),
    diagnosis: (patientId, payload, options) =>
      send(
        `patient:${patientId}`,
        'diagnosis_update',
        payload,
        payload?.status === 'retracted' ? 'urgent' : 'routine',
        options,
      ),
    systemAlert: (payload, options) =>
      send(
        BROADCAST_TOPIC,
        'system_alert',
        payload,
        payload?.severity === 'critical' ? 'critical' : payload?.severity === 'warning' ? 'urgent' : 'routine',
        options,
      ),
    custom: (topic, kind, payload, options) => send(topic, kind, payload, 'routine', options),
  };
}
