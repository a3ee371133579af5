/**
 * Builds the system instructions and user prompt of an assessment synthesis.
 *
 * @module
 */

import type { Intake, RiskScore, Vitals } from '../assessment/types.js';

/**
 * System instructions of a synthesis. The model is a documentation aid, not a decision maker:
 * its output goes out as a *preliminary* `diagnosis_update` until a clinician reviews it.
 *
 * @example
 * ```ts
 * await adapter.generate({ system: SYNTHESIS_SYSTEM_PROMPT, prompt, jsonSchema: synthesisJsonSchema, signal });
 * ```
 *
 * @category LLM
 */
export const SYNTHESIS_SYSTEM_PROMPT = [
  'You assist clinicians by summarising an acute assessment. You do not make decisions: a clinician',
  'reviews everything you write before it is acted on.',
  'Use only the data given. Do not invent findings, results or history. If data is missing, say so.',
  'The risk score was computed deterministically from the vital signs; do not recompute or contradict it.',
  'Answer with a single JSON object matching the given schema: a short summary, a differential',
  '(most likely first, likelihoods between 0 and 1 that need not sum to 1) and concrete next steps.',
  'Identifiers in the input may have been replaced with tags such as [EMAIL] or [MRN]; ignore them.',
].join('\n');

/**
 * What a synthesis prompt is built from.
 *
 * @example
 * ```ts
 * const input: SynthesisPromptInput = { intake, vitals, risk: news2.score(vitals) };
 * ```
 *
 * @category LLM
 */
export interface SynthesisPromptInput {
  readonly intake: Intake;
  readonly vitals: Vitals;
  readonly risk: RiskScore;
}

/**
 * The user prompt: the intake, vital signs and risk score as a JSON block. The patient id is not
 * included (the model does not need it).
 *
 * @example
 * ```ts
 * const prompt = buildSynthesisPrompt({ intake, vitals, risk });
 * ```
 *
 * @category LLM
 */
export function buildSynthesisPrompt(input: SynthesisPromptInput): string {
  const data = {
    intake: input.intake,
    vitals: input.vitals,
    riskScore: {
      scorer: input.risk.scorer,
      total: input.risk.total,
      band: input.risk.band,
      parameters: input.risk.parameters,
    },
  };
  return [
    'Summarise this acute assessment for the clinical team.',
    '',
    '<assessment>',
    JSON.stringify(data, null, 2),
    '</assessment>',
  ].join('\n');
}

/**
 * The prompt of the one repair attempt: the original prompt, the invalid answer (shortened) and
 * the validation errors.
 *
 * @example
 * ```ts
 * const retryPrompt = buildRepairPrompt(prompt, previousText, 'summary: Too small');
 * ```
 */
export function buildRepairPrompt(prompt: string, previousText: string, problems: string): string {
  const previous = previousText.length > 4000 ? `${previousText.slice(0, 4000)}…` : previousText;
  return [
    prompt,
    '',
    'Your previous answer did not match the required JSON schema.',
    '<previous-answer>',
    previous,
    '</previous-answer>',
    '<validation-errors>',
    problems,
    '</validation-errors>',
    'Answer again with only the corrected JSON object.',
  ].join('\n');
}
