/**
 * NEWS2, the National Early Warning Score 2, as a {@link RiskScorer}.
 *
 * Source: Royal College of Physicians. *National Early Warning Score (NEWS) 2: Standardising the
 * assessment of acute-illness severity in the NHS.* Updated report of a working party. London: RCP,
 * 2017 — the NEWS2 scoring chart (Chart 1) and the clinical response thresholds (Chart 2).
 *
 * | Parameter                    | 3         | 2         | 1         | 0                          | 1               | 2         | 3           |
 * | ---------------------------- | --------- | --------- | --------- | -------------------------- | --------------- | --------- | ----------- |
 * | Respiration rate (per min)   | ≤8        |           | 9–11      | 12–20                      |                 | 21–24     | ≥25         |
 * | SpO2 scale 1 (%)             | ≤91       | 92–93     | 94–95     | ≥96                        |                 |           |             |
 * | SpO2 scale 2 (%)             | ≤83       | 84–85     | 86–87     | 88–92, or ≥93 on air       | 93–94 on oxygen | 95–96 on oxygen | ≥97 on oxygen |
 * | Air or oxygen                |           | oxygen    |           | air                        |                 |           |             |
 * | Systolic blood pressure      | ≤90       | 91–100    | 101–110   | 111–219                    |                 |           | ≥220        |
 * | Pulse (per min)              | ≤40       |           | 41–50     | 51–90                      | 91–110          | 111–130   | ≥131        |
 * | Consciousness                |           |           |           | Alert                      |                 |           | CVPU        |
 * | Temperature (°C)             | ≤35.0     |           | 35.1–36.0 | 36.1–38.0                  | 38.1–39.0       | ≥39.1     |             |
 *
 * Clinical risk: **high** for an aggregate of 7 or more; **medium** for 5–6; **low-medium** for an
 * aggregate of 0–4 with a single parameter scoring 3 (a "red score"); otherwise **low**.
 *
 * This module computes the score only; the clinical response, and the decision to use SpO2 scale 2
 * (confirmed hypercapnic respiratory failure, target 88–92%), belong to the clinical team.
 *
 * @example
 * ```ts
 * import { news2 } from './news2.js';
 *
 * const risk = news2.score(JSON.parse(body)); // throws WardcastError('invalid_vitals') on bad input
 * if (risk.band === 'high') escalate(risk.total, risk.parameters);
 * ```
 *
 * @module
 */

import { ErrorCode, WardcastError } from '@wardcast/protocol';
import { z } from 'zod';
import type { Consciousness, RiskBand, RiskScore, RiskScorer, Vitals } from './types.js';

/**
 * Names the type of a value in an error message, never the value itself: a patient name typed
 * into the pulse box must not come back in a 400 body or go into a log.
 */
function describeType(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isFinite(value) ? 'a number' : 'a non-finite number';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** A required finite measurement in `[min, max]` (inclusive). Rejects NaN and ±Infinity. */
function measurement(min: number, max: number, unit: string) {
  const range = `the plausible range ${min}-${max} ${unit}`;
  return z
    .number({
      error: (issue) =>
        issue.input === undefined ? 'required' : `expected a finite number, received ${describeType(issue.input)}`,
    })
    .min(min, { error: () => `below ${range}` })
    .max(max, { error: () => `above ${range}` });
}

/**
 * Physiologically plausible ranges (inclusive) outside which vital signs are rejected as
 * data-entry or unit errors rather than scored. They are wide on purpose (0 covers apnoea and
 * cardiac arrest); they only catch values no living patient, or no working device, produces.
 *
 * | Field             | Range   | Unit        | Notes                                                      |
 * | ----------------- | ------- | ----------- | ---------------------------------------------------------- |
 * | `respirationRate` | 0–80    | breaths/min |                                                            |
 * | `spo2`            | 0–100   | %           | a saturation cannot exceed 100%                            |
 * | `systolicBp`      | 0–350   | mmHg        |                                                            |
 * | `pulse`           | 0–350   | beats/min   |                                                            |
 * | `temperature`     | 25–45   | °C          | also catches Fahrenheit readings (98.6 °F is rejected)     |
 *
 * @example
 * ```ts
 * const { min, max } = VITALS_RANGES.temperature; // 25, 45
 * ```
 *
 * @category Risk scoring
 */
export const VITALS_RANGES = {
  respirationRate: { min: 0, max: 80, unit: 'breaths/min' },
  spo2: { min: 0, max: 100, unit: '%' },
  systolicBp: { min: 0, max: 350, unit: 'mmHg' },
  pulse: { min: 0, max: 350, unit: 'beats/min' },
  temperature: { min: 25, max: 45, unit: '°C' },
} as const;

const CONSCIOUSNESS = ['A', 'C', 'V', 'P', 'U'] as const satisfies readonly Consciousness[];

/** The fields of {@link Vitals}, named in the message for an unknown field. */
const VITALS_FIELDS = [
  'respirationRate',
  'spo2',
  'spo2Scale',
  'onOxygen',
  'systolicBp',
  'pulse',
  'consciousness',
  'temperature',
] as const satisfies readonly (keyof Vitals)[];

const range = (field: keyof typeof VITALS_RANGES) => {
  const r = VITALS_RANGES[field];
  return measurement(r.min, r.max, r.unit);
};

/**
 * Zod schema of {@link Vitals}, with the plausible ranges of {@link VITALS_RANGES}. It is strict:
 * an unknown field is rejected, so a misspelt `spo2Scale` (e.g. `spo2scale`) cannot silently fall
 * back to scale 1. Numbers must be finite (NaN and ±Infinity are rejected). It validates only:
 * rounding happens when scoring (see {@link scoreNews2}).
 *
 * Issue messages are written for people and name no field; {@link parseVitals} prefixes the field.
 *
 * @example
 * ```ts
 * const result = vitalsSchema.safeParse(input);
 * if (!result.success) console.warn(result.error.issues);
 * ```
 */
export const vitalsSchema = z.strictObject(
  {
    respirationRate: range('respirationRate'),
    spo2: range('spo2'),
    spo2Scale: z
      .literal([1, 2], {
        error: (issue) =>
          typeof issue.input === 'number'
            ? 'expected 1 or 2'
            : `expected 1 or 2, received ${describeType(issue.input)}`,
      })
      .optional(),
    onOxygen: z.boolean({
      error: (issue) =>
        issue.input === undefined ? 'required' : `expected true or false, received ${describeType(issue.input)}`,
    }),
    systolicBp: range('systolicBp'),
    pulse: range('pulse'),
    consciousness: z.enum(CONSCIOUSNESS, {
      error: (issue) =>
        issue.input === undefined
          ? 'required'
          : typeof issue.input === 'string'
            ? 'expected one of "A", "C", "V", "P", "U"'
            : `expected one of "A", "C", "V", "P", "U", received ${describeType(issue.input)}`,
    }),
    temperature: range('temperature'),
  },
  {
    // Unknown fields are counted, not named (a key is submitted text too); the message lists the
    // fields that are allowed instead.
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `${issue.keys.length} unknown field${issue.keys.length === 1 ? '' : 's'} (allowed: ${VITALS_FIELDS.join(', ')})`
        : `expected an object, received ${describeType(issue.input)}`,
  },
);

/**
 * Validates `value` as {@link Vitals}. Throws a {@link WardcastError} with code `invalid_vitals`
 * whose message names every invalid field and the rule it broke, never the value given, e.g.
 * `invalid vitals: respirationRate: required; temperature: above the plausible range 25-45 °C`.
 *
 * @example
 * ```ts
 * const vitals = parseVitals(JSON.parse(body));
 * ```
 *
 * @category Risk scoring
 */
export function parseVitals(value: unknown): Vitals {
  const result = vitalsSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const field = issue.path.map(String).join('.');
      return field === '' ? issue.message : `${field}: ${issue.message}`;
    });
    throw new WardcastError(ErrorCode.InvalidVitals, `invalid vitals: ${problems.join('; ')}`);
  }
  const { spo2Scale, ...rest } = result.data;
  return spo2Scale === undefined ? rest : { ...rest, spo2Scale };
}

/** The parameters NEWS2 scores; the keys of {@link News2Score.parameters}. */
export type News2Parameter =
  | 'respirationRate'
  | 'spo2'
  | 'onOxygen'
  | 'systolicBp'
  | 'pulse'
  | 'consciousness'
  | 'temperature';

/**
 * A NEWS2 {@link RiskScore}, with what was scored.
 *
 * @example
 * ```ts
 * const risk: News2Score = scoreNews2(vitals);
 * if (risk.redScore) console.log('a single parameter scored 3');
 * ```
 *
 * @category Risk scoring
 */
export interface News2Score extends RiskScore {
  readonly scorer: 'news2';
  /** Score of each of the seven parameters (0–3). `onOxygen` is the "air or oxygen" row (2 on oxygen). */
  readonly parameters: Readonly<Record<News2Parameter, number>>;
  /** Whether any single parameter scored 3 (a "red score" in the RCP chart). */
  readonly redScore: boolean;
  /** The SpO2 scale used (1 unless `spo2Scale: 2` was given). */
  readonly spo2Scale: 1 | 2;
  /** The vital signs as scored: measurements rounded as described in {@link scoreNews2}, scale defaulted. */
  readonly vitals: Readonly<Required<Vitals>>;
}

/** Rounds half up to `decimals` places, ignoring binary noise (35.05 → 35.1, not 35.0). */
function roundTo(value: number, decimals: 0 | 1): number {
  const factor = decimals === 0 ? 1 : 10;
  return Math.round(Number((value * factor).toPrecision(12))) / factor;
}

function respirationScore(rr: number): number {
  if (rr <= 8) return 3;
  if (rr <= 11) return 1;
  if (rr <= 20) return 0;
  if (rr <= 24) return 2;
  return 3;
}

function spo2Scale1Score(spo2: number): number {
  if (spo2 <= 91) return 3;
  if (spo2 <= 93) return 2;
  if (spo2 <= 95) return 1;
  return 0;
}

function spo2Scale2Score(spo2: number, onOxygen: boolean): number {
  if (spo2 <= 83) return 3;
  if (spo2 <= 85) return 2;
  if (spo2 <= 87) return 1;
  if (spo2 <= 92 || !onOxygen) return 0;
  if (spo2 <= 94) return 1;
  if (spo2 <= 96) return 2;
  return 3;
}

function systolicScore(bp: number): number {
  if (bp <= 90) return 3;
  if (bp <= 100) return 2;
  if (bp <= 110) return 1;
  if (bp <= 219) return 0;
  return 3;
}

function pulseScore(pulse: number): number {
  if (pulse <= 40) return 3;
  if (pulse <= 50) return 1;
  if (pulse <= 90) return 0;
  if (pulse <= 110) return 1;
  if (pulse <= 130) return 2;
  return 3;
}

function temperatureScore(t: number): number {
  if (t <= 35) return 3;
  if (t <= 36) return 1;
  if (t <= 38) return 0;
  if (t <= 39) return 1;
  return 2;
}

function bandOf(total: number, redScore: boolean): RiskBand {
  if (total >= 7) return 'high';
  if (total >= 5) return 'medium';
  return redScore ? 'low-medium' : 'low';
}

/**
 * Scores `vitals` with NEWS2 (RCP 2017). Validates first (see {@link parseVitals}): invalid input
 * throws a {@link WardcastError} with code `invalid_vitals` and never yields a score.
 *
 * **Fractional values.** The RCP chart is defined on whole numbers for respiration rate, SpO2,
 * systolic blood pressure and pulse, and on one decimal place for temperature, so a value between
 * two bands (e.g. a respiration rate of 20.5 from an averaged reading) has no chart score. Such
 * values are rounded to the chart's precision first, the way they would be charted by hand:
 * respiration rate, SpO2, systolic blood pressure and pulse to the nearest integer, temperature to
 * the nearest 0.1 °C, halves rounding up (20.5 → 21 scores 2; 20.4 → 20 scores 0; 38.05 → 38.1
 * scores 1; 38.04 → 38.0 scores 0). Plausible ranges are checked on the value as given, before
 * rounding. The rounded values are returned in {@link News2Score.vitals}.
 *
 * @example
 * ```ts
 * const risk = scoreNews2({
 *   respirationRate: 22, spo2: 95, onOxygen: false, systolicBp: 105,
 *   pulse: 95, consciousness: 'A', temperature: 38.4,
 * });
 * // risk.total === 6 (2 + 1 + 0 + 1 + 1 + 0 + 1), risk.band === 'medium'
 * ```
 *
 * @category Risk scoring
 */
export function scoreNews2(vitals: Vitals): News2Score {
  const valid = parseVitals(vitals);
  const scored: Required<Vitals> = {
    respirationRate: roundTo(valid.respirationRate, 0),
    spo2: roundTo(valid.spo2, 0),
    spo2Scale: valid.spo2Scale ?? 1,
    onOxygen: valid.onOxygen,
    systolicBp: roundTo(valid.systolicBp, 0),
    pulse: roundTo(valid.pulse, 0),
    consciousness: valid.consciousness,
    temperature: roundTo(valid.temperature, 1),
  };
  const parameters: Record<News2Parameter, number> = {
    respirationRate: respirationScore(scored.respirationRate),
    spo2: scored.spo2Scale === 2 ? spo2Scale2Score(scored.spo2, scored.onOxygen) : spo2Scale1Score(scored.spo2),
    onOxygen: scored.onOxygen ? 2 : 0,
    systolicBp: systolicScore(scored.systolicBp),
    pulse: pulseScore(scored.pulse),
    consciousness: scored.consciousness === 'A' ? 0 : 3,
    temperature: temperatureScore(scored.temperature),
  };
  const values = Object.values(parameters);
  const total = values.reduce((sum, n) => sum + n, 0);
  const redScore = values.includes(3);
  return Object.freeze({
    scorer: 'news2',
    total,
    band: bandOf(total, redScore),
    parameters: Object.freeze(parameters),
    redScore,
    spo2Scale: scored.spo2Scale,
    vitals: Object.freeze(scored),
  });
}

/**
 * The NEWS2 {@link RiskScorer}: its `score` returns a {@link News2Score}.
 *
 * @example
 * ```ts
 * const scorer: News2Scorer = news2;
 * scorer.score(vitals).parameters.respirationRate;
 * ```
 *
 * @category Risk scoring
 */
export interface News2Scorer extends RiskScorer {
  readonly name: 'news2';
  score(vitals: unknown): News2Score;
}

/**
 * The NEWS2 risk scorer (RCP 2017). `score` accepts any value, validates it and throws a
 * {@link WardcastError} with code `invalid_vitals` if it is not valid {@link Vitals}; see
 * {@link scoreNews2} for rounding of fractional values.
 *
 * @example
 * ```ts
 * const risk = news2.score({
 *   respirationRate: 18, spo2: 97, onOxygen: false, systolicBp: 120,
 *   pulse: 72, consciousness: 'V', temperature: 36.8,
 * });
 * // risk.total === 3, risk.band === 'low-medium' (consciousness scored 3)
 * ```
 *
 * @category Risk scoring
 */
export const news2: News2Scorer = Object.freeze({
  name: 'news2',
  score: (vitals: unknown): News2Score => scoreNews2(vitals as Vitals),
});
