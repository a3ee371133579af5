import { ErrorCode, WardcastError } from '@wardcast/protocol';
import type { AssessmentView } from './model.js';
import { ASSESSMENT_FIELDS } from './schemas.js';

/**
 * The HTTP endpoints speak snake_case JSON (like the `/v1` endpoints and the original product);
 * the TypeScript API is camelCase. These helpers translate between the two.
 */

const toCamel = (key: string): string => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const toSnake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A plain object with snake_case keys renamed to camelCase (one level); anything else as is. */
function camelKeys(value: unknown): unknown {
  if (!isObject(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [toCamel(k), v]));
}

function snakeKeys(value: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [toSnake(k), v]));
}

/** The camelCase field names of the assessment schemas that differ in snake_case. */
const CAMEL_FIELDS = new Set(ASSESSMENT_FIELDS.filter((f) => toSnake(f) !== f));

/**
 * A validation message with the field names it mentions in snake_case. Only the schemas' own
 * field names are renamed, so units and other words keep their case (`mmHg` stays `mmHg`).
 */
export function snakeMessage(message: string): string {
  return message.replace(/\b[a-z][a-z0-9]*[A-Z][A-Za-z0-9]*\b/g, (word) =>
    CAMEL_FIELDS.has(word) ? toSnake(word) : word,
  );
}

/**
 * The `pipeline.submit` input of a `POST /api/assess` body
 * `{ patient_id, intake: { chief_complaint, ... }, vitals: { respiration_rate, ... }, idempotency_key? }`.
 * `requestedBy` is the authenticated caller; an `Idempotency-Key` header wins over the body field.
 *
 * @throws {WardcastError} `invalid_request` when the body is not a JSON object.
 */
export function submitInputOf(body: unknown, requestedBy: string, idempotencyHeader: string | undefined): unknown {
  if (!isObject(body)) throw new WardcastError(ErrorCode.InvalidRequest, 'invalid request: body must be a JSON object');
  const key = idempotencyHeader ?? body.idempotency_key;
  return {
    patientId: body.patient_id,
    intake: camelKeys(body.intake),
    vitals: camelKeys(body.vitals),
    requestedBy,
    ...(key === undefined ? {} : { idempotencyKey: key }),
  };
}

/** The snake_case JSON of an assessment, as `GET /api/assess/:id` answers it. */
export function assessmentJson(view: AssessmentView): Record<string, unknown> {
  const { risk, synthesis } = view;
  return {
    assessment_id: view.assessmentId,
    patient_id: view.patientId,
    requested_by: view.requestedBy,
    status: view.status,
    created_at: view.createdAt,
    updated_at: view.updatedAt,
    risk: risk && { scorer: risk.scorer, total: risk.total, band: risk.band, parameters: snakeKeys(risk.parameters) },
    synthesis: synthesis && {
      adapter: synthesis.adapter,
      model: synthesis.model,
      version: synthesis.version,
      latency_ms: synthesis.latencyMs,
      attempts: synthesis.attempts,
    },
    result: view.result,
    failure: view.failure,
    reviewed_by: view.reviewedBy,
    reviewed_at: view.reviewedAt,
    patient_notified_at: view.patientNotifiedAt,
  };
}
