/**
 * The structured output an LLM must produce for an assessment, as a zod schema (validated by the
 * resilient wrapper) and as the JSON Schema sent to vendors.
 *
 * @module
 */

import { z } from 'zod';
import type { Synthesis } from '../assessment/types.js';

/**
 * zod schema of a {@link Synthesis}. Limits match the `diagnosis_update` payload (summary up to
 * 8,000 characters, up to 20 differential entries with conditions up to 200 characters).
 *
 * @example
 * ```ts
 * const parsed = synthesisSchema.safeParse(JSON.parse(text));
 * if (!parsed.success) console.warn(z.prettifyError(parsed.error));
 * ```
 *
 * @category LLM
 */
export const synthesisSchema = z
  .object({
    summary: z
      .string()
      .min(1)
      .max(8000)
      .describe('Two to five sentences for a clinician: presentation, risk score, what matters now.'),
    differential: z
      .array(
        z
          .object({
            condition: z.string().min(1).max(200).describe('A candidate diagnosis.'),
            likelihood: z.number().min(0).max(1).describe('Estimated probability, 0 to 1.'),
          })
          .strict(),
      )
      .max(20)
      .describe('Candidate diagnoses, most likely first.'),
    recommendations: z
      .array(z.string().min(1).max(500))
      .max(20)
      .describe('Next steps for the clinical team (monitoring, investigations, escalation).'),
  })
  .strict();

// Compile-time check: the schema's output is assignable to the Synthesis interface.
const _assignable: (value: z.infer<typeof synthesisSchema>) => Synthesis = (value) => value;
void _assignable;

/** Keywords not every vendor's structured-output mode accepts; the zod schema still enforces them. */
const NON_PORTABLE_KEYS = new Set(['$schema', 'minLength', 'maxLength']);

/**
 * Converts a zod schema to a JSON Schema that OpenAI strict mode, Gemini's
 * `responseJsonSchema` and the AI SDK all accept: drops `$schema` and string length keywords
 * (validation after the call still enforces them). Every object keeps `additionalProperties: false`
 * and lists all its properties as required (use `.nullable()` rather than `.optional()` for
 * OpenAI strict mode).
 *
 * @example
 * ```ts
 * const jsonSchema = toPortableJsonSchema(z.object({ answer: z.string() }).strict());
 * ```
 *
 * @category LLM
 */
export function toPortableJsonSchema(schema: z.ZodType): Record<string, unknown> {
  return strip(z.toJSONSchema(schema, { target: 'draft-7', io: 'output' })) as Record<string, unknown>;
}

function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (!NON_PORTABLE_KEYS.has(key)) out[key] = key === 'properties' ? stripProperties(child) : strip(child);
  }
  return out;
}

/** Property names are data, not keywords: never drop them. */
function stripProperties(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([name, child]) => [name, strip(child)]));
}

/**
 * JSON Schema of {@link synthesisSchema}, in the portable form of {@link toPortableJsonSchema}.
 *
 * @example
 * ```ts
 * await adapter.generate({ system, prompt, jsonSchema: synthesisJsonSchema, signal });
 * ```
 *
 * @category LLM
 */
export const synthesisJsonSchema: Readonly<Record<string, unknown>> = Object.freeze(
  toPortableJsonSchema(synthesisSchema),
);
