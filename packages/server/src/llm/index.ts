/**
 * `@wardcast/server/llm`: the LLM layer of the assessment pipeline without the vendor SDKs: the
 * adapter contract, the resilient wrapper (timeouts, retries, fallback, circuit breaking,
 * validation, redaction) and the deterministic local adapter. Also re-exported by
 * `@wardcast/server`. Vendor adapters live in `@wardcast/server/llm/openai`, `/llm/gemini` and
 * `/llm/ai-sdk`.
 *
 * @packageDocumentation
 * @module \@wardcast/server/llm
 */

export type { LlmAdapter, LlmContext, LlmErrorKind, LlmRequest, LlmResponse } from '../assessment/types.js';
export { LlmError } from '../assessment/types.js';
export type { CircuitBreakerOptions, CircuitState } from './circuit-breaker.js';
export { isLlmError } from './errors.js';
export { createLocalAdapter, LOCAL_MODEL, LOCAL_MODEL_VERSION, type LocalAdapterOptions } from './local.js';
export { buildSynthesisPrompt, SYNTHESIS_SYSTEM_PROMPT, type SynthesisPromptInput } from './prompt.js';
export { defaultRedact, type Redactor } from './redact.js';
export {
  createResilientLlm,
  type LlmAttemptInfo,
  type LlmEvent,
  type LlmSynthesisResult,
  type LlmSynthesizeInput,
  type LlmSynthesizeOptions,
  type ResilientLlm,
  type ResilientLlmOptions,
} from './resilient.js';
export type { BackoffOptions } from './retry.js';
export { synthesisJsonSchema, synthesisSchema, toPortableJsonSchema } from './schema.js';
