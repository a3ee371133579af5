/**
 * Clinical notification kinds: payload schemas of the built-in kinds and the fields each may
 * show at the `id-only` PHI level. A separate entry point (`@wardcast/protocol/kinds`) so
 * browser clients that do not validate payloads do not bundle it.
 *
 * @packageDocumentation
 * @module \@wardcast/protocol/kinds
 */
import * as z from 'zod/mini';

const id = /* @__PURE__ */ z.string().check(z.minLength(1), z.maxLength(128));
const text = (max: number) => z.string().check(z.maxLength(max));
const isoDate = /* @__PURE__ */ z.iso.datetime({ offset: true });

/**
 * Payload of an `appointment` notification.
 *
 * @category Clinical kinds
 */
export const appointmentPayloadSchema = /* @__PURE__ */ z.object({
  appointmentId: id,
  status: z.enum(['scheduled', 'confirmed', 'rescheduled', 'cancelled', 'reminder', 'checked_in']),
  /** ISO 8601 with offset. */
  startsAt: isoDate,
  location: z.optional(text(200)),
  message: z.optional(text(2000)),
});
/**
 * @see {@link appointmentPayloadSchema}
 *
 * @category Clinical kinds
 */
export type AppointmentPayload = z.infer<typeof appointmentPayloadSchema>;

/**
 * Payload of a `lab_result` notification.
 *
 * @category Clinical kinds
 */
export const labResultPayloadSchema = /* @__PURE__ */ z.object({
  labOrderId: id,
  testName: text(200),
  /** LOINC or local code. */
  testCode: z.optional(text(64)),
  status: z.enum(['preliminary', 'final', 'corrected', 'cancelled']),
  abnormal: z.boolean(),
  critical: z.boolean(),
  resultAt: isoDate,
  value: z.optional(text(200)),
  unit: z.optional(text(32)),
  referenceRange: z.optional(text(64)),
});
/**
 * @see {@link labResultPayloadSchema}
 *
 * @category Clinical kinds
 */
export type LabResultPayload = z.infer<typeof labResultPayloadSchema>;

/**
 * Payload of an `ai_analysis` notification.
 *
 * @category Clinical kinds
 */
export const aiAnalysisPayloadSchema = /* @__PURE__ */ z.object({
  analysisId: id,
  analysisType: text(64),
  status: z.enum(['queued', 'running', 'completed', 'failed']),
  summary: z.optional(text(4000)),
});
/**
 * @see {@link aiAnalysisPayloadSchema}
 *
 * @category Clinical kinds
 */
export type AiAnalysisPayload = z.infer<typeof aiAnalysisPayloadSchema>;

/**
 * One condition of a differential diagnosis.
 *
 * @category Clinical kinds
 */
export const differentialEntrySchema = /* @__PURE__ */ z.object({
  condition: text(200),
  /** 0..1. */
  likelihood: z.number().check(z.gte(0), z.lte(1)),
});

/**
 * Payload of a `diagnosis_update` notification: preliminary until a clinician reviews it.
 *
 * @category Clinical kinds
 */
export const diagnosisUpdatePayloadSchema = /* @__PURE__ */ z.object({
  assessmentId: id,
  patientId: id,
  status: z.enum(['preliminary', 'final', 'retracted']),
  summary: text(8000),
  differential: z.array(differentialEntrySchema).check(z.maxLength(20)),
  riskScore: z.number(),
  model: z.object({ name: text(100), version: text(100) }),
  reviewedBy: z.optional(id),
});
/**
 * @see {@link diagnosisUpdatePayloadSchema}
 *
 * @category Clinical kinds
 */
export type DiagnosisUpdatePayload = z.infer<typeof diagnosisUpdatePayloadSchema>;

/**
 * Payload of an `assessment_progress` notification.
 *
 * @category Clinical kinds
 */
export const assessmentProgressPayloadSchema = /* @__PURE__ */ z.object({
  assessmentId: id,
  stage: text(64),
  percent: z.optional(z.number().check(z.gte(0), z.lte(100))),
  partialText: z.optional(text(16_000)),
  /** Why the assessment stopped, on the `failed` and `cancelled` stages: an error code such as `llm_failed`. */
  reason: z.optional(text(64)),
});
/**
 * @see {@link assessmentProgressPayloadSchema}
 *
 * @category Clinical kinds
 */
export type AssessmentProgressPayload = z.infer<typeof assessmentProgressPayloadSchema>;

/**
 * Payload of a `system_alert` notification.
 *
 * @category Clinical kinds
 */
export const systemAlertPayloadSchema = /* @__PURE__ */ z.object({
  severity: z.enum(['info', 'warning', 'critical']),
  message: text(2000),
  until: z.optional(isoDate),
});
/**
 * @see {@link systemAlertPayloadSchema}
 *
 * @category Clinical kinds
 */
export type SystemAlertPayload = z.infer<typeof systemAlertPayloadSchema>;

/**
 * The built-in clinical kinds and their payload schemas.
 *
 * @category Clinical kinds
 */
export const CLINICAL_KIND_SCHEMAS = {
  appointment: appointmentPayloadSchema,
  lab_result: labResultPayloadSchema,
  ai_analysis: aiAnalysisPayloadSchema,
  diagnosis_update: diagnosisUpdatePayloadSchema,
  assessment_progress: assessmentProgressPayloadSchema,
  system_alert: systemAlertPayloadSchema,
} as const;

/**
 * Payload types of the built-in kinds, usable as a client's `NotificationMap`.
 *
 * @category Clinical kinds
 */
export interface ClinicalKinds {
  appointment: AppointmentPayload;
  lab_result: LabResultPayload;
  ai_analysis: AiAnalysisPayload;
  diagnosis_update: DiagnosisUpdatePayload;
  assessment_progress: AssessmentProgressPayload;
  system_alert: SystemAlertPayload;
}

/**
 * Fields of each built-in kind that an `id-only` subscriber may see: ids and statuses, never
 * names, values, dates or free text (everything else is treated as PHI).
 *
 * @category Clinical kinds
 */
export const ID_ONLY_FIELDS: { readonly [K in keyof ClinicalKinds]: readonly (keyof ClinicalKinds[K])[] } = {
  appointment: ['appointmentId', 'status'],
  lab_result: ['labOrderId', 'status'],
  ai_analysis: ['analysisId', 'status'],
  diagnosis_update: ['assessmentId', 'patientId', 'status'],
  assessment_progress: ['assessmentId', 'stage'],
  system_alert: ['severity'],
};
