import { phiLevelSchema } from '@wardcast/protocol';
import {
  aiAnalysisPayloadSchema,
  appointmentPayloadSchema,
  assessmentProgressPayloadSchema,
  CLINICAL_KIND_SCHEMAS,
  type ClinicalKinds,
  diagnosisUpdatePayloadSchema,
  differentialEntrySchema,
  ID_ONLY_FIELDS,
  labResultPayloadSchema,
  systemAlertPayloadSchema,
} from '@wardcast/protocol/kinds';
import { describe, expect, it } from 'vitest';

type Kind = keyof ClinicalKinds;

interface SafeParser {
  safeParse(value: unknown): {
    success: boolean;
    data?: unknown;
    error?: { issues: readonly { path: PropertyKey[] }[] };
  };
}

/** The zod/mini internals these tests read: an object schema's shape and a field's definition. */
interface ZodInternals {
  readonly _zod: { readonly def: { readonly type: string; readonly shape?: Record<string, ZodInternals> } };
}

function shapeOf(schema: unknown): Record<string, ZodInternals> {
  const shape = (schema as ZodInternals)._zod.def.shape;
  if (shape === undefined) throw new Error('not an object schema');
  return shape;
}

function firstIssuePath(schema: SafeParser, value: unknown): string | undefined {
  const result = schema.safeParse(value);
  if (result.success) return undefined;
  return (result.error?.issues[0]?.path ?? []).map(String).join('.');
}

const KINDS = Object.keys(CLINICAL_KIND_SCHEMAS) as Kind[];

/** The examples from the TSDoc of `hub.notify.*`, `hub.publish` and docs/protocol.md. */
const DOCUMENTED_EXAMPLES: [string, SafeParser, unknown][] = [
  [
    'the appointment example of hub.notify.appointment',
    appointmentPayloadSchema,
    { appointmentId: 'apt-9', status: 'rescheduled', startsAt: '2026-12-01T09:30:00+01:00', location: 'Clinic B' },
  ],
  [
    'the appointment example of hub.publish',
    appointmentPayloadSchema,
    { appointmentId: 'a1', status: 'rescheduled', startsAt: '2026-12-01T09:00:00Z' },
  ],
  [
    'the lab result example of hub.notify.labResult',
    labResultPayloadSchema,
    {
      labOrderId: 'L-778',
      testName: 'Potassium',
      testCode: '2823-3',
      status: 'final',
      abnormal: true,
      critical: true,
      resultAt: new Date().toISOString(),
      value: '6.4',
      unit: 'mmol/L',
    },
  ],
  [
    'the lab result example of protocol.md',
    labResultPayloadSchema,
    {
      labOrderId: 'L1',
      testName: 'Potassium',
      status: 'final',
      abnormal: true,
      critical: true,
      resultAt: '2026-11-23T06:50:41Z',
      value: '6.8',
      unit: 'mmol/L',
    },
  ],
  [
    'the AI analysis example of hub.notify.aiAnalysis',
    aiAnalysisPayloadSchema,
    { analysisId: 'an-1', analysisType: 'ecg', status: 'completed' },
  ],
  [
    'the diagnosis example of hub.notify.diagnosis',
    diagnosisUpdatePayloadSchema,
    {
      assessmentId: 'as-1',
      patientId: 'p9',
      status: 'preliminary',
      summary: 'Suspected sepsis',
      differential: [{ condition: 'Sepsis', likelihood: 0.62 }],
      riskScore: 7,
      model: { name: 'local-template', version: '1' },
    },
  ],
  [
    'an assessment progress update with every field',
    assessmentProgressPayloadSchema,
    { assessmentId: 'as-1', stage: 'synthesis', percent: 40, partialText: 'Reviewing vital signs' },
  ],
  [
    'the system alert example of hub.notify.systemAlert',
    systemAlertPayloadSchema,
    { severity: 'warning', message: 'EHR maintenance at 22:00', until: '2026-11-23T23:00:00Z' },
  ],
];

const validDiagnosis = {
  assessmentId: 'as-1',
  patientId: 'p9',
  status: 'final',
  summary: 'Community-acquired pneumonia',
  differential: [{ condition: 'Pneumonia', likelihood: 0.7 }],
  riskScore: 5,
  model: { name: 'm', version: '1' },
};

/** [description, schema, payload, path of the first issue] */
const INVALID: [string, SafeParser, unknown, string][] = [
  [
    'an appointment without appointmentId',
    appointmentPayloadSchema,
    { status: 'scheduled', startsAt: '2026-12-01T09:00:00Z' },
    'appointmentId',
  ],
  [
    'an appointment with an empty appointmentId',
    appointmentPayloadSchema,
    { appointmentId: '', status: 'scheduled', startsAt: '2026-12-01T09:00:00Z' },
    'appointmentId',
  ],
  [
    'an appointment with a status outside the enum',
    appointmentPayloadSchema,
    { appointmentId: 'a1', status: 'postponed', startsAt: '2026-12-01T09:00:00Z' },
    'status',
  ],
  [
    'an appointment whose startsAt is a date without a time',
    appointmentPayloadSchema,
    { appointmentId: 'a1', status: 'scheduled', startsAt: '2026-12-01' },
    'startsAt',
  ],
  [
    'an appointment whose startsAt has no offset',
    appointmentPayloadSchema,
    { appointmentId: 'a1', status: 'scheduled', startsAt: '2026-12-01T09:00:00' },
    'startsAt',
  ],
  [
    'an appointment whose startsAt is a timestamp number',
    appointmentPayloadSchema,
    { appointmentId: 'a1', status: 'scheduled', startsAt: 1_795_416_728_116 },
    'startsAt',
  ],
  [
    'an appointment with a 129-character id',
    appointmentPayloadSchema,
    { appointmentId: 'x'.repeat(129), status: 'scheduled', startsAt: '2026-12-01T09:00:00Z' },
    'appointmentId',
  ],
  [
    'a lab result whose abnormal flag is a string',
    labResultPayloadSchema,
    {
      labOrderId: 'L1',
      testName: 'K',
      status: 'final',
      abnormal: 'yes',
      critical: false,
      resultAt: '2026-11-23T06:50:41Z',
    },
    'abnormal',
  ],
  [
    'a lab result without the critical flag',
    labResultPayloadSchema,
    { labOrderId: 'L1', testName: 'K', status: 'final', abnormal: false, resultAt: '2026-11-23T06:50:41Z' },
    'critical',
  ],
  [
    'a lab result with status pending',
    labResultPayloadSchema,
    {
      labOrderId: 'L1',
      testName: 'K',
      status: 'pending',
      abnormal: false,
      critical: false,
      resultAt: '2026-11-23T06:50:41Z',
    },
    'status',
  ],
  [
    'a lab result whose resultAt is not a date',
    labResultPayloadSchema,
    { labOrderId: 'L1', testName: 'K', status: 'final', abnormal: false, critical: false, resultAt: 'yesterday' },
    'resultAt',
  ],
  [
    'an AI analysis with status done',
    aiAnalysisPayloadSchema,
    { analysisId: 'an-1', analysisType: 'ecg', status: 'done' },
    'status',
  ],
  [
    'an AI analysis whose summary is a number',
    aiAnalysisPayloadSchema,
    { analysisId: 'an-1', analysisType: 'ecg', status: 'completed', summary: 42 },
    'summary',
  ],
  [
    'a diagnosis with a likelihood above 1',
    diagnosisUpdatePayloadSchema,
    { ...validDiagnosis, differential: [{ condition: 'Pneumonia', likelihood: 1.01 }] },
    'differential.0.likelihood',
  ],
  [
    'a diagnosis with a negative likelihood',
    diagnosisUpdatePayloadSchema,
    { ...validDiagnosis, differential: [{ condition: 'Pneumonia', likelihood: -0.01 }] },
    'differential.0.likelihood',
  ],
  [
    'a diagnosis with 21 differential entries',
    diagnosisUpdatePayloadSchema,
    { ...validDiagnosis, differential: Array.from({ length: 21 }, () => ({ condition: 'c', likelihood: 0.1 })) },
    'differential',
  ],
  [
    'a diagnosis whose model has no version',
    diagnosisUpdatePayloadSchema,
    { ...validDiagnosis, model: { name: 'm' } },
    'model.version',
  ],
  [
    'a diagnosis whose riskScore is a string',
    diagnosisUpdatePayloadSchema,
    { ...validDiagnosis, riskScore: '5' },
    'riskScore',
  ],
  [
    'a diagnosis with status confirmed',
    diagnosisUpdatePayloadSchema,
    { ...validDiagnosis, status: 'confirmed' },
    'status',
  ],
  [
    'a diagnosis whose summary is longer than 8000 characters',
    diagnosisUpdatePayloadSchema,
    { ...validDiagnosis, summary: 's'.repeat(8001) },
    'summary',
  ],
  [
    'an assessment progress above 100 percent',
    assessmentProgressPayloadSchema,
    { assessmentId: 'as-1', stage: 'x', percent: 100.5 },
    'percent',
  ],
  [
    'an assessment progress below 0 percent',
    assessmentProgressPayloadSchema,
    { assessmentId: 'as-1', stage: 'x', percent: -1 },
    'percent',
  ],
  [
    'an assessment progress without a stage',
    assessmentProgressPayloadSchema,
    { assessmentId: 'as-1', percent: 10 },
    'stage',
  ],
  ['a system alert with severity fatal', systemAlertPayloadSchema, { severity: 'fatal', message: 'down' }, 'severity'],
  [
    'a system alert whose until is not ISO 8601',
    systemAlertPayloadSchema,
    { severity: 'info', message: 'm', until: '23/11/2026 23:00' },
    'until',
  ],
  ['a differential entry without a condition', differentialEntrySchema, { likelihood: 0.5 }, 'condition'],
];

describe('clinical kind schemas', () => {
  it.each(DOCUMENTED_EXAMPLES)('accept %s', (_name, schema, payload) => {
    const result = schema.safeParse(payload);

    expect(result.success).toBe(true);
    expect(result.data).toEqual(payload);
  });

  it.each(INVALID)('reject %s, pointing at the field', (_name, schema, payload, path) => {
    expect(firstIssuePath(schema, payload)).toBe(path);
  });

  it.each([
    [0, true],
    [1, true],
    [0.5, true],
    [Number.NaN, false],
    [Number.POSITIVE_INFINITY, false],
  ])('treat likelihood %s as valid: %s', (likelihood, valid) => {
    expect(differentialEntrySchema.safeParse({ condition: 'c', likelihood }).success).toBe(valid);
  });

  it.each([
    [0, true],
    [100, true],
    [100.0001, false],
    [-0.0001, false],
  ])('treat percent %s as valid: %s', (percent, valid) => {
    expect(assessmentProgressPayloadSchema.safeParse({ assessmentId: 'a', stage: 's', percent }).success).toBe(valid);
  });

  it.each([
    ['2026-12-01T09:00:00Z', true],
    ['2026-12-01T09:00:00.123+05:30', true],
    ['2026-12-01T09:00:00-08:00', true],
    ['2026-12-01T09:00Z', false],
    ['2026-02-30T09:00:00Z', false],
    ['2026-12-01 09:00:00Z', false],
    ['', false],
  ])('treat the date %j as valid: %s', (startsAt, valid) => {
    expect(appointmentPayloadSchema.safeParse({ appointmentId: 'a', status: 'reminder', startsAt }).success).toBe(
      valid,
    );
  });

  it('strip fields a schema does not declare', () => {
    const result = appointmentPayloadSchema.safeParse({
      appointmentId: 'a1',
      status: 'confirmed',
      startsAt: '2026-12-01T09:00:00Z',
      patientName: 'Jane Doe',
    });

    expect(result.success && result.data).toEqual({
      appointmentId: 'a1',
      status: 'confirmed',
      startsAt: '2026-12-01T09:00:00Z',
    });
  });

  it('reject a payload that is not an object', () => {
    for (const schema of Object.values(CLINICAL_KIND_SCHEMAS)) {
      expect(schema.safeParse(null).success).toBe(false);
      expect(schema.safeParse('a string').success).toBe(false);
      expect(schema.safeParse([]).success).toBe(false);
    }
  });
});

describe('ID_ONLY_FIELDS', () => {
  it('has an entry for every built-in kind and for nothing else', () => {
    expect(Object.keys(ID_ONLY_FIELDS).sort()).toEqual([...KINDS].sort());
  });

  it.each(KINDS)('names only fields that exist in the %s schema', (kind) => {
    const shape = shapeOf(CLINICAL_KIND_SCHEMAS[kind]);
    const fields = ID_ONLY_FIELDS[kind] as readonly string[];

    expect(fields.length).toBeGreaterThan(0);
    for (const field of fields) expect(Object.keys(shape)).toContain(field);
  });

  it.each(KINDS)('names each %s field at most once', (kind) => {
    const fields = ID_ONLY_FIELDS[kind] as readonly string[];

    expect(new Set(fields).size).toBe(fields.length);
  });

  it.each(KINDS)(
    'keeps only required string or enum fields of %s (no dates, numbers, flags or nested data)',
    (kind) => {
      const shape = shapeOf(CLINICAL_KIND_SCHEMAS[kind]);

      for (const field of ID_ONLY_FIELDS[kind] as readonly string[]) {
        const def = shape[field];
        if (!def) throw new Error(`${kind}.${field} missing`);
        expect(def._zod.def.type, `${kind}.${field}`).toMatch(/^(string|enum)$/);
        // A datetime is a string schema with a format; none may be kept.
        expect((def._zod.def as { format?: string }).format).toBeUndefined();
      }
    },
  );

  it('keeps no date, free-text or value field of any kind', () => {
    const phiFields = [
      'startsAt',
      'location',
      'message',
      'testName',
      'testCode',
      'abnormal',
      'critical',
      'resultAt',
      'value',
      'unit',
      'referenceRange',
      'summary',
      'differential',
      'riskScore',
      'model',
      'reviewedBy',
      'percent',
      'partialText',
      'until',
    ];
    const kept = Object.values(ID_ONLY_FIELDS).flat() as string[];

    expect(kept.filter((f) => phiFields.includes(f))).toEqual([]);
  });

  it('reads the shape through def.shape as well as _zod.def.shape', () => {
    for (const schema of Object.values(CLINICAL_KIND_SCHEMAS)) {
      const viaDef = (schema as unknown as { def: { shape: object } }).def.shape;
      expect(Object.keys(viaDef)).toEqual(Object.keys(shapeOf(schema)));
    }
  });
});

describe('phiLevelSchema', () => {
  it.each(['full', 'id-only', 'empty'])('accepts %s', (level) => {
    expect(phiLevelSchema.safeParse(level).success).toBe(true);
  });

  it.each(['FULL', 'id_only', 'idonly', 'none', '', null, undefined, 1])('rejects %j', (level) => {
    expect(phiLevelSchema.safeParse(level).success).toBe(false);
  });
});
