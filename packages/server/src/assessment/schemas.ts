import { describeIssue, ErrorCode, WardcastError } from '@wardcast/protocol';
import { z } from 'zod';
import type { ReviewInput, SubmitInput } from './model.js';
import { parseVitals, vitalsSchema } from './news2.js';
import type { Intake } from './types.js';

/** An id that fits in a topic (`patient:<id>`, `user:<id>`) with room for a prefix. */
const topicId = z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'must be 1-100 characters of A-Z a-z 0-9 _ . : -');
const shortList = z.array(z.string().trim().min(1).max(200)).max(50);

/** Zod schema of {@link Intake}. Unknown fields are rejected. *
 * @example
 * ```ts
 * const ok = intakeSchema.safeParse({ chiefComplaint: 'headache', age: 40 }).success; // true
 * ```
 *
 * @category Assessment pipeline
 */
export const intakeSchema = z.strictObject({
  chiefComplaint: z.string().trim().min(1).max(2000),
  history: z.string().max(8000).optional(),
  medications: shortList.optional(),
  allergies: shortList.optional(),
  age: z.number().int().min(0).max(130).optional(),
  sex: z.enum(['female', 'male', 'other', 'unknown']).optional(),
});

const submitEnvelope = z.object({
  patientId: topicId,
  intake: z.unknown(),
  vitals: z.unknown(),
  requestedBy: z.string().min(1).max(128),
  idempotencyKey: z.string().min(1).max(200).optional(),
});

const reviewSchema = z.object({
  reviewedBy: z.string().min(1).max(128),
  decision: z.enum(['final', 'retracted']),
  summary: z.string().trim().min(1).max(8000).optional(),
});

/**
 * The message of a zod error: every issue's path and rule, never the values (nor the names of
 * unknown fields, which are submitted text too: they are counted, and the allowed ones listed).
 */
function describe(prefix: string, error: z.ZodError, input: unknown, allowed?: readonly string[]): string {
  const issues = error.issues.map((i) => {
    const path = [prefix, ...i.path.map(String)].filter((p) => p !== '').join('.');
    let rule = describeIssue(i, input);
    if (i.code === 'unrecognized_keys' && allowed) rule = `${rule} (allowed: ${allowed.join(', ')})`;
    return path === '' ? rule : `${path}: ${rule}`;
  });
  return issues.join('; ');
}

/**
 * The camelCase field names the assessment messages can mention (envelope, intake, vitals,
 * review), which the HTTP endpoints rename to snake_case.
 */
export const ASSESSMENT_FIELDS: readonly string[] = [
  ...Object.keys(submitEnvelope.shape),
  ...Object.keys(intakeSchema.shape),
  ...Object.keys(vitalsSchema.shape),
  ...Object.keys(reviewSchema.shape),
];

function invalid(message: string): WardcastError {
  return new WardcastError(ErrorCode.InvalidRequest, `invalid request: ${message}`);
}

/** Drops `undefined` fields, so results fit `exactOptionalPropertyTypes`. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Validates a submission. Throws `invalid_request` (envelope or intake) or `invalid_vitals`
 * (through the NEWS2 vitals schema), with messages naming each invalid field.
 */
export function parseSubmit(value: unknown): SubmitInput {
  const envelope = submitEnvelope.safeParse(value);
  if (!envelope.success) throw invalid(describe('', envelope.error, value));
  const intake = intakeSchema.safeParse(envelope.data.intake);
  if (!intake.success) {
    throw invalid(describe('intake', intake.error, envelope.data.intake, Object.keys(intakeSchema.shape)));
  }
  const vitals = parseVitals(envelope.data.vitals);
  return defined({ ...envelope.data, intake: defined(intake.data) as Intake, vitals });
}

/** Validates a review. Throws `invalid_request`. */
export function parseReview(value: unknown): ReviewInput {
  const parsed = reviewSchema.safeParse(value);
  if (!parsed.success) throw invalid(describe('', parsed.error, value));
  return defined(parsed.data);
}
