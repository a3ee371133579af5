/**
 * A deterministic, offline {@link LlmAdapter} for demos, tests and development: templates a
 * synthesis from the structured context of the request and streams it in chunks.
 *
 * @module
 */

import type { LlmAdapter, LlmContext, LlmRequest, LlmResponse, Synthesis } from '../assessment/types.js';
import { LlmError } from '../assessment/types.js';

/**
 * Options of {@link createLocalAdapter}.
 *
 * @example
 * ```ts
 * createLocalAdapter({ delayMs: 0 }); // tests: no pauses
 * ```
 *
 * @category LLM
 */
export interface LocalAdapterOptions {
  /** Pause between streamed chunks, so a demo visibly streams. `0` streams without pauses. @default 20 */
  readonly delayMs?: number;
  /** Characters per streamed chunk. @default 16 */
  readonly chunkSize?: number;
}

/**
 * Model id the local adapter reports.
 *
 * @example
 * ```ts
 * if (result.model === LOCAL_MODEL) console.info('template synthesis, no LLM involved');
 * ```
 *
 * @category LLM
 */
export const LOCAL_MODEL = 'wardcast-local-template';
/**
 * Version the local adapter reports (bumped when the template's output changes).
 *
 * @example
 * ```ts
 * expect(result.version).toBe(LOCAL_MODEL_VERSION);
 * ```
 *
 * @category LLM
 */
export const LOCAL_MODEL_VERSION = 'wardcast-local-template-v1';

type Entry = Synthesis['differential'][number];

const RULES: ReadonlyArray<{ readonly match: RegExp; readonly entries: readonly Entry[]; readonly next?: string }> = [
  {
    match: /chest pain|chest tightness|angina/i,
    entries: [
      { condition: 'Acute coronary syndrome', likelihood: 0.4 },
      { condition: 'Pulmonary embolism', likelihood: 0.15 },
      { condition: 'Musculoskeletal chest pain', likelihood: 0.2 },
    ],
    next: '12-lead ECG within 10 minutes and serial troponin.',
  },
  {
    match: /short(ness)? of breath|breathless|dyspn|cough|wheez/i,
    entries: [
      { condition: 'Lower respiratory tract infection / pneumonia', likelihood: 0.35 },
      { condition: 'Exacerbation of asthma or COPD', likelihood: 0.25 },
      { condition: 'Pulmonary embolism', likelihood: 0.1 },
    ],
    next: 'Chest X-ray and arterial or venous blood gas.',
  },
  {
    match: /fever|rigor|chills|infection|sepsis/i,
    entries: [{ condition: 'Sepsis', likelihood: 0.3 }],
    next: 'Screen for sepsis: blood cultures, lactate, source of infection.',
  },
  {
    match: /confus|drowsy|delirium|altered mental/i,
    entries: [
      { condition: 'Delirium secondary to acute illness', likelihood: 0.35 },
      { condition: 'Sepsis', likelihood: 0.2 },
    ],
    next: 'Capillary glucose and a structured delirium assessment.',
  },
  {
    match: /abdominal pain|abdo pain|vomit|diarrh/i,
    entries: [
      { condition: 'Acute abdomen requiring surgical review', likelihood: 0.25 },
      { condition: 'Gastroenteritis', likelihood: 0.25 },
    ],
    next: 'Abdominal examination, bloods including lactate and lipase.',
  },
  {
    match: /headache/i,
    entries: [
      { condition: 'Primary headache (migraine or tension-type)', likelihood: 0.4 },
      { condition: 'Secondary headache needing imaging', likelihood: 0.15 },
    ],
    next: 'Neurological examination; screen for red-flag features.',
  },
  {
    match: /fall|faint|syncope|dizz|collapse/i,
    entries: [
      { condition: 'Syncope (vasovagal or orthostatic)', likelihood: 0.3 },
      { condition: 'Cardiac arrhythmia', likelihood: 0.15 },
    ],
    next: 'Lying and standing blood pressure and a 12-lead ECG.',
  },
];

const RESPONSE: Readonly<Record<string, string>> = {
  low: 'Continue NEWS2 observations at least every 4 to 12 hours per local policy; inform the nurse in charge of any rise.',
  'low-medium': 'A single parameter scores 3: urgent ward-based review by a clinician, observations at least hourly.',
  medium: 'Urgent review by a clinician competent in acute illness; observations at least hourly.',
  high: 'Emergency assessment by a critical care outreach team; continuous monitoring; consider a higher level of care.',
};

/**
 * Builds the templated synthesis for a context. Deterministic: same input, same output.
 *
 * @example
 * ```ts
 * const synthesis = templateSynthesis({ intake, vitals, risk });
 * ```
 */
export function templateSynthesis(context: LlmContext | undefined): Synthesis {
  if (!context) {
    return {
      summary: 'No structured assessment data was supplied to the local template; nothing to summarise.',
      differential: [],
      recommendations: ['Review the patient directly.'],
    };
  }
  const { intake, vitals, risk } = context;
  const text = `${intake.chiefComplaint} ${intake.history ?? ''}`;
  const byCondition = new Map<string, Entry>();
  const next: string[] = [];
  const add = (entry: Entry) => {
    const seen = byCondition.get(entry.condition);
    if (!seen || seen.likelihood < entry.likelihood) byCondition.set(entry.condition, entry);
  };
  for (const rule of RULES) {
    if (!rule.match.test(text)) continue;
    rule.entries.forEach(add);
    if (rule.next) next.push(rule.next);
  }
  const septicPicture = vitals.temperature >= 38.1 && (vitals.pulse > 90 || vitals.respirationRate >= 21);
  if (septicPicture) add({ condition: 'Sepsis', likelihood: risk.band === 'high' ? 0.5 : 0.35 });
  if (byCondition.size === 0) add({ condition: 'Undifferentiated acute presentation', likelihood: 0.5 });
  const differential = [...byCondition.values()].sort((a, b) => b.likelihood - a.likelihood).slice(0, 5);

  const who = [intake.age === undefined ? undefined : `${intake.age}-year-old`, sexWord(intake.sex)]
    .filter(Boolean)
    .join(' ');
  const red = Object.entries(risk.parameters)
    .filter(([, points]) => points >= 3)
    .map(([name]) => name);
  const summary = [
    `${who ? `${capitalise(who)} presenting` : 'Presenting'} with ${clip(intake.chiefComplaint.trim(), 500) || 'an unspecified complaint'}.`,
    `${risk.scorer.toUpperCase()} ${risk.total} (${risk.band} clinical risk)${red.length ? `; parameters scoring 3: ${red.join(', ')}` : ''}.`,
    'Template synthesis generated without a language model: a clinician must review it.',
  ].join(' ');

  const recommendations = [RESPONSE[risk.band] ?? RESPONSE.medium, ...next];
  if (vitals.spo2 < (vitals.spo2Scale === 2 ? 88 : 94)) {
    recommendations.push('Assess oxygen therapy against the target saturation range.');
  }
  if (intake.allergies?.length) {
    recommendations.push(clip(`Check documented allergies before prescribing: ${intake.allergies.join(', ')}.`, 500));
  }
  recommendations.push('Confirm or revise this preliminary synthesis after clinical review.');
  return { summary, differential, recommendations: recommendations.filter((r): r is string => Boolean(r)) };
}

/**
 * Creates the local adapter. It never touches the network: it answers from
 * {@link LlmRequest.context} (which the resilient wrapper fills in), streams the JSON to `onText`
 * in chunks, and stops with an `aborted` {@link LlmError} when the signal fires.
 *
 * @example
 * ```ts
 * const llm = createResilientLlm({ adapters: [createLocalAdapter({ delayMs: 10 })] });
 * const { synthesis } = await llm.synthesize({ intake, vitals, risk, patientId: 'p1' });
 * ```
 *
 * @category LLM
 */
export function createLocalAdapter(options: LocalAdapterOptions = {}): LlmAdapter {
  const delayMs = options.delayMs ?? 20;
  const chunkSize = Math.max(1, Math.floor(options.chunkSize ?? 16));
  return {
    name: 'local',
    model: LOCAL_MODEL,
    async generate(request: LlmRequest): Promise<LlmResponse> {
      const synthesis = templateSynthesis(request.context);
      const text = JSON.stringify(synthesis);
      for (let offset = 0; offset < text.length; offset += chunkSize) {
        if (request.signal.aborted) throw aborted(request.signal);
        if (delayMs > 0 && offset > 0) await pause(delayMs, request.signal);
        request.onText?.(text.slice(offset, offset + chunkSize));
      }
      if (request.signal.aborted) throw aborted(request.signal);
      return { output: synthesis, text, model: LOCAL_MODEL_VERSION };
    },
  };
}

function aborted(signal: AbortSignal): LlmError {
  return new LlmError('aborted', 'local: aborted', { cause: signal.reason });
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function sexWord(sex: LlmContext['intake']['sex']): string | undefined {
  if (sex === 'female') return 'woman';
  if (sex === 'male') return 'man';
  if (sex === 'other') return 'patient';
  return undefined;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
