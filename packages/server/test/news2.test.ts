import { ErrorCode, isWardcastError, WardcastError } from '@wardcast/protocol';
import { describe, expect, it } from 'vitest';
import { type News2Score, news2, scoreNews2, VITALS_RANGES, vitalsSchema } from '../src/assessment/news2.js';
import type { Vitals } from '../src/assessment/types.js';

/** Vitals where every parameter scores 0 (aggregate 0, band low). */
const NORMAL: Vitals = {
  respirationRate: 16,
  spo2: 98,
  onOxygen: false,
  systolicBp: 120,
  pulse: 70,
  consciousness: 'A',
  temperature: 37,
};

const ZERO = {
  respirationRate: 0,
  spo2: 0,
  onOxygen: 0,
  systolicBp: 0,
  pulse: 0,
  consciousness: 0,
  temperature: 0,
} as const;

/** Scores {@link NORMAL} with `changes` applied. */
const score = (changes: Partial<Vitals>): News2Score => scoreNews2({ ...NORMAL, ...changes });

/** The `invalid_vitals` error `input` throws; fails the test if a score came back. */
function rejection(input: unknown): WardcastError {
  let result: unknown;
  try {
    result = news2.score(input);
  } catch (error) {
    if (error instanceof WardcastError) return error;
    throw error;
  }
  throw new Error(`expected invalid_vitals, got a score: ${JSON.stringify(result)}`);
}

describe('news2 scorer', () => {
  it('is named news2 and labels its scores news2', () => {
    expect(news2.name).toBe('news2');
    expect(news2.score(NORMAL).scorer).toBe('news2');
  });

  it('scores normal vitals 0, band low, with every parameter 0', () => {
    expect(scoreNews2(NORMAL)).toEqual({
      scorer: 'news2',
      total: 0,
      band: 'low',
      parameters: ZERO,
      redScore: false,
      spo2Scale: 1,
      vitals: { ...NORMAL, spo2Scale: 1 },
    });
  });

  it('gives the same result through news2.score and scoreNews2', () => {
    const vitals: Vitals = { ...NORMAL, respirationRate: 23, pulse: 112, spo2Scale: 2, spo2: 95, onOxygen: true };

    expect(news2.score(vitals)).toEqual(scoreNews2(vitals));
  });

  it('returns a frozen result and does not modify its input', () => {
    const input = { ...NORMAL, respirationRate: 20.6 };
    const copy = { ...input };
    const result = scoreNews2(input);

    expect(input).toEqual(copy);
    expect(Object.isFrozen(result)).toBe(true);
    expect(Object.isFrozen(result.parameters)).toBe(true);
    expect(Object.isFrozen(result.vitals)).toBe(true);
  });

  it('uses SpO2 scale 1 when spo2Scale is missing or undefined', () => {
    expect(score({ spo2: 93 }).spo2Scale).toBe(1);
    expect(scoreNews2({ ...NORMAL, spo2: 93, spo2Scale: undefined } as unknown as Vitals)).toMatchObject({
      spo2Scale: 1,
      parameters: { spo2: 2 },
    });
  });
});

/** Checks that only `parameter` scored, and that it scored `expected`. */
function expectOnly(result: News2Score, parameter: keyof typeof ZERO, expected: number): void {
  expect(result.parameters).toEqual({ ...ZERO, [parameter]: expected });
  expect(result.total).toBe(expected);
  expect(result.redScore).toBe(expected === 3);
}

describe('respiration rate (breaths/min): ≤8 → 3, 9–11 → 1, 12–20 → 0, 21–24 → 2, ≥25 → 3', () => {
  it.each([
    { value: 0, expected: 3 },
    { value: 8, expected: 3 },
    { value: 9, expected: 1 },
    { value: 11, expected: 1 },
    { value: 12, expected: 0 },
    { value: 20, expected: 0 },
    { value: 21, expected: 2 },
    { value: 24, expected: 2 },
    { value: 25, expected: 3 },
    { value: 80, expected: 3 },
  ])('respiration rate $value scores $expected', ({ value, expected }) => {
    expectOnly(score({ respirationRate: value }), 'respirationRate', expected);
  });
});

describe('SpO2 scale 1 (%): ≤91 → 3, 92–93 → 2, 94–95 → 1, ≥96 → 0', () => {
  it.each([
    { value: 0, expected: 3 },
    { value: 91, expected: 3 },
    { value: 92, expected: 2 },
    { value: 93, expected: 2 },
    { value: 94, expected: 1 },
    { value: 95, expected: 1 },
    { value: 96, expected: 0 },
    { value: 100, expected: 0 },
  ])('SpO2 $value on air scores $expected', ({ value, expected }) => {
    expectOnly(score({ spo2: value }), 'spo2', expected);
    expectOnly(score({ spo2: value, spo2Scale: 1 }), 'spo2', expected);
  });

  it.each([
    { value: 91, expected: 3 },
    { value: 96, expected: 0 },
    { value: 100, expected: 0 },
  ])('SpO2 $value on oxygen scores $expected (scale 1 does not depend on oxygen)', ({ value, expected }) => {
    const result = score({ spo2: value, onOxygen: true });

    expect(result.parameters.spo2).toBe(expected);
    expect(result.parameters.onOxygen).toBe(2);
    expect(result.total).toBe(expected + 2);
  });
});

describe('SpO2 scale 2 (%): ≤83 → 3, 84–85 → 2, 86–87 → 1, 88–92 or ≥93 on air → 0; on oxygen 93–94 → 1, 95–96 → 2, ≥97 → 3', () => {
  it.each([
    { value: 0, oxygen: false, expected: 3 },
    { value: 83, oxygen: false, expected: 3 },
    { value: 84, oxygen: false, expected: 2 },
    { value: 85, oxygen: false, expected: 2 },
    { value: 86, oxygen: false, expected: 1 },
    { value: 87, oxygen: false, expected: 1 },
    { value: 88, oxygen: false, expected: 0 },
    { value: 92, oxygen: false, expected: 0 },
    { value: 93, oxygen: false, expected: 0 },
    { value: 94, oxygen: false, expected: 0 },
    { value: 95, oxygen: false, expected: 0 },
    { value: 96, oxygen: false, expected: 0 },
    { value: 97, oxygen: false, expected: 0 },
    { value: 100, oxygen: false, expected: 0 },
    { value: 83, oxygen: true, expected: 3 },
    { value: 84, oxygen: true, expected: 2 },
    { value: 85, oxygen: true, expected: 2 },
    { value: 86, oxygen: true, expected: 1 },
    { value: 87, oxygen: true, expected: 1 },
    { value: 88, oxygen: true, expected: 0 },
    { value: 92, oxygen: true, expected: 0 },
    { value: 93, oxygen: true, expected: 1 },
    { value: 94, oxygen: true, expected: 1 },
    { value: 95, oxygen: true, expected: 2 },
    { value: 96, oxygen: true, expected: 2 },
    { value: 97, oxygen: true, expected: 3 },
    { value: 100, oxygen: true, expected: 3 },
  ])('SpO2 $value (oxygen: $oxygen) scores $expected', ({ value, oxygen, expected }) => {
    const result = score({ spo2: value, spo2Scale: 2, onOxygen: oxygen });

    expect(result.spo2Scale).toBe(2);
    expect(result.parameters).toEqual({ ...ZERO, spo2: expected, onOxygen: oxygen ? 2 : 0 });
    expect(result.total).toBe(expected + (oxygen ? 2 : 0));
  });

  it.each([
    { value: 88, scale1: 3, scale2: 0 },
    { value: 92, scale1: 2, scale2: 0 },
    { value: 95, scale1: 1, scale2: 0 },
  ])('SpO2 $value on air scores $scale1 on scale 1 but $scale2 on scale 2', ({ value, scale1, scale2 }) => {
    expect(score({ spo2: value, spo2Scale: 1 }).parameters.spo2).toBe(scale1);
    expect(score({ spo2: value, spo2Scale: 2 }).parameters.spo2).toBe(scale2);
  });
});

describe('air or oxygen: air → 0, oxygen → 2', () => {
  it.each([
    { oxygen: false, scale: 1 as const, expected: 0 },
    { oxygen: true, scale: 1 as const, expected: 2 },
    { oxygen: false, scale: 2 as const, expected: 0 },
    { oxygen: true, scale: 2 as const, expected: 2 },
  ])('onOxygen $oxygen on scale $scale scores $expected', ({ oxygen, scale, expected }) => {
    expectOnly(score({ onOxygen: oxygen, spo2Scale: scale, spo2: scale === 1 ? 98 : 90 }), 'onOxygen', expected);
  });
});

describe('systolic blood pressure (mmHg): ≤90 → 3, 91–100 → 2, 101–110 → 1, 111–219 → 0, ≥220 → 3', () => {
  it.each([
    { value: 0, expected: 3 },
    { value: 90, expected: 3 },
    { value: 91, expected: 2 },
    { value: 100, expected: 2 },
    { value: 101, expected: 1 },
    { value: 110, expected: 1 },
    { value: 111, expected: 0 },
    { value: 219, expected: 0 },
    { value: 220, expected: 3 },
    { value: 350, expected: 3 },
  ])('systolic $value scores $expected', ({ value, expected }) => {
    expectOnly(score({ systolicBp: value }), 'systolicBp', expected);
  });
});

describe('pulse (beats/min): ≤40 → 3, 41–50 → 1, 51–90 → 0, 91–110 → 1, 111–130 → 2, ≥131 → 3', () => {
  it.each([
    { value: 0, expected: 3 },
    { value: 40, expected: 3 },
    { value: 41, expected: 1 },
    { value: 50, expected: 1 },
    { value: 51, expected: 0 },
    { value: 90, expected: 0 },
    { value: 91, expected: 1 },
    { value: 110, expected: 1 },
    { value: 111, expected: 2 },
    { value: 130, expected: 2 },
    { value: 131, expected: 3 },
    { value: 350, expected: 3 },
  ])('pulse $value scores $expected', ({ value, expected }) => {
    expectOnly(score({ pulse: value }), 'pulse', expected);
  });
});

describe('consciousness: Alert → 0, new Confusion, Voice, Pain, Unresponsive → 3', () => {
  it.each([
    { value: 'A' as const, expected: 0 },
    { value: 'C' as const, expected: 3 },
    { value: 'V' as const, expected: 3 },
    { value: 'P' as const, expected: 3 },
    { value: 'U' as const, expected: 3 },
  ])('consciousness $value scores $expected', ({ value, expected }) => {
    expectOnly(score({ consciousness: value }), 'consciousness', expected);
  });
});

describe('temperature (°C): ≤35.0 → 3, 35.1–36.0 → 1, 36.1–38.0 → 0, 38.1–39.0 → 1, ≥39.1 → 2', () => {
  it.each([
    { value: 25, expected: 3 },
    { value: 35.0, expected: 3 },
    { value: 35.1, expected: 1 },
    { value: 36.0, expected: 1 },
    { value: 36.1, expected: 0 },
    { value: 38.0, expected: 0 },
    { value: 38.1, expected: 1 },
    { value: 39.0, expected: 1 },
    { value: 39.1, expected: 2 },
    { value: 45, expected: 2 },
  ])('temperature $value scores $expected', ({ value, expected }) => {
    expectOnly(score({ temperature: value }), 'temperature', expected);
  });
});

describe('fractional values are rounded to the chart precision (integers; 0.1 °C), halves up', () => {
  it.each([
    { field: 'respirationRate' as const, value: 8.4, scored: 8, expected: 3 },
    { field: 'respirationRate' as const, value: 8.5, scored: 9, expected: 1 },
    { field: 'respirationRate' as const, value: 11.49, scored: 11, expected: 1 },
    { field: 'respirationRate' as const, value: 11.5, scored: 12, expected: 0 },
    { field: 'respirationRate' as const, value: 20.4, scored: 20, expected: 0 },
    { field: 'respirationRate' as const, value: 20.5, scored: 21, expected: 2 },
    { field: 'respirationRate' as const, value: 24.5, scored: 25, expected: 3 },
    { field: 'spo2' as const, value: 91.4, scored: 91, expected: 3 },
    { field: 'spo2' as const, value: 91.5, scored: 92, expected: 2 },
    { field: 'spo2' as const, value: 95.4, scored: 95, expected: 1 },
    { field: 'spo2' as const, value: 95.5, scored: 96, expected: 0 },
    { field: 'systolicBp' as const, value: 90.4, scored: 90, expected: 3 },
    { field: 'systolicBp' as const, value: 90.5, scored: 91, expected: 2 },
    { field: 'systolicBp' as const, value: 110.5, scored: 111, expected: 0 },
    { field: 'systolicBp' as const, value: 219.4, scored: 219, expected: 0 },
    { field: 'systolicBp' as const, value: 219.5, scored: 220, expected: 3 },
    { field: 'pulse' as const, value: 40.4, scored: 40, expected: 3 },
    { field: 'pulse' as const, value: 40.5, scored: 41, expected: 1 },
    { field: 'pulse' as const, value: 90.4, scored: 90, expected: 0 },
    { field: 'pulse' as const, value: 90.5, scored: 91, expected: 1 },
    { field: 'pulse' as const, value: 130.5, scored: 131, expected: 3 },
    { field: 'temperature' as const, value: 35.04, scored: 35, expected: 3 },
    { field: 'temperature' as const, value: 35.05, scored: 35.1, expected: 1 },
    { field: 'temperature' as const, value: 36.04, scored: 36, expected: 1 },
    { field: 'temperature' as const, value: 36.05, scored: 36.1, expected: 0 },
    { field: 'temperature' as const, value: 38.04, scored: 38, expected: 0 },
    { field: 'temperature' as const, value: 38.05, scored: 38.1, expected: 1 },
    { field: 'temperature' as const, value: 39.04, scored: 39, expected: 1 },
    { field: 'temperature' as const, value: 39.05, scored: 39.1, expected: 2 },
    { field: 'temperature' as const, value: 38.333_333, scored: 38.3, expected: 1 },
    // (95.63 °F − 32) × 5/9 is 35.349999999999994 in binary: binary noise does not defeat rounding half up.
    { field: 'temperature' as const, value: ((95.63 - 32) * 5) / 9, scored: 35.4, expected: 1 },
  ])('$field $value is scored as $scored and scores $expected', ({ field, value, scored, expected }) => {
    const result = score({ [field]: value });

    expect(result.vitals[field]).toBe(scored);
    expectOnly(result, field, expected);
  });

  it.each([
    { value: 92.5, oxygen: false, expected: 0 },
    { value: 92.5, oxygen: true, expected: 1 },
    { value: 87.5, oxygen: true, expected: 0 },
    { value: 96.5, oxygen: true, expected: 3 },
  ])('scale 2 SpO2 $value (oxygen: $oxygen) scores $expected', ({ value, oxygen, expected }) => {
    expect(score({ spo2: value, spo2Scale: 2, onOxygen: oxygen }).parameters.spo2).toBe(expected);
  });
});

describe('aggregate and clinical risk band', () => {
  it.each([
    { title: 'all normal: 0 → low', changes: {}, total: 0, band: 'low', red: false },
    { title: 'one 1 (pulse 95) → low', changes: { pulse: 95 }, total: 1, band: 'low', red: false },
    {
      title: 'total 4 without a 3 (RR 22 = 2, oxygen = 2) → low',
      changes: { respirationRate: 22, onOxygen: true },
      total: 4,
      band: 'low',
      red: false,
    },
    {
      title: 'only consciousness V (3) → low-medium',
      changes: { consciousness: 'V' },
      total: 3,
      band: 'low-medium',
      red: true,
    },
    {
      title: 'only RR 25 (3) → low-medium',
      changes: { respirationRate: 25 },
      total: 3,
      band: 'low-medium',
      red: true,
    },
    {
      title: 'new confusion (3) + temperature 38.5 (1) = 4 → low-medium',
      changes: { consciousness: 'C', temperature: 38.5 },
      total: 4,
      band: 'low-medium',
      red: true,
    },
    {
      title: 'systolic 85 (3) + pulse 45 (1) = 4 → low-medium',
      changes: { systolicBp: 85, pulse: 45 },
      total: 4,
      band: 'low-medium',
      red: true,
    },
    {
      title: 'RR 22 (2) + SpO2 93 (2) + temperature 38.5 (1) = 5 → medium',
      changes: { respirationRate: 22, spo2: 93, temperature: 38.5 },
      total: 5,
      band: 'medium',
      red: false,
    },
    {
      title: 'pulse 140 (3) + systolic 95 (2) = 5 with a red score → medium, not low-medium',
      changes: { pulse: 140, systolicBp: 95 },
      total: 5,
      band: 'medium',
      red: true,
    },
    {
      title: 'RR 22 (2) + oxygen (2) + pulse 115 (2) = 6 → medium',
      changes: { respirationRate: 22, onOxygen: true, pulse: 115 },
      total: 6,
      band: 'medium',
      red: false,
    },
    {
      title: 'RR 22 (2) + oxygen (2) + pulse 115 (2) + temperature 38.5 (1) = 7 → high',
      changes: { respirationRate: 22, onOxygen: true, pulse: 115, temperature: 38.5 },
      total: 7,
      band: 'high',
      red: false,
    },
    {
      title: 'consciousness U (3) + systolic 85 (3) + pulse 120 (2) = 8 → high',
      changes: { consciousness: 'U', systolicBp: 85, pulse: 120 },
      total: 8,
      band: 'high',
      red: true,
    },
    {
      title: 'every parameter at its worst = 20 → high',
      changes: {
        respirationRate: 30,
        spo2: 85,
        onOxygen: true,
        systolicBp: 80,
        pulse: 150,
        consciousness: 'U',
        temperature: 34,
      },
      total: 20,
      band: 'high',
      red: true,
    },
  ] satisfies { title: string; changes: Partial<Vitals>; total: number; band: string; red: boolean }[])(
    '$title',
    ({ changes, total, band, red }) => {
      const result = score(changes);

      expect(result.total).toBe(total);
      expect(result.band).toBe(band);
      expect(result.redScore).toBe(red);
      expect(Object.values(result.parameters).reduce((a, b) => a + b, 0)).toBe(total);
    },
  );
});

describe('worked examples (totals computed by hand)', () => {
  it.each([
    {
      title: 'community-acquired pneumonia: RR 24, SpO2 93 on oxygen, BP 105, pulse 112, Alert, 38.6 °C → 10, high',
      vitals: {
        respirationRate: 24,
        spo2: 93,
        onOxygen: true,
        systolicBp: 105,
        pulse: 112,
        consciousness: 'A',
        temperature: 38.6,
      },
      // RR 24 → 2, SpO2 93 (scale 1) → 2, oxygen → 2, BP 105 → 1, pulse 112 → 2, A → 0, 38.6 → 1
      parameters: {
        respirationRate: 2,
        spo2: 2,
        onOxygen: 2,
        systolicBp: 1,
        pulse: 2,
        consciousness: 0,
        temperature: 1,
      },
      total: 10,
      band: 'high',
    },
    {
      title: 'COPD on scale 2: RR 20, SpO2 90 on oxygen, BP 130, pulse 88, Alert, 36.9 °C → 2, low',
      vitals: {
        respirationRate: 20,
        spo2: 90,
        spo2Scale: 2,
        onOxygen: true,
        systolicBp: 130,
        pulse: 88,
        consciousness: 'A',
        temperature: 36.9,
      },
      // RR 20 → 0, SpO2 90 (scale 2, in target 88–92) → 0, oxygen → 2, rest 0
      parameters: {
        respirationRate: 0,
        spo2: 0,
        onOxygen: 2,
        systolicBp: 0,
        pulse: 0,
        consciousness: 0,
        temperature: 0,
      },
      total: 2,
      band: 'low',
    },
    {
      title:
        'COPD over-oxygenated: RR 18, SpO2 98 on oxygen (scale 2), BP 125, pulse 80, new confusion, 37.2 °C → 8, high',
      vitals: {
        respirationRate: 18,
        spo2: 98,
        spo2Scale: 2,
        onOxygen: true,
        systolicBp: 125,
        pulse: 80,
        consciousness: 'C',
        temperature: 37.2,
      },
      // SpO2 98 on oxygen (scale 2) → 3, oxygen → 2, new confusion → 3
      parameters: {
        respirationRate: 0,
        spo2: 3,
        onOxygen: 2,
        systolicBp: 0,
        pulse: 0,
        consciousness: 3,
        temperature: 0,
      },
      total: 8,
      band: 'high',
    },
    {
      title: 'post-operative: RR 10, SpO2 95 on air, BP 112, pulse 52, responds to Voice, 35.6 °C → 6, medium',
      vitals: {
        respirationRate: 10,
        spo2: 95,
        onOxygen: false,
        systolicBp: 112,
        pulse: 52,
        consciousness: 'V',
        temperature: 35.6,
      },
      // RR 10 → 1, SpO2 95 → 1, air → 0, BP 112 → 0, pulse 52 → 0, V → 3, 35.6 → 1
      parameters: {
        respirationRate: 1,
        spo2: 1,
        onOxygen: 0,
        systolicBp: 0,
        pulse: 0,
        consciousness: 3,
        temperature: 1,
      },
      total: 6,
      band: 'medium',
    },
    {
      title: 'mild fever: RR 19, SpO2 96 on air, BP 118, pulse 92, Alert, 38.2 °C → 2, low',
      vitals: {
        respirationRate: 19,
        spo2: 96,
        onOxygen: false,
        systolicBp: 118,
        pulse: 92,
        consciousness: 'A',
        temperature: 38.2,
      },
      // pulse 92 → 1, 38.2 → 1
      parameters: {
        respirationRate: 0,
        spo2: 0,
        onOxygen: 0,
        systolicBp: 0,
        pulse: 1,
        consciousness: 0,
        temperature: 1,
      },
      total: 2,
      band: 'low',
    },
    {
      title: 'septic shock: RR 28, SpO2 89 on oxygen, BP 82, pulse 135, Pain, 39.4 °C → 19, high',
      vitals: {
        respirationRate: 28,
        spo2: 89,
        onOxygen: true,
        systolicBp: 82,
        pulse: 135,
        consciousness: 'P',
        temperature: 39.4,
      },
      // RR 28 → 3, SpO2 89 → 3, oxygen → 2, BP 82 → 3, pulse 135 → 3, P → 3, 39.4 → 2
      parameters: {
        respirationRate: 3,
        spo2: 3,
        onOxygen: 2,
        systolicBp: 3,
        pulse: 3,
        consciousness: 3,
        temperature: 2,
      },
      total: 19,
      band: 'high',
    },
    {
      title: 'hypothermic elderly: RR 12, SpO2 94 on air, BP 100, pulse 50, Alert, 35.0 °C → 7, high',
      vitals: {
        respirationRate: 12,
        spo2: 94,
        onOxygen: false,
        systolicBp: 100,
        pulse: 50,
        consciousness: 'A',
        temperature: 35.0,
      },
      // RR 12 → 0, SpO2 94 → 1, BP 100 → 2, pulse 50 → 1, 35.0 → 3
      parameters: {
        respirationRate: 0,
        spo2: 1,
        onOxygen: 0,
        systolicBp: 2,
        pulse: 1,
        consciousness: 0,
        temperature: 3,
      },
      total: 7,
      band: 'high',
    },
  ] satisfies { title: string; vitals: Vitals; parameters: News2Score['parameters']; total: number; band: string }[])(
    '$title',
    ({ vitals, parameters, total, band }) => {
      const result = scoreNews2(vitals);

      expect(result.parameters).toEqual(parameters);
      expect(result.total).toBe(total);
      expect(result.band).toBe(band);
    },
  );
});

const WITHOUT = (field: keyof Vitals): Record<string, unknown> => {
  const copy: Record<string, unknown> = { ...NORMAL };
  delete copy[field];
  return copy;
};

describe('validation: invalid vitals throw invalid_vitals naming the field, never a score', () => {
  it('uses the stable code invalid_vitals', () => {
    expect(ErrorCode.InvalidVitals).toBe('invalid_vitals');
  });

  it.each([
    // Missing fields.
    ['respirationRate missing', WITHOUT('respirationRate'), 'respirationRate: required'],
    ['spo2 missing', WITHOUT('spo2'), 'spo2: required'],
    ['onOxygen missing', WITHOUT('onOxygen'), 'onOxygen: required'],
    ['systolicBp missing', WITHOUT('systolicBp'), 'systolicBp: required'],
    ['pulse missing', WITHOUT('pulse'), 'pulse: required'],
    ['consciousness missing', WITHOUT('consciousness'), 'consciousness: required'],
    ['temperature missing', WITHOUT('temperature'), 'temperature: required'],
    ['respirationRate undefined', { ...NORMAL, respirationRate: undefined }, 'respirationRate: required'],
    // Wrong types.
    ['respirationRate as a string', { ...NORMAL, respirationRate: '18' }, 'respirationRate: expected a finite number'],
    ['spo2 null', { ...NORMAL, spo2: null }, 'spo2: expected a finite number, received null'],
    ['systolicBp as a boolean', { ...NORMAL, systolicBp: true }, 'systolicBp: expected a finite number'],
    ['pulse as an array', { ...NORMAL, pulse: [72] }, 'pulse: expected a finite number, received an array'],
    ['temperature as an object', { ...NORMAL, temperature: { c: 37 } }, 'temperature: expected a finite number'],
    ['onOxygen as a string', { ...NORMAL, onOxygen: 'true' }, 'onOxygen: expected true or false'],
    ['onOxygen as a number', { ...NORMAL, onOxygen: 1 }, 'onOxygen: expected true or false, received a number'],
    ['onOxygen null', { ...NORMAL, onOxygen: null }, 'onOxygen: expected true or false, received null'],
    ['consciousness lower case', { ...NORMAL, consciousness: 'a' }, 'consciousness: expected one of'],
    ['consciousness spelt out', { ...NORMAL, consciousness: 'Alert' }, 'consciousness: expected one of'],
    ['consciousness unknown letter', { ...NORMAL, consciousness: 'X' }, 'consciousness: expected one of'],
    ['consciousness as a number', { ...NORMAL, consciousness: 0 }, 'consciousness: expected one of'],
    ['spo2Scale 3', { ...NORMAL, spo2Scale: 3 }, 'spo2Scale: expected 1 or 2'],
    ['spo2Scale 0', { ...NORMAL, spo2Scale: 0 }, 'spo2Scale: expected 1 or 2'],
    ['spo2Scale as a string', { ...NORMAL, spo2Scale: '2' }, 'spo2Scale: expected 1 or 2, received a string'],
    ['spo2Scale null', { ...NORMAL, spo2Scale: null }, 'spo2Scale: expected 1 or 2, received null'],
    // Not finite.
    ['respirationRate NaN', { ...NORMAL, respirationRate: Number.NaN }, 'respirationRate: expected a finite number'],
    ['spo2 NaN', { ...NORMAL, spo2: Number.NaN }, 'spo2: expected a finite number, received a non-finite'],
    ['systolicBp Infinity', { ...NORMAL, systolicBp: Number.POSITIVE_INFINITY }, 'systolicBp: expected a finite'],
    ['pulse -Infinity', { ...NORMAL, pulse: Number.NEGATIVE_INFINITY }, 'pulse: expected a finite number'],
    ['temperature NaN', { ...NORMAL, temperature: Number.NaN }, 'temperature: expected a finite number'],
    ['temperature Infinity', { ...NORMAL, temperature: Number.POSITIVE_INFINITY }, 'temperature: expected a finite'],
    // Physiologically impossible.
    ['respirationRate -1', { ...NORMAL, respirationRate: -1 }, 'respirationRate: below the plausible range'],
    ['respirationRate 81', { ...NORMAL, respirationRate: 81 }, 'respirationRate: above the plausible range'],
    ['spo2 -1', { ...NORMAL, spo2: -1 }, 'spo2: below the plausible range 0-100 %'],
    ['spo2 101', { ...NORMAL, spo2: 101 }, 'spo2: above the plausible range 0-100 %'],
    ['spo2 100.4 (checked before rounding)', { ...NORMAL, spo2: 100.4 }, 'spo2: above'],
    ['systolicBp -5', { ...NORMAL, systolicBp: -5 }, 'systolicBp: below the plausible range 0-350 mmHg'],
    ['systolicBp 351', { ...NORMAL, systolicBp: 351 }, 'systolicBp: above the plausible range 0-350'],
    ['pulse -1', { ...NORMAL, pulse: -1 }, 'pulse: below the plausible range 0-350 beats/min'],
    ['pulse 351', { ...NORMAL, pulse: 351 }, 'pulse: above the plausible range 0-350 beats/min'],
    ['temperature 24.9', { ...NORMAL, temperature: 24.9 }, 'temperature: below the plausible range 25-45'],
    ['temperature 45.1', { ...NORMAL, temperature: 45.1 }, 'temperature: above the plausible range 25-45'],
    ['temperature in Fahrenheit (98.6)', { ...NORMAL, temperature: 98.6 }, 'temperature: above'],
    ['temperature in kelvin (310)', { ...NORMAL, temperature: 310 }, 'temperature: above'],
    // Unknown fields (a misspelt spo2Scale must not silently fall back to scale 1).
    ['misspelt spo2scale', { ...NORMAL, spo2scale: 2 }, '1 unknown field (allowed: respirationRate, spo2, spo2Scale,'],
    ['two unknown fields', { ...NORMAL, heartRate: 70, patientId: 'p1' }, '2 unknown fields (allowed: '],
    // Not an object.
    ['null', null, 'expected an object, received null'],
    ['undefined', undefined, 'expected an object, received nothing'],
    ['a string', 'RR 18', 'expected an object, received a string'],
    ['a number', 42, 'expected an object, received a number'],
    ['an array', [NORMAL], 'expected an object, received an array'],
  ])('rejects %s', (_title, input, message) => {
    const error = rejection(input);

    expect(error.code).toBe('invalid_vitals');
    expect(isWardcastError(error, ErrorCode.InvalidVitals)).toBe(true);
    expect(error.message).toMatch(/^invalid vitals: /);
    expect(error.message).toContain(message);
  });

  it('never repeats a submitted value or an unknown field name in the message', () => {
    const error = rejection({ ...NORMAL, pulse: 'Jane Doe', temperature: 98.6, JaneDoeMRN: 1 });

    expect(error.message).not.toMatch(/Jane|Doe|98\.6/);
    expect(error.message).toContain('pulse: expected a finite number, received a string');
  });

  it('lists every invalid field in one message', () => {
    const error = rejection({ ...WITHOUT('pulse'), respirationRate: 'fast', temperature: 98.6 });

    expect(error.message).toContain('respirationRate: expected a finite number, received a string');
    expect(error.message).toContain('pulse: required');
    expect(error.message).toContain('temperature: above the plausible range 25-45 °C');
  });

  it('throws from scoreNews2 too (callers without type checking)', () => {
    expect(() => scoreNews2({ ...NORMAL, pulse: Number.NaN })).toThrow(WardcastError);
    expect(() => scoreNews2({ ...NORMAL, consciousness: 'Z' } as unknown as Vitals)).toThrow(/consciousness/);
  });

  it.each([
    { field: 'respirationRate' as const },
    { field: 'spo2' as const },
    { field: 'systolicBp' as const },
    { field: 'pulse' as const },
    { field: 'temperature' as const },
  ])('accepts $field at both ends of its plausible range', ({ field }) => {
    const { min, max } = VITALS_RANGES[field];

    expect(() => score({ [field]: min })).not.toThrow();
    expect(() => score({ [field]: max })).not.toThrow();
  });

  it('exposes a zod schema that agrees with the scorer', () => {
    expect(vitalsSchema.safeParse(NORMAL).success).toBe(true);
    expect(vitalsSchema.safeParse({ ...NORMAL, spo2Scale: 2 }).success).toBe(true);
    expect(vitalsSchema.safeParse({ ...NORMAL, pulse: Number.NaN }).success).toBe(false);
    expect(vitalsSchema.safeParse({ ...NORMAL, extra: 1 }).success).toBe(false);
  });
});
