import type { Priority } from '@wardcast/protocol';
import type {
  AiAnalysisPayload,
  AppointmentPayload,
  DiagnosisUpdatePayload,
  LabResultPayload,
  SystemAlertPayload,
} from '@wardcast/protocol/kinds';
import { isWardcastError, type NotificationHub, type NotifyResult } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { useHarness } from './helpers/harness.js';

const harness = useHarness();

const appointment = (status: AppointmentPayload['status']): AppointmentPayload => ({
  appointmentId: 'apt-9',
  status,
  startsAt: '2026-12-01T09:30:00+01:00',
  location: 'Clinic B',
});

const lab = (flags: { abnormal: boolean; critical: boolean }): LabResultPayload => ({
  labOrderId: 'L-778',
  testName: 'Potassium',
  testCode: '2823-3',
  status: 'final',
  resultAt: '2026-11-23T06:50:41Z',
  value: '6.4',
  unit: 'mmol/L',
  ...flags,
});

const analysis = (status: AiAnalysisPayload['status']): AiAnalysisPayload => ({
  analysisId: 'an-1',
  analysisType: 'ecg',
  status,
});

const diagnosis = (status: DiagnosisUpdatePayload['status']): DiagnosisUpdatePayload => ({
  assessmentId: 'as-1',
  patientId: 'p9',
  status,
  summary: 'Suspected sepsis',
  differential: [{ condition: 'Sepsis', likelihood: 0.62 }],
  riskScore: 7,
  model: { name: 'local-template', version: '1' },
});

const alert = (severity: SystemAlertPayload['severity']): SystemAlertPayload => ({
  severity,
  message: 'EHR maintenance at 22:00',
});

type Call = (hub: NotificationHub) => Promise<NotifyResult>;

/** [what, call, topic, kind, default priority] */
const CASES: [string, Call, string, string, Priority][] = [
  [
    'a scheduled appointment',
    (h) => h.notify.appointment('pat-42', appointment('scheduled')),
    'user:pat-42',
    'appointment',
    'routine',
  ],
  [
    'a confirmed appointment',
    (h) => h.notify.appointment('pat-42', appointment('confirmed')),
    'user:pat-42',
    'appointment',
    'routine',
  ],
  [
    'an appointment reminder',
    (h) => h.notify.appointment('pat-42', appointment('reminder')),
    'user:pat-42',
    'appointment',
    'routine',
  ],
  [
    'a check-in',
    (h) => h.notify.appointment('pat-42', appointment('checked_in')),
    'user:pat-42',
    'appointment',
    'routine',
  ],
  [
    'a cancelled appointment',
    (h) => h.notify.appointment('pat-42', appointment('cancelled')),
    'user:pat-42',
    'appointment',
    'urgent',
  ],
  [
    'a rescheduled appointment',
    (h) => h.notify.appointment('pat-42', appointment('rescheduled')),
    'user:pat-42',
    'appointment',
    'urgent',
  ],
  [
    'a normal lab result',
    (h) => h.notify.labResult('dr-lee', lab({ abnormal: false, critical: false })),
    'user:dr-lee',
    'lab_result',
    'routine',
  ],
  [
    'an abnormal lab result',
    (h) => h.notify.labResult('dr-lee', lab({ abnormal: true, critical: false })),
    'user:dr-lee',
    'lab_result',
    'urgent',
  ],
  [
    'a critical abnormal lab result',
    (h) => h.notify.labResult('dr-lee', lab({ abnormal: true, critical: true })),
    'user:dr-lee',
    'lab_result',
    'critical',
  ],
  [
    'a lab result flagged critical only',
    (h) => h.notify.labResult('dr-lee', lab({ abnormal: false, critical: true })),
    'user:dr-lee',
    'lab_result',
    'critical',
  ],
  [
    'a queued AI analysis',
    (h) => h.notify.aiAnalysis('dr-lee', analysis('queued')),
    'user:dr-lee',
    'ai_analysis',
    'routine',
  ],
  [
    'a completed AI analysis',
    (h) => h.notify.aiAnalysis('dr-lee', analysis('completed')),
    'user:dr-lee',
    'ai_analysis',
    'routine',
  ],
  [
    'a failed AI analysis',
    (h) => h.notify.aiAnalysis('dr-lee', analysis('failed')),
    'user:dr-lee',
    'ai_analysis',
    'urgent',
  ],
  [
    'a preliminary diagnosis',
    (h) => h.notify.diagnosis('p9', diagnosis('preliminary')),
    'patient:p9',
    'diagnosis_update',
    'routine',
  ],
  [
    'a final diagnosis',
    (h) => h.notify.diagnosis('p9', diagnosis('final')),
    'patient:p9',
    'diagnosis_update',
    'routine',
  ],
  [
    'a retracted diagnosis',
    (h) => h.notify.diagnosis('p9', diagnosis('retracted')),
    'patient:p9',
    'diagnosis_update',
    'urgent',
  ],
  ['an info system alert', (h) => h.notify.systemAlert(alert('info')), 'broadcast', 'system_alert', 'routine'],
  ['a warning system alert', (h) => h.notify.systemAlert(alert('warning')), 'broadcast', 'system_alert', 'urgent'],
  ['a critical system alert', (h) => h.notify.systemAlert(alert('critical')), 'broadcast', 'system_alert', 'critical'],
  [
    'a custom notification',
    (h) => h.notify.custom('user:dr-lee', 'custom', { any: 'thing' }),
    'user:dr-lee',
    'custom',
    'routine',
  ],
];

/** A hub whose clients may subscribe to anything, with one subscriber on `topic`. */
async function setup(topic: string) {
  const fx = await harness.start({ authorize: () => true });
  const client = await harness.subscriber(fx, 'viewer', [topic]);
  return { fx, client };
}

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (!isWardcastError(error)) throw error;
    return error;
  }
  throw new Error('expected the promise to reject');
}

describe('hub.notify helpers', () => {
  it.each(CASES)('publish %s to %s as %s with priority %s', async (_what, call, topic, kind, priority) => {
    const { fx, client } = await setup(topic);

    const result = await call(fx.hub);
    const frame = await client.notification(result.id);

    expect(result).toMatchObject({ topic, kind, seq: 1, duplicate: false });
    expect(frame).toMatchObject({ topic, kind, priority, seq: 1, epoch: result.epoch });
  });

  it('deliver the payload as given', async () => {
    const { fx, client } = await setup('user:dr-lee');
    const payload = lab({ abnormal: true, critical: true });

    const result = await fx.hub.notify.labResult('dr-lee', payload);

    expect((await client.notification(result.id)).payload).toEqual(payload);
  });

  it('return exactly topic, kind, id, epoch, seq and duplicate', async () => {
    const fx = await harness.start();

    const result = await fx.hub.notify.appointment('pat-42', appointment('scheduled'), { id: 'appt:apt-9:1' });

    expect(result).toEqual({
      topic: 'user:pat-42',
      kind: 'appointment',
      id: 'appt:apt-9:1',
      epoch: expect.any(String),
      seq: 1,
      duplicate: false,
    });
  });

  it('let an explicit priority override a higher default', async () => {
    const { fx, client } = await setup('user:dr-lee');

    const result = await fx.hub.notify.labResult('dr-lee', lab({ abnormal: true, critical: true }), {
      priority: 'routine',
    });

    expect((await client.notification(result.id)).priority).toBe('routine');
  });

  it('let an explicit priority override a lower default', async () => {
    const { fx, client } = await setup('broadcast');

    const result = await fx.hub.notify.systemAlert(alert('info'), { priority: 'critical' });

    expect((await client.notification(result.id)).priority).toBe('critical');
  });

  it('use options.id as the notification id', async () => {
    const { fx, client } = await setup('patient:p9');

    const result = await fx.hub.notify.diagnosis('p9', diagnosis('final'), { id: 'dx:as-1:final' });
    const frame = await client.notification('dx:as-1:final');

    expect(result.id).toBe('dx:as-1:final');
    expect(frame.kind).toBe('diagnosis_update');
  });

  it('dedupe a retried call with the same options.id: stored and delivered once', async () => {
    const { fx, client } = await setup('user:dr-lee');

    const first = await fx.hub.notify.labResult('dr-lee', lab({ abnormal: false, critical: false }), { id: 'lab:1' });
    const retry = await fx.hub.notify.labResult('dr-lee', lab({ abnormal: true, critical: true }), { id: 'lab:1' });
    const next = await fx.hub.notify.aiAnalysis('dr-lee', analysis('completed'), { id: 'sentinel' });
    await client.notification('sentinel');

    expect(first).toMatchObject({ id: 'lab:1', seq: 1, duplicate: false });
    expect(retry).toEqual({
      topic: 'user:dr-lee',
      kind: 'lab_result',
      id: 'lab:1',
      epoch: first.epoch,
      seq: 1,
      duplicate: true,
    });
    expect(next.seq).toBe(2);
    expect(client.framesOf('notification').map((n) => [n.id, n.priority])).toEqual([
      ['lab:1', 'routine'],
      ['sentinel', 'routine'],
    ]);
  });

  it('generate a fresh id per call without options.id', async () => {
    const fx = await harness.start();

    const a = await fx.hub.notify.aiAnalysis('dr-lee', analysis('running'));
    const b = await fx.hub.notify.aiAnalysis('dr-lee', analysis('running'));

    expect(a.id).not.toBe(b.id);
    expect([a.seq, b.seq, a.duplicate, b.duplicate]).toEqual([1, 2, false, false]);
  });

  it('reject an invalid payload with invalid_payload and deliver nothing', async () => {
    const { fx, client } = await setup('user:pat-42');

    const error = await rejection(
      fx.hub.notify.appointment('pat-42', { ...appointment('scheduled'), startsAt: 'next Tuesday' }),
    );
    const next = await fx.hub.notify.appointment('pat-42', appointment('confirmed'), { id: 'sentinel' });
    await client.notification('sentinel');

    expect(error.code).toBe('invalid_payload');
    expect(error.message).toContain('appointment payload: startsAt: ');
    expect(next.seq).toBe(1);
    expect(client.framesOf('notification').map((n) => n.id)).toEqual(['sentinel']);
  });

  it.each<[string, Call, string]>([
    [
      'labResult',
      (h) => h.notify.labResult('dr-lee', { ...lab({ abnormal: true, critical: false }), status: 'done' as never }),
      'lab_result payload: status: ',
    ],
    [
      'diagnosis',
      (h) => h.notify.diagnosis('p9', { ...diagnosis('final'), differential: [{ condition: 'x', likelihood: 2 }] }),
      'diagnosis_update payload: differential[0].likelihood: ',
    ],
    [
      'systemAlert',
      (h) => h.notify.systemAlert({ severity: 'fatal' as never, message: 'x' }),
      'system_alert payload: severity: ',
    ],
    [
      'aiAnalysis',
      (h) => h.notify.aiAnalysis('dr-lee', { ...analysis('queued'), analysisId: '' }),
      'ai_analysis payload: analysisId: ',
    ],
  ])('reject an invalid %s payload with invalid_payload naming the field', async (_helper, call, message) => {
    const fx = await harness.start();

    const error = await rejection(call(fx.hub));

    expect(error.code).toBe('invalid_payload');
    expect(error.message).toContain(message);
    expect(fx.hub.stats().published).toBe(0);
  });

  it.each<[string, Call]>([
    ['appointment', (h) => h.notify.appointment('pat-42', null as never)],
    ['labResult', (h) => h.notify.labResult('dr-lee', undefined as never)],
    ['aiAnalysis', (h) => h.notify.aiAnalysis('dr-lee', null as never)],
    ['diagnosis', (h) => h.notify.diagnosis('p9', undefined as never)],
    ['systemAlert', (h) => h.notify.systemAlert(null as never)],
  ])('reject a missing %s payload with invalid_payload instead of throwing', async (_helper, call) => {
    const fx = await harness.start();

    let result: Promise<unknown> | undefined;
    expect(() => {
      result = call(fx.hub);
    }).not.toThrow();
    const error = await rejection(result ?? Promise.resolve());

    expect(error.code).toBe('invalid_payload');
  });

  it('reject a user id that does not make a valid topic with invalid_topic', async () => {
    const fx = await harness.start();

    const error = await rejection(fx.hub.notify.appointment('pat 42', appointment('scheduled')));

    expect(error.code).toBe('invalid_topic');
  });

  it('publish a kind defined with defineKind through notify.custom, validated', async () => {
    const { fx, client } = await setup('patient:p9');
    fx.hub.defineKind('acme.discharge', {
      schema: z.object({ encounterId: z.string(), status: z.enum(['planned', 'done']) }),
      idOnlyFields: ['encounterId', 'status'],
    });

    const ok = await fx.hub.notify.custom(
      'patient:p9',
      'acme.discharge',
      { encounterId: 'e1', status: 'done' },
      {
        priority: 'urgent',
      },
    );
    const bad = await rejection(
      fx.hub.notify.custom('patient:p9', 'acme.discharge', { encounterId: 'e1', status: 'x' }),
    );
    const frame = await client.notification(ok.id);

    expect(ok).toMatchObject({ topic: 'patient:p9', kind: 'acme.discharge', seq: 1 });
    expect(frame).toMatchObject({
      kind: 'acme.discharge',
      priority: 'urgent',
      payload: { encounterId: 'e1', status: 'done' },
    });
    expect(bad.code).toBe('invalid_payload');
  });

  it('reject an unknown kind through notify.custom with unknown_kind', async () => {
    const fx = await harness.start();

    const error = await rejection(fx.hub.notify.custom('user:dr-lee', 'acme.never_defined', {}));

    expect(error.code).toBe('unknown_kind');
  });

  it('emit the publish event with the helper-chosen kind and priority', async () => {
    const fx = await harness.start();
    const seen = harness.record(fx, 'publish');

    const result = await fx.hub.notify.diagnosis('p9', diagnosis('retracted'));

    expect(seen).toEqual([
      { id: result.id, topic: 'patient:p9', epoch: result.epoch, seq: 1, kind: 'diagnosis_update', priority: 'urgent' },
    ]);
  });
});
