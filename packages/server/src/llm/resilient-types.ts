/**
 * Public types of the resilient LLM wrapper (`createResilientLlm`).
 *
 * @module
 */

import type { z } from 'zod';
import type { Intake, LlmAdapter, LlmError, RiskScore, Synthesis, Vitals } from '../assessment/types.js';
import type { CircuitBreakerOptions, CircuitState } from './circuit-breaker.js';
import type { Redactor } from './redact.js';
import type { BackoffOptions } from './retry.js';

/**
 * Options of {@link createResilientLlm}.
 *
 * @example
 * ```ts
 * const options: ResilientLlmOptions = {
 *   adapters: [createOpenAIAdapter(), createGeminiAdapter(), createLocalAdapter()],
 *   attemptTimeoutMs: 20_000,
 *   maxRetries: 1,
 *   onEvent: (e) => logger.info('llm', e.type),
 * };
 * ```
 *
 * @category LLM
 */
export interface ResilientLlmOptions {
  /** Fallback chain, tried in order. At least one. */
  readonly adapters: readonly LlmAdapter[];
  /** Deadline of one call to an adapter (streaming included). @default 30_000 */
  readonly attemptTimeoutMs?: number;
  /** Retries per adapter on `rate_limited`, `server`, `network` and `timeout` failures. @default 2 */
  readonly maxRetries?: number;
  /** Backoff between retries. */
  readonly backoff?: BackoffOptions;
  /** Circuit breaker per adapter. @default { failureThreshold: 5, resetAfterMs: 30_000 } */
  readonly breaker?: CircuitBreakerOptions;
  /**
   * Applied to every text sent to a vendor: system instructions, prompt, repair prompt and the
   * intake strings in {@link LlmRequest.context}. @default defaultRedact (not a de-identification guarantee)
   */
  readonly redact?: Redactor;
  /** Schema the output must match. @default synthesisSchema */
  readonly schema?: z.ZodType<Synthesis>;
  /** JSON Schema sent to vendors. @default the portable JSON Schema of `schema` */
  readonly jsonSchema?: Readonly<Record<string, unknown>>;
  /** System instructions. @default SYNTHESIS_SYSTEM_PROMPT */
  readonly system?: string;
  /** Clock for latency and the circuit breakers. @default Date.now */
  readonly now?: () => number;
  /** Sleep between retries; must reject when `signal` aborts. @default a `setTimeout` sleep */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Observability hook: attempts, failures, skipped adapters. Must not throw. */
  readonly onEvent?: (event: LlmEvent) => void;
}

/**
 * What {@link ResilientLlm.synthesize} is given.
 *
 * @example
 * ```ts
 * await llm.synthesize({ intake, vitals, risk: news2.score(vitals), patientId: 'p-42' });
 * ```
 *
 * @category LLM
 */
export interface LlmSynthesizeInput {
  readonly intake: Intake;
  readonly vitals: Vitals;
  readonly risk: RiskScore;
  /** Only reported in {@link LlmEvent}s; never sent to a vendor. */
  readonly patientId?: string;
}

/**
 * One attempt about to start (the caller may clear text streamed by an earlier attempt).
 *
 * @example
 * ```ts
 * onAttempt: (info) => { if (info.attempt > 1) partial = ''; }
 * ```
 *
 * @category LLM
 */
export interface LlmAttemptInfo {
  readonly adapter: string;
  readonly model: string;
  /** 1-based count of attempts in this synthesis, across adapters. */
  readonly attempt: number;
  /** Whether this attempt re-asks after invalid output. */
  readonly repair: boolean;
}

/**
 * Per-call options of {@link ResilientLlm.synthesize}.
 *
 * @example
 * ```ts
 * await llm.synthesize(input, { signal: AbortSignal.timeout(60_000), onText: (d) => (partial += d) });
 * ```
 *
 * @category LLM
 */
export interface LlmSynthesizeOptions {
  /** Cancels everything at once (`llm_cancelled`); never retried. */
  readonly signal?: AbortSignal;
  /** Streamed text deltas of the current attempt. */
  readonly onText?: (delta: string) => void;
  /** Called before each attempt, so a caller showing streamed text can start over. */
  readonly onAttempt?: (info: LlmAttemptInfo) => void;
}

/**
 * A validated synthesis and where it came from.
 *
 * @example
 * ```ts
 * const { synthesis, adapter, model, version } = await llm.synthesize(input);
 * payload.model = { name: model, version: version ?? model };
 * ```
 *
 * @category LLM
 */
export interface LlmSynthesisResult {
  readonly synthesis: Synthesis;
  /** Name of the adapter that answered. */
  readonly adapter: string;
  /** Model requested from that adapter. */
  readonly model: string;
  /** Model version the vendor reported, when it did. */
  readonly version?: string;
  readonly latencyMs: number;
  /** Attempts made, across adapters, repairs included. */
  readonly attempts: number;
}

/**
 * Observability events of the wrapper.
 *
 * @example
 * ```ts
 * onEvent: (e) => { if (e.type === 'failure') logger.warn(`${e.adapter}: ${e.error.kind}`); }
 * ```
 *
 * @category LLM
 */
export type LlmEvent =
  | ({ readonly type: 'attempt'; readonly patientId?: string } & LlmAttemptInfo)
  | { readonly type: 'failure'; readonly adapter: string; readonly error: LlmError; readonly retryInMs?: number }
  | { readonly type: 'skipped'; readonly adapter: string; readonly reason: 'circuit_open' }
  | { readonly type: 'success'; readonly adapter: string; readonly attempts: number; readonly latencyMs: number };

/**
 * A synthesizer over a fallback chain of adapters; pass it as the pipeline's `llm`.
 *
 * @example
 * ```ts
 * const pipeline = createAssessmentPipeline({ hub, llm: createResilientLlm({ adapters: [createLocalAdapter()] }) });
 * ```
 *
 * @category LLM
 */
export interface ResilientLlm {
  /**
   * Produces a validated synthesis. Rejects with a `WardcastError`: `llm_cancelled` when `signal`
   * aborts, `llm_failed` (the last {@link LlmError} as `cause`) when every adapter failed.
   */
  synthesize(input: LlmSynthesizeInput, options?: LlmSynthesizeOptions): Promise<LlmSynthesisResult>;
  /** Circuit state of the adapter at `index` in the chain. */
  circuitState(index: number): CircuitState;
}
