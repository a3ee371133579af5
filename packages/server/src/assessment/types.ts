import type { DiagnosisUpdatePayload } from '@wardcast/protocol/kinds';

/**
 * ACVPU consciousness: Alert, new Confusion, responds to Voice, to Pain, Unresponsive.
 *
 * @category Risk scoring
 */
export type Consciousness = 'A' | 'C' | 'V' | 'P' | 'U';

/**
 * Vital signs NEWS2 scores. Units: breaths/min, %, mmHg, beats/min, °C.
 *
 * @category Risk scoring
 */
export interface Vitals {
  readonly respirationRate: number;
  readonly spo2: number;
  /** SpO2 scale 2 is for patients with confirmed hypercapnic respiratory failure. @default 1 */
  readonly spo2Scale?: 1 | 2;
  /** Supplemental oxygen (any device). */
  readonly onOxygen: boolean;
  readonly systolicBp: number;
  readonly pulse: number;
  readonly consciousness: Consciousness;
  readonly temperature: number;
}

/**
 * NEWS2 clinical risk: low (0-4, no single 3), low-medium (0-4 with a single parameter scoring 3), medium (5-6), high (7+).
 *
 * @category Risk scoring
 */
export type RiskBand = 'low' | 'low-medium' | 'medium' | 'high';

/**
 * What a {@link RiskScorer} returns.
 *
 * @category Risk scoring
 */
export interface RiskScore {
  /** Scorer name, e.g. `news2`. */
  readonly scorer: string;
  /** Aggregate score. */
  readonly total: number;
  readonly band: RiskBand;
  /** Score per parameter (e.g. `respirationRate: 3`). */
  readonly parameters: Readonly<Record<string, number>>;
}

/**
 * Scores vital signs. Throws a `WardcastError` (`invalid_vitals`) on missing or out-of-range input.
 *
 * @category Risk scoring
 */
export interface RiskScorer {
  readonly name: string;
  score(vitals: unknown): RiskScore;
}

/**
 * Free-text intake from the clinician, as submitted.
 *
 * @category Risk scoring
 */
export interface Intake {
  readonly chiefComplaint: string;
  readonly history?: string;
  readonly medications?: readonly string[];
  readonly allergies?: readonly string[];
  readonly age?: number;
  readonly sex?: 'female' | 'male' | 'other' | 'unknown';
}

/**
 * What the LLM must produce (validated against a zod schema).
 *
 * @category Risk scoring
 */
export interface Synthesis {
  readonly summary: string;
  readonly differential: DiagnosisUpdatePayload['differential'];
  readonly recommendations: readonly string[];
}

/**
 * One call to an LLM.
 *
 * @category LLM
 */
export interface LlmRequest {
  /** System instructions. */
  readonly system: string;
  /** The user prompt (already redacted). */
  readonly prompt: string;
  /** JSON Schema of the structured output wanted. */
  readonly jsonSchema: Readonly<Record<string, unknown>>;
  /** Aborts the call (cancel, per-attempt timeout). */
  readonly signal: AbortSignal;
  /** Called with each streamed text delta, when the adapter streams. */
  readonly onText?: (delta: string) => void;
  /**
   * Name of the structured output (OpenAI's `json_schema.name`, the AI SDK's output name):
   * letters, digits, `_` and `-`. @default 'synthesis'
   */
  readonly schemaName?: string;
  /**
   * The structured input the prompt was built from, for adapters that do not call a vendor (the
   * deterministic local adapter templates its answer from it). Free-text intake fields are already
   * redacted. Adapters that send data to a vendor must send `system` and `prompt` only.
   */
  readonly context?: LlmContext;
}

/**
 * Structured input of a synthesis, passed to adapters as {@link LlmRequest.context}.
 *
 * @example
 * ```ts
 * const adapter: LlmAdapter = {
 *   name: 'rules', model: 'rules-v1',
 *   async generate({ context }) {
 *     const output = { summary: `NEWS2 ${context?.risk.total}`, differential: [], recommendations: [] };
 *     return { output, text: JSON.stringify(output), model: 'rules-v1' };
 *   },
 * };
 * ```
 *
 * @category LLM
 */
export interface LlmContext {
  readonly intake: Intake;
  readonly vitals: Vitals;
  readonly risk: RiskScore;
}

/**
 * What an adapter returns: the raw structured output (validated by the caller) and its text.
 *
 * @category LLM
 */
export interface LlmResponse {
  /** Parsed JSON output, or the raw text when it did not parse (the caller validates). */
  readonly output: unknown;
  readonly text: string;
  /** Model id as the vendor reported it. */
  readonly model: string;
}

/**
 * A language model behind one vendor SDK. Adapters only translate: retries, timeouts,
 * fallback, circuit breaking, validation and redaction live in the resilient wrapper.
 * An adapter throws an {@link LlmError} so the wrapper can decide whether to retry.
 *
 * @category LLM
 */
export interface LlmAdapter {
  /** Adapter name, e.g. `openai`, `gemini`, `ai-sdk`, `local`. */
  readonly name: string;
  /** Model id requested, e.g. `gpt-4o`. */
  readonly model: string;
  generate(request: LlmRequest): Promise<LlmResponse>;
}

/**
 * Why an LLM call failed, for retry decisions.
 *
 * @category LLM
 */
export type LlmErrorKind = 'rate_limited' | 'server' | 'network' | 'timeout' | 'aborted' | 'bad_output' | 'client';

/**
 * An error from an LLM adapter or the resilient wrapper.
 *
 * @category LLM
 */
export class LlmError extends Error {
  readonly kind: LlmErrorKind;
  /** Seconds to wait before retrying, from a `Retry-After` header. */
  readonly retryAfterSeconds: number | undefined;
  readonly status: number | undefined;

  constructor(
    kind: LlmErrorKind,
    message: string,
    options: { status?: number; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LlmError';
    this.kind = kind;
    this.status = options.status;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}
