import { isWardcastError, type PayloadSchema, type PublishInput, WardcastError } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { TestClient } from './helpers/client.js';
import { type Fixture, useHarness } from './helpers/harness.js';

const harness = useHarness();

const TOPIC = 'user:alice';

/** A hub with `alice` subscribed to her own topic. */
async function setup(): Promise<{ fx: Fixture; alice: TestClient }> {
  const fx = await harness.start();
  const alice = await harness.subscriber(fx, 'alice', [TOPIC]);
  return { fx, alice };
}

/** Resolves with the error `promise` rejected with; fails the test if it resolved. */
async function rejection(promise: Promise<unknown>): Promise<WardcastError> {
  try {
    await promise;
  } catch (error) {
    if (!isWardcastError(error)) throw error;
    return error;
  }
  throw new Error('expected the promise to reject');
}

/**
 * A publish input as a JavaScript caller, or one with `kind` typed as `string`, passes it: the
 * compiler checks no payload, so the runtime checks are what these tests exercise.
 */
const untyped = (input: PublishInput): PublishInput => input;

/**
 * Proves a rejected publish left no trace: the next valid notification on the topic is seq 1,
 * and it is the only one `client` received.
 */
async function expectNothingStored(fx: Fixture, client: TestClient): Promise<void> {
  expect(fx.hub.stats().published).toBe(0);
  const next = await fx.hub.publish(TOPIC, { kind: 'custom', id: 'next-valid' });
  const frame = await client.notification('next-valid');

  expect(next.seq).toBe(1);
  expect(frame.seq).toBe(1);
  expect(client.framesOf('notification').map((n) => n.id)).toEqual(['next-valid']);
}

const DATE = '2026-12-01T09:30:00+01:00';

/** Valid payloads of every built-in kind: with every field, and with the required ones only. */
const VALID: [string, string, Record<string, unknown>][] = [
  [
    'appointment',
    'every field',
    { appointmentId: 'apt-9', status: 'rescheduled', startsAt: DATE, location: 'Clinic B', message: 'Bring your card' },
  ],
  ['appointment', 'required fields only', { appointmentId: 'apt-9', status: 'checked_in', startsAt: DATE }],
  [
    'lab_result',
    'every field',
    {
      labOrderId: 'L-778',
      testName: 'Potassium',
      testCode: '2823-3',
      status: 'corrected',
      abnormal: true,
      critical: true,
      resultAt: '2026-11-23T06:50:41Z',
      value: '6.4',
      unit: 'mmol/L',
      referenceRange: '3.5-5.1',
    },
  ],
  [
    'lab_result',
    'required fields only',
    {
      labOrderId: 'L-778',
      testName: 'Potassium',
      status: 'preliminary',
      abnormal: false,
      critical: false,
      resultAt: '2026-11-23T06:50:41Z',
    },
  ],
  [
    'ai_analysis',
    'every field',
    { analysisId: 'an-1', analysisType: 'ecg', status: 'completed', summary: 'Sinus rhythm' },
  ],
  ['ai_analysis', 'required fields only', { analysisId: 'an-1', analysisType: 'ecg', status: 'queued' }],
  [
    'diagnosis_update',
    'every field',
    {
      assessmentId: 'as-1',
      patientId: 'p9',
      status: 'final',
      summary: 'Suspected sepsis',
      differential: [
        { condition: 'Sepsis', likelihood: 0.62 },
        { condition: 'Pneumonia', likelihood: 0 },
        { condition: 'UTI', likelihood: 1 },
      ],
      riskScore: 7,
      model: { name: 'local-template', version: '1' },
      reviewedBy: 'dr-lee',
    },
  ],
  [
    'diagnosis_update',
    'required fields only',
    {
      assessmentId: 'as-1',
      patientId: 'p9',
      status: 'preliminary',
      summary: '',
      differential: [],
      riskScore: -1.5,
      model: { name: 'm', version: 'v' },
    },
  ],
  [
    'assessment_progress',
    'every field',
    { assessmentId: 'as-1', stage: 'synthesis', percent: 100, partialText: 'Reviewing vitals' },
  ],
  ['assessment_progress', 'required fields only', { assessmentId: 'as-1', stage: 'queued' }],
  ['system_alert', 'every field', { severity: 'critical', message: 'EHR down', until: '2026-11-23T23:00:00.000Z' }],
  ['system_alert', 'required fields only', { severity: 'info', message: 'Maintenance tonight' }],
];

const appointment = { appointmentId: 'a1', status: 'scheduled', startsAt: DATE };
const lab = {
  labOrderId: 'L1',
  testName: 'K',
  status: 'final',
  abnormal: false,
  critical: false,
  resultAt: '2026-11-23T06:50:41Z',
};
const diagnosis = {
  assessmentId: 'as-1',
  patientId: 'p9',
  status: 'preliminary',
  summary: 's',
  differential: [{ condition: 'c', likelihood: 0.5 }],
  riskScore: 3,
  model: { name: 'm', version: '1' },
};
const progress = { assessmentId: 'as-1', stage: 'scoring' };
const alert = { severity: 'warning', message: 'm' };
const analysis = { analysisId: 'an-1', analysisType: 'ecg', status: 'running' };

/** [kind, what is wrong, payload, the field path the message must name] */
const INVALID: [string, string, unknown, string][] = [
  ['appointment', 'a missing appointmentId', { status: 'scheduled', startsAt: DATE }, 'appointmentId'],
  ['appointment', 'a status outside the enum', { ...appointment, status: 'postponed' }, 'status'],
  ['appointment', 'a date without a time', { ...appointment, startsAt: '2026-12-01' }, 'startsAt'],
  ['appointment', 'a date without an offset', { ...appointment, startsAt: '2026-12-01T09:30:00' }, 'startsAt'],
  ['appointment', 'a location that is a number', { ...appointment, location: 12 }, 'location'],
  ['lab_result', 'a missing testName', { ...lab, testName: undefined }, 'testName'],
  ['lab_result', 'a status outside the enum', { ...lab, status: 'pending' }, 'status'],
  ['lab_result', 'an abnormal flag that is a string', { ...lab, abnormal: 'yes' }, 'abnormal'],
  ['lab_result', 'a resultAt that is not a date', { ...lab, resultAt: 'this morning' }, 'resultAt'],
  ['ai_analysis', 'a missing analysisId', { analysisType: 'ecg', status: 'queued' }, 'analysisId'],
  ['ai_analysis', 'a status outside the enum', { ...analysis, status: 'done' }, 'status'],
  ['ai_analysis', 'a summary that is an object', { ...analysis, summary: { text: 'x' } }, 'summary'],
  [
    'diagnosis_update',
    'a likelihood above 1',
    { ...diagnosis, differential: [{ condition: 'c', likelihood: 1.2 }] },
    'differential[0].likelihood',
  ],
  [
    'diagnosis_update',
    'a negative likelihood in the second entry',
    {
      ...diagnosis,
      differential: [
        { condition: 'c', likelihood: 0.2 },
        { condition: 'd', likelihood: -0.2 },
      ],
    },
    'differential[1].likelihood',
  ],
  ['diagnosis_update', 'a status outside the enum', { ...diagnosis, status: 'confirmed' }, 'status'],
  ['diagnosis_update', 'a riskScore that is a string', { ...diagnosis, riskScore: 'high' }, 'riskScore'],
  ['diagnosis_update', 'a model without a version', { ...diagnosis, model: { name: 'm' } }, 'model.version'],
  ['assessment_progress', 'a percent above 100', { ...progress, percent: 101 }, 'percent'],
  ['assessment_progress', 'a negative percent', { ...progress, percent: -5 }, 'percent'],
  ['assessment_progress', 'a missing stage', { assessmentId: 'as-1' }, 'stage'],
  ['system_alert', 'a severity outside the enum', { ...alert, severity: 'fatal' }, 'severity'],
  ['system_alert', 'an until that is not ISO 8601', { ...alert, until: '23/11/2026' }, 'until'],
  ['system_alert', 'a missing message', { severity: 'info' }, 'message'],
];

describe('built-in kinds', () => {
  it.each(VALID)('accepts a valid %s payload (%s) and delivers it unchanged', async (kind, _what, payload) => {
    const { fx, alice } = await setup();

    const result = await fx.hub.publish(TOPIC, { kind, id: 'n1', payload });
    const frame = await alice.notification('n1');

    expect(result.seq).toBe(1);
    expect(frame.kind).toBe(kind);
    expect(frame.payload).toEqual(payload);
  });

  it.each(INVALID)(
    'rejects %s with %s as invalid_payload naming the field, storing nothing',
    async (kind, _what, payload, field) => {
      const { fx, alice } = await setup();

      const error = await rejection(fx.hub.publish(TOPIC, { kind, id: 'bad', payload }));

      expect(error).toBeInstanceOf(WardcastError);
      expect(error.code).toBe('invalid_payload');
      expect(error.message).toContain(`${kind} payload: ${field}: `);
      await expectNothingStored(fx, alice);
    },
  );

  it('rejects a built-in kind published without a payload', async () => {
    const { fx, alice } = await setup();

    const error = await rejection(fx.hub.publish(TOPIC, untyped({ kind: 'lab_result', id: 'bad' })));

    expect(error.code).toBe('invalid_payload');
    expect(error.message).toMatch(/^lab_result payload: /);
    await expectNothingStored(fx, alice);
  });

  it('describes what was expected and what was received', async () => {
    const { fx } = await setup();

    const missing = await rejection(
      fx.hub.publish(TOPIC, untyped({ kind: 'lab_result', payload: { ...lab, testName: undefined } })),
    );
    const wrongEnum = await rejection(
      fx.hub.publish(TOPIC, untyped({ kind: 'system_alert', payload: { ...alert, severity: 'x' } })),
    );
    const tooBig = await rejection(
      fx.hub.publish(TOPIC, untyped({ kind: 'assessment_progress', payload: { ...progress, percent: 250 } })),
    );

    expect(missing.message).toBe('lab_result payload: testName: expected string, received nothing');
    expect(wrongEnum.message).toBe('system_alert payload: severity: expected one of "info", "warning", "critical"');
    expect(tooBig.message).toBe('assessment_progress payload: percent: too big (maximum 100)');
  });

  it('never echoes the rejected value in the invalid_payload message', async () => {
    const { fx } = await setup();
    const secret = 'JANE-DOE-MRN-12345';

    const errors = [
      await rejection(
        fx.hub.publish(TOPIC, untyped({ kind: 'appointment', payload: { ...appointment, status: secret } })),
      ),
      await rejection(
        fx.hub.publish(TOPIC, untyped({ kind: 'appointment', payload: { ...appointment, startsAt: secret } })),
      ),
      await rejection(fx.hub.publish(TOPIC, untyped({ kind: 'lab_result', payload: { ...lab, abnormal: secret } }))),
      await rejection(
        fx.hub.publish(TOPIC, untyped({ kind: 'system_alert', payload: { ...alert, message: secret.repeat(200) } })),
      ),
    ];

    expect(errors.map((e) => e.code)).toEqual([
      'invalid_payload',
      'invalid_payload',
      'invalid_payload',
      'invalid_payload',
    ]);
    for (const e of errors) expect(e.message).not.toContain(secret);
  });

  it('drops fields a built-in schema does not declare before delivery', async () => {
    const { fx, alice } = await setup();

    await fx.hub.publish(
      TOPIC,
      untyped({
        kind: 'appointment',
        id: 'n1',
        payload: { ...appointment, patientName: 'UNDECLARED-Jane-Doe', ssn: '078-05-1120' },
      }),
    );
    const frame = await alice.notification('n1');

    expect(frame.payload).toEqual(appointment);
    expect(alice.raw.join('\n')).not.toContain('UNDECLARED-Jane-Doe');
    expect(alice.raw.join('\n')).not.toContain('078-05-1120');
  });

  it('drops undeclared fields of nested objects too', async () => {
    const { fx, alice } = await setup();

    await fx.hub.publish(
      TOPIC,
      untyped({
        kind: 'diagnosis_update',
        id: 'n1',
        payload: {
          ...diagnosis,
          differential: [{ condition: 'c', likelihood: 0.5, note: 'UNDECLARED-note' }],
          model: { name: 'm', version: '1', apiKey: 'UNDECLARED-key' },
        },
      }),
    );
    const frame = await alice.notification('n1');

    expect(frame.payload).toEqual(diagnosis);
    expect(alice.raw.join('\n')).not.toContain('UNDECLARED');
  });
});

describe('unknown and custom kinds', () => {
  it.each(['lab_results', 'appointments', 'acme.discharge', 'customs'])(
    'rejects the unknown kind %s with unknown_kind, storing nothing',
    async (kind) => {
      const { fx, alice } = await setup();

      const error = await rejection(fx.hub.publish(TOPIC, { kind, id: 'bad', payload: {} }));

      expect(error.code).toBe('unknown_kind');
      expect(error.message).toContain(`"${kind}"`);
      await expectNothingStored(fx, alice);
    },
  );

  it('rejects a kind that does not match the kind pattern with invalid_notification, not unknown_kind', async () => {
    const { fx } = await setup();

    const error = await rejection(fx.hub.publish(TOPIC, { kind: 'Lab_Result', payload: lab }));

    expect(error.code).toBe('invalid_notification');
  });

  it.each<[string, unknown]>([
    ['an object', { anything: ['goes', 1, true, null], nested: { deep: { deeper: 'yes' } } }],
    ['an array', [1, 'two', { three: 3 }]],
    ['a string', 'plain text'],
    ['a number', 42.5],
    ['a boolean', false],
    ['null', null],
  ])('accepts %s as a custom payload and delivers it verbatim', async (_what, payload) => {
    const { fx, alice } = await setup();

    await fx.hub.publish(TOPIC, { kind: 'custom', id: 'c1', payload });
    const frame = await alice.notification('c1');

    expect(frame.kind).toBe('custom');
    expect(frame.payload).toEqual(payload);
  });
});

const dischargeSchema = z.object({
  encounterId: z.string().min(1),
  status: z.enum(['planned', 'done']),
  note: z.string(),
});

describe('defineKind', () => {
  it('makes a namespaced kind publishable and delivers valid payloads', async () => {
    const { fx, alice } = await setup();
    fx.hub.defineKind('acme.discharge', { schema: dischargeSchema, idOnlyFields: ['encounterId', 'status'] });

    await fx.hub.publish(TOPIC, {
      kind: 'acme.discharge',
      id: 'd1',
      payload: { encounterId: 'e1', status: 'done', note: 'Home' },
    });
    const frame = await alice.notification('d1');

    expect(frame.kind).toBe('acme.discharge');
    expect(frame.payload).toEqual({ encounterId: 'e1', status: 'done', note: 'Home' });
  });

  it('rejects a payload that fails the defined schema with invalid_payload naming the field', async () => {
    const { fx, alice } = await setup();
    fx.hub.defineKind('acme.discharge', { schema: dischargeSchema });

    const error = await rejection(
      fx.hub.publish(TOPIC, { kind: 'acme.discharge', payload: { encounterId: 'e1', status: 'gone', note: 'x' } }),
    );

    expect(error.code).toBe('invalid_payload');
    expect(error.message).toContain('acme.discharge payload: status: ');
    await expectNothingStored(fx, alice);
  });

  it('accepts a kind namespaced with a colon', async () => {
    const { fx, alice } = await setup();
    fx.hub.defineKind('lab:panel', { schema: z.object({ panelId: z.string() }) });

    await fx.hub.publish(TOPIC, { kind: 'lab:panel', id: 'p1', payload: { panelId: 'BMP' } });

    expect((await alice.notification('p1')).payload).toEqual({ panelId: 'BMP' });
  });

  it.each([
    'discharge',
    'lab_result',
    'custom',
    'Acme.discharge',
    '.discharge',
    'acme.',
    'acme discharge',
    '1acme.discharge',
    `acme.${'x'.repeat(60)}`,
  ])('throws invalid_option for the name %j', async (name) => {
    const fx = await harness.start();

    let thrown: unknown;
    try {
      fx.hub.defineKind(name, { schema: dischargeSchema });
    } catch (error) {
      thrown = error;
    }

    expect(thrown).toBeInstanceOf(WardcastError);
    expect((thrown as WardcastError).code).toBe('invalid_option');
  });

  it('throws invalid_option when the kind is already defined, keeping the first definition', async () => {
    const { fx, alice } = await setup();
    fx.hub.defineKind('acme.discharge', { schema: dischargeSchema });

    expect(() => fx.hub.defineKind('acme.discharge', { schema: z.object({ other: z.string() }) })).toThrow(
      expect.objectContaining({ code: 'invalid_option' }),
    );
    await fx.hub.publish(TOPIC, {
      kind: 'acme.discharge',
      id: 'd1',
      payload: { encounterId: 'e1', status: 'planned', note: 'n' },
    });
    expect((await alice.notification('d1')).payload).toEqual({ encounterId: 'e1', status: 'planned', note: 'n' });
  });

  it('throws invalid_option for a schema without safeParse', async () => {
    const fx = await harness.start();

    expect(() => fx.hub.defineKind('acme.broken', { schema: {} as PayloadSchema })).toThrow(
      expect.objectContaining({ code: 'invalid_option' }),
    );
    await expect(fx.hub.publish(TOPIC, { kind: 'acme.broken', payload: {} })).rejects.toMatchObject({
      code: 'unknown_kind',
    });
  });

  it('drops payload fields the schema does not declare before delivery', async () => {
    const { fx, alice } = await setup();
    fx.hub.defineKind('acme.discharge', { schema: dischargeSchema });

    await fx.hub.publish(TOPIC, {
      kind: 'acme.discharge',
      id: 'd1',
      payload: { encounterId: 'e1', status: 'done', note: 'ok', diagnosis: 'UNDECLARED-HIV-positive' },
    });
    const frame = await alice.notification('d1');

    expect(frame.payload).toEqual({ encounterId: 'e1', status: 'done', note: 'ok' });
    expect(alice.raw.join('\n')).not.toContain('UNDECLARED-HIV-positive');
  });

  it("delivers the schema's parsed output, defaults and transforms applied", async () => {
    const { fx, alice } = await setup();
    fx.hub.defineKind('acme.triage', {
      schema: z.object({ level: z.number().int().min(1).max(5), unit: z.string().trim().default('ED') }),
    });

    await fx.hub.publish(TOPIC, { kind: 'acme.triage', id: 't1', payload: { level: 2 } });
    await fx.hub.publish(TOPIC, { kind: 'acme.triage', id: 't2', payload: { level: 3, unit: '  ICU  ' } });

    expect((await alice.notification('t1')).payload).toEqual({ level: 2, unit: 'ED' });
    expect((await alice.notification('t2')).payload).toEqual({ level: 3, unit: 'ICU' });
  });

  it('accepts a hand-written schema with safeParse', async () => {
    const { fx, alice } = await setup();
    const schema: PayloadSchema<{ code: string }> = {
      safeParse: (value) =>
        typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'string'
          ? { success: true, data: { code: (value as { code: string }).code } }
          : { success: false, error: { issues: [{ path: ['code'], message: 'code is required' }] } },
    };
    fx.hub.defineKind('acme.code', { schema });

    await fx.hub.publish(TOPIC, { kind: 'acme.code', id: 'k1', payload: { code: 'A1', extra: 1 } });
    const error = await rejection(fx.hub.publish(TOPIC, { kind: 'acme.code', payload: { nope: 1 } }));

    expect((await alice.notification('k1')).payload).toEqual({ code: 'A1' });
    expect(error.code).toBe('invalid_payload');
    expect(error.message).toBe('acme.code payload: code: code is required');
  });

  it('defines the kind on that hub only', async () => {
    const a = await harness.start();
    const b = await harness.start();
    a.hub.defineKind('acme.discharge', { schema: dischargeSchema });
    const input: PublishInput = { kind: 'acme.discharge', payload: { encounterId: 'e1', status: 'done', note: 'n' } };

    await expect(a.hub.publish(TOPIC, input)).resolves.toMatchObject({ seq: 1 });
    await expect(b.hub.publish(TOPIC, input)).rejects.toMatchObject({ code: 'unknown_kind' });
  });
});
