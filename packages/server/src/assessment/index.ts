/**
 * `@wardcast/server/assessment`: the assessment pipeline (intake, NEWS2, LLM synthesis streamed
 * to the patient's topic, clinician sign-off) and its HTTP endpoints. The LLM adapters it calls
 * live in `@wardcast/server/llm`.
 *
 * @example
 * ```ts
 * import { NotificationHub } from '@wardcast/server';
 * import { createAssessmentPipeline } from '@wardcast/server/assessment';
 * import { createLocalAdapter, createResilientLlm } from '@wardcast/server/llm';
 *
 * const hub = new NotificationHub({ authenticate: async () => null });
 * const pipeline = createAssessmentPipeline({
 *   hub,
 *   llm: createResilientLlm({ adapters: [createLocalAdapter()] }),
 * });
 * ```
 *
 * @packageDocumentation
 * @module \@wardcast/server/assessment
 */

export {
  type AssessmentAction,
  type AssessmentHttpOptions,
  type AuthorizeAssessment,
  createAssessmentHttpCore,
} from './http.js';
export {
  createAssessmentExpressRouter,
  createAssessmentFetchHandler,
  createAssessmentNodeHandler,
} from './http-adapters.js';
export {
  AssessmentBusyError,
  type AssessmentPipeline,
  type AssessmentPipelineOptions,
  type AssessmentRetention,
  type AssessmentStatus,
  type AssessmentView,
  type CancelResult,
  type ReviewInput,
  type SubmitInput,
  type SubmitResult,
  type SynthesisInput,
  type SynthesisMeta,
  type SynthesisOutcome,
  type SynthesizeOptions,
  type Synthesizer,
} from './model.js';
export { type News2Score, type News2Scorer, news2, parseVitals, scoreNews2, VITALS_RANGES } from './news2.js';
export { createAssessmentPipeline } from './pipeline.js';
export { intakeSchema } from './schemas.js';
export { DEFAULT_ASSESSMENT_RETENTION } from './store.js';
export type { Consciousness, Intake, RiskBand, RiskScore, RiskScorer, Synthesis, Vitals } from './types.js';
