import type { PhiLevel, StreamPosition, SubscribeTopic } from '@wardcast/protocol';
import { type ClinicalKinds, ID_ONLY_FIELDS } from '@wardcast/protocol/kinds';
import type { HubEvents, Logger, PhiPolicy, Principal, PublishInput } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type FrameOf, nextRef, type TestClient } from './helpers/client.js';
import { type Fixture, type StartOptions, tick, useHarness, waitForEvent } from './helpers/harness.js';

const harness = useHarness();

const TOPIC = 'patient:p9';
const allowAll = (): boolean => true;

/** Marks every PHI value, so a leak check can search the text on the wire for it. */
const M = 'PHIMARK';
/** A date no frame field (createdAt, epoch) can produce by accident. */
const DATE = '2031-07-19T13:37:42+02:00';
const RISK = 7.3141;
const LIKELIHOOD = 0.4242;
const PERCENT = 87.654321;
/** Strings that must never appear on the wire of a reduced subscription. */
const PHI_STRINGS = [M, '2031-07-19', '13:37:42', String(RISK), String(LIKELIHOOD), String(PERCENT)];

type Kind = keyof ClinicalKinds;

/** One payload of each built-in kind, every field filled; only id-only fields are free of markers. */
const PAYLOADS: { readonly [K in Kind]: ClinicalKinds[K] } = {
  appointment: {
    appointmentId: 'apt-9',
    status: 'rescheduled',
    startsAt: DATE,
    location: `${M} Clinic B, room 12`,
    message: `${M} bring your insulin pen`,
  },
  lab_result: {
    labOrderId: 'L-778',
    testName: `${M} HIV-1 RNA viral load`,
    testCode: `${M}-25836-8`,
    status: 'final',
    abnormal: true,
    critical: true,
    resultAt: DATE,
    value: `${M} 48000`,
    unit: `${M} copies/mL`,
    referenceRange: `${M} <20`,
  },
  ai_analysis: {
    analysisId: 'an-1',
    analysisType: 'ecg',
    status: 'completed',
    summary: `${M} atrial fibrillation with rapid ventricular response`,
  },
  diagnosis_update: {
    assessmentId: 'as-1',
    patientId: 'p9',
    status: 'preliminary',
    summary: `${M} suspected sepsis, patient Jane Doe`,
    differential: [{ condition: `${M} Sepsis`, likelihood: LIKELIHOOD }],
    riskScore: RISK,
    model: { name: `${M}-model`, version: `${M}-v1` },
    reviewedBy: `${M}-dr-lee`,
  },
  assessment_progress: {
    assessmentId: 'as-1',
    stage: 'synthesis',
    percent: PERCENT,
    partialText: `${M} patient reports chest pain`,
    reason: `${M}-llm_failed`,
  },
  system_alert: { severity: 'warning', message: `${M} EHR maintenance`, until: DATE },
};

const KINDS = Object.keys(PAYLOADS) as Kind[];

function idOnlyOf(kind: Kind): Record<string, unknown> {
  const source = PAYLOADS[kind] as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const field of ID_ONLY_FIELDS[kind] as readonly string[]) out[field] = source[field];
  return out;
}

/** Fields of `kind` an id-only subscriber must not see. */
function phiFieldsOf(kind: Kind): string[] {
  const kept = ID_ONLY_FIELDS[kind] as readonly string[];
  return Object.keys(PAYLOADS[kind]).filter((f) => !kept.includes(f));
}

/** Sends a subscribe frame with per-topic `phi`/`since` and resolves with its results. */
async function subscribeWith(client: TestClient, topics: SubscribeTopic[]): Promise<FrameOf<'subscribed'>['topics']> {
  const ref = nextRef();
  client.send({ type: 'subscribe', ref, topics });
  const reply = await client.nextFrame('subscribed', (f) => f.ref === ref);
  return reply.topics;
}

/** Connects `userId` and subscribes it to `topic` asking for `phi` (omitted: none asked). */
async function viewer(fx: Fixture, userId: string, phi?: PhiLevel, since?: StreamPosition): Promise<TestClient> {
  const client = await harness.connectAs(fx, userId);
  const [result] = await subscribeWith(client, [
    { topic: TOPIC, ...(phi === undefined ? {} : { phi }), ...(since === undefined ? {} : { since }) },
  ]);
  if (result?.status !== 'ok') throw new Error(`${userId}: subscription was ${result?.status}`);
  return client;
}

/** A hub allowing every topic, with a full, an id-only and an empty viewer of {@link TOPIC}. */
async function threeViewers(
  options: StartOptions = {},
): Promise<{ fx: Fixture; full: TestClient; idOnly: TestClient; empty: TestClient }> {
  const fx = await harness.start({ authorize: allowAll, ...options });
  const full = await viewer(fx, 'dr-full');
  const idOnly = await viewer(fx, 'wall-display', 'id-only');
  const empty = await viewer(fx, 'lock-screen', 'empty');
  return { fx, full, idOnly, empty };
}

/** Every text frame `client` received, joined. */
function wire(client: TestClient): string {
  return client.raw.join('\n');
}

/**
 * Fails if any PHI marker is anywhere on `client`'s wire, or if one of `fields` is a key in any
 * notification frame it received.
 */
function expectNoPhi(client: TestClient, fields: readonly string[] = []): void {
  const text = wire(client);
  for (const s of PHI_STRINGS) expect(text, `leaked ${s}`).not.toContain(s);
  const notifications = client.raw.filter((t) => t.startsWith('{"type":"notification"'));
  expect(notifications.length).toBeGreaterThan(0);
  for (const f of fields) expect(notifications.join('\n'), `leaked field ${f}`).not.toContain(`"${f}":`);
}

describe('one notification at three PHI levels', () => {
  it('delivers the same id, seq, kind and priority to full, id-only and empty subscribers', async () => {
    const { fx, full, idOnly, empty } = await threeViewers();

    const result = await fx.hub.publish(TOPIC, {
      kind: 'lab_result',
      priority: 'critical',
      id: 'lab-1',
      payload: PAYLOADS.lab_result,
    });
    const frames = await Promise.all([full, idOnly, empty].map((c) => c.notification('lab-1')));

    for (const f of frames) {
      expect(f).toMatchObject({ id: 'lab-1', topic: TOPIC, epoch: result.epoch, seq: 1, kind: 'lab_result' });
      expect(f.priority).toBe('critical');
    }
    expect(new Set(frames.map((f) => f.createdAt)).size).toBe(1);
  });

  it.each(KINDS)('sends the whole %s payload, without a phi field, to a full subscriber', async (kind) => {
    const { fx, full } = await threeViewers();

    await fx.hub.publish(TOPIC, { kind, id: 'n1', payload: PAYLOADS[kind] });
    const frame = await full.notification('n1');

    expect(frame.payload).toEqual(PAYLOADS[kind]);
    expect(frame.phi).toBeUndefined();
    expect(Object.keys(JSON.parse(full.raw.at(-1) ?? '{}') as object)).not.toContain('phi');
  });

  it.each(KINDS)('sends only the id-only fields of a %s payload, marked phi: id-only', async (kind) => {
    const { fx, idOnly } = await threeViewers();

    await fx.hub.publish(TOPIC, { kind, id: 'n1', payload: PAYLOADS[kind] });
    const frame = await idOnly.notification('n1');

    expect(frame.payload).toEqual(idOnlyOf(kind));
    expect(Object.keys(frame.payload as object).sort()).toEqual([...(ID_ONLY_FIELDS[kind] as string[])].sort());
    expect(frame.phi).toBe('id-only');
  });

  it.each(KINDS)('sends payload: null, marked phi: empty, to an empty subscriber for %s', async (kind) => {
    const { fx, empty } = await threeViewers();

    await fx.hub.publish(TOPIC, { kind, id: 'n1', payload: PAYLOADS[kind] });
    const frame = await empty.notification('n1');

    expect(frame.payload).toBeNull();
    expect(frame.phi).toBe('empty');
    expect(JSON.parse(empty.raw.at(-1) ?? '{}')).toHaveProperty('payload', null);
  });

  it.each(KINDS)('never puts a PHI value or field of a %s payload on the wire of reduced subscribers', async (kind) => {
    const { fx, full, idOnly, empty } = await threeViewers();

    await fx.hub.publish(TOPIC, { kind, id: 'n1', payload: PAYLOADS[kind] });
    await Promise.all([full, idOnly, empty].map((c) => c.notification('n1')));

    // The check itself must be able to fail: the full subscriber does see the markers.
    expect(wire(full)).toContain(kind === 'system_alert' || kind === 'appointment' ? DATE : M);
    expectNoPhi(idOnly, phiFieldsOf(kind));
    expectNoPhi(empty, Object.keys(PAYLOADS[kind]));
  });

  it('reports the granted level in the subscribed result only when it is reduced', async () => {
    const fx = await harness.start({ authorize: allowAll });
    const client = await harness.connectAs(fx, 'dr-a');

    const results = await subscribeWith(client, [
      { topic: 'patient:p1', phi: 'full' },
      { topic: 'patient:p2', phi: 'id-only' },
      { topic: 'patient:p3', phi: 'empty' },
      { topic: 'patient:p4' },
    ]);

    expect(results.map((r) => [r.topic, r.status, r.phi])).toEqual([
      ['patient:p1', 'ok', undefined],
      ['patient:p2', 'ok', 'id-only'],
      ['patient:p3', 'ok', 'empty'],
      ['patient:p4', 'ok', undefined],
    ]);
  });

  it('keeps the full payload in history after delivering reduced copies', async () => {
    const fx = await harness.start({ authorize: allowAll });
    const idOnly = await viewer(fx, 'wall-display', 'id-only');
    const result = await fx.hub.publish(TOPIC, { kind: 'lab_result', id: 'n1', payload: PAYLOADS.lab_result });
    await idOnly.notification('n1');

    const late = await viewer(fx, 'dr-late', 'full', { epoch: result.epoch, seq: 0 });
    const replayed = await late.notification('n1');

    expect(replayed.payload).toEqual(PAYLOADS.lab_result);
    expect(replayed.phi).toBeUndefined();
  });
});

describe('the phiLevel policy', () => {
  it('caps a client asking for full at the level the policy allows', async () => {
    const fx = await harness.start({ authorize: allowAll, phiLevel: () => 'id-only' });
    const client = await harness.connectAs(fx, 'dr-a');

    const [result] = await subscribeWith(client, [{ topic: TOPIC, phi: 'full' }]);
    await fx.hub.publish(TOPIC, { kind: 'lab_result', id: 'n1', payload: PAYLOADS.lab_result });
    const frame = await client.notification('n1');

    expect(result).toMatchObject({ topic: TOPIC, status: 'ok', phi: 'id-only' });
    expect(frame.phi).toBe('id-only');
    expect(frame.payload).toEqual(idOnlyOf('lab_result'));
    expectNoPhi(client, phiFieldsOf('lab_result'));
  });

  it('caps a subscription that asks for no level at all', async () => {
    const fx = await harness.start({ authorize: allowAll, phiLevel: () => 'empty' });
    const client = await viewer(fx, 'dr-a');

    await fx.hub.publish(TOPIC, { kind: 'diagnosis_update', id: 'n1', payload: PAYLOADS.diagnosis_update });
    const frame = await client.notification('n1');

    expect(frame.phi).toBe('empty');
    expect(frame.payload).toBeNull();
  });

  it('grants less than the policy when the client asks for less', async () => {
    const fx = await harness.start({ authorize: allowAll, phiLevel: () => 'id-only' });
    const client = await harness.connectAs(fx, 'dr-a');

    const [result] = await subscribeWith(client, [{ topic: TOPIC, phi: 'empty' }]);
    await fx.hub.publish(TOPIC, { kind: 'appointment', id: 'n1', payload: PAYLOADS.appointment });
    const frame = await client.notification('n1');

    expect(result?.phi).toBe('empty');
    expect(frame.payload).toBeNull();
  });

  it('grants id-only under a full policy when the client asks for id-only', async () => {
    const fx = await harness.start({ authorize: allowAll, phiLevel: () => 'full' });
    const client = await viewer(fx, 'dr-a', 'id-only');

    await fx.hub.publish(TOPIC, { kind: 'appointment', id: 'n1', payload: PAYLOADS.appointment });
    const frame = await client.notification('n1');

    expect(frame.payload).toEqual(idOnlyOf('appointment'));
  });

  it('is asked with the principal and the topic, and can decide per principal', async () => {
    const calls: [string, string][] = [];
    const phiLevel: PhiPolicy = (principal: Principal, topic: string) => {
      calls.push([principal.userId, topic]);
      return principal.userId === 'kiosk' ? 'empty' : 'full';
    };
    const fx = await harness.start({ authorize: allowAll, phiLevel });
    const doctor = await viewer(fx, 'dr-a');
    const kiosk = await viewer(fx, 'kiosk');

    await fx.hub.publish(TOPIC, { kind: 'appointment', id: 'n1', payload: PAYLOADS.appointment });
    const [forDoctor, forKiosk] = await Promise.all([doctor.notification('n1'), kiosk.notification('n1')]);

    expect(calls).toEqual([
      ['dr-a', TOPIC],
      ['kiosk', TOPIC],
    ]);
    expect(forDoctor.payload).toEqual(PAYLOADS.appointment);
    expect(forKiosk.payload).toBeNull();
  });

  it('may be async', async () => {
    const fx = await harness.start({
      authorize: allowAll,
      phiLevel: async (): Promise<PhiLevel> => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        return 'id-only';
      },
    });
    const client = await viewer(fx, 'dr-a');

    await fx.hub.publish(TOPIC, { kind: 'ai_analysis', id: 'n1', payload: PAYLOADS.ai_analysis });

    expect((await client.notification('n1')).payload).toEqual(idOnlyOf('ai_analysis'));
  });

  it('grants empty when the policy throws (fail closed)', async () => {
    const fx = await harness.start({
      authorize: allowAll,
      phiLevel: () => {
        throw new Error('policy service down');
      },
    });
    const client = await harness.connectAs(fx, 'dr-a');

    const [result] = await subscribeWith(client, [{ topic: TOPIC, phi: 'full' }]);
    await fx.hub.publish(TOPIC, { kind: 'lab_result', id: 'n1', payload: PAYLOADS.lab_result });
    const frame = await client.notification('n1');

    expect(result).toMatchObject({ status: 'ok', phi: 'empty' });
    expect(frame.payload).toBeNull();
    expectNoPhi(client, Object.keys(PAYLOADS.lab_result));
  });

  it('grants empty when an async policy rejects', async () => {
    const fx = await harness.start({ authorize: allowAll, phiLevel: () => Promise.reject(new Error('timeout')) });
    const client = await harness.connectAs(fx, 'dr-a');

    const [result] = await subscribeWith(client, [{ topic: TOPIC }]);

    expect(result).toMatchObject({ status: 'ok', phi: 'empty' });
  });

  it.each<[string, unknown]>([
    ['an unknown level', 'partial'],
    ['an upper-case level', 'FULL'],
    ['undefined', undefined],
    ['true', true],
  ])('grants empty when the policy returns %s', async (_what, level) => {
    const fx = await harness.start({ authorize: allowAll, phiLevel: () => level as PhiLevel });
    const client = await viewer(fx, 'dr-a', 'full');

    await fx.hub.publish(TOPIC, { kind: 'lab_result', id: 'n1', payload: PAYLOADS.lab_result });
    const frame = await client.notification('n1');

    expect(frame.phi).toBe('empty');
    expect(frame.payload).toBeNull();
  });

  it('logs a policy that throws at warn', async () => {
    const lines: string[] = [];
    const logger = recordingLogger(lines);
    const fx = await harness.start({
      authorize: allowAll,
      logger,
      phiLevel: () => {
        throw new Error('policy service down');
      },
    });

    await viewer(fx, 'dr-a');

    expect(lines.some((l) => l.includes('phiLevel threw') && l.includes('policy service down'))).toBe(true);
  });

  it('applies a lower level asked for by re-subscribing on the same connection', async () => {
    const fx = await harness.start({ authorize: allowAll });
    const client = await viewer(fx, 'dr-a', 'full');
    await fx.hub.publish(TOPIC, { kind: 'appointment', id: 'before', payload: PAYLOADS.appointment });
    await client.notification('before');

    const [result] = await subscribeWith(client, [{ topic: TOPIC, phi: 'empty' }]);
    await fx.hub.publish(TOPIC, { kind: 'appointment', id: 'after', payload: PAYLOADS.appointment });
    const frame = await client.notification('after');

    expect(result?.phi).toBe('empty');
    expect(frame.payload).toBeNull();
    expect(client.framesOf('notification').map((n) => n.id)).toEqual(['before', 'after']);
  });
});

describe('replay on resume', () => {
  it('replays missed notifications reduced to the level asked for', async () => {
    const fx = await harness.start({ authorize: allowAll });
    const first = await fx.hub.publish(TOPIC, { kind: 'lab_result', id: 'm1', payload: PAYLOADS.lab_result });
    await fx.hub.publish(TOPIC, { kind: 'appointment', id: 'm2', payload: PAYLOADS.appointment });
    await fx.hub.publish(TOPIC, { kind: 'diagnosis_update', id: 'm3', payload: PAYLOADS.diagnosis_update });
    const client = await harness.connectAs(fx, 'wall-display');

    const [result] = await subscribeWith(client, [
      { topic: TOPIC, phi: 'id-only', since: { epoch: first.epoch, seq: 0 } },
    ]);
    const replayed = client.framesOf('notification');

    expect(result).toMatchObject({ status: 'ok', recovered: true, phi: 'id-only', position: { seq: 3 } });
    expect(replayed.map((n) => [n.id, n.seq, n.phi])).toEqual([
      ['m1', 1, 'id-only'],
      ['m2', 2, 'id-only'],
      ['m3', 3, 'id-only'],
    ]);
    expect(replayed.map((n) => n.payload)).toEqual([
      idOnlyOf('lab_result'),
      idOnlyOf('appointment'),
      idOnlyOf('diagnosis_update'),
    ]);
    expectNoPhi(client, [
      ...phiFieldsOf('lab_result'),
      ...phiFieldsOf('appointment'),
      ...phiFieldsOf('diagnosis_update'),
    ]);
  });

  it('replays at the level the policy caps, and keeps it for live notifications', async () => {
    const fx = await harness.start({ authorize: allowAll, phiLevel: () => 'empty' });
    const first = await fx.hub.publish(TOPIC, { kind: 'lab_result', id: 'm1', payload: PAYLOADS.lab_result });
    const client = await viewer(fx, 'dr-a', 'full', { epoch: first.epoch, seq: 0 });

    await fx.hub.publish(TOPIC, { kind: 'lab_result', id: 'live', payload: PAYLOADS.lab_result });
    await client.notification('live');

    expect(client.framesOf('notification').map((n) => [n.id, n.phi, n.payload])).toEqual([
      ['m1', 'empty', null],
      ['live', 'empty', null],
    ]);
    expectNoPhi(client, Object.keys(PAYLOADS.lab_result));
  });

  it('replays only what came after the resume point, reduced', async () => {
    const fx = await harness.start({ authorize: allowAll });
    await fx.hub.publish(TOPIC, { kind: 'system_alert', id: 'seen', payload: PAYLOADS.system_alert });
    const second = await fx.hub.publish(TOPIC, { kind: 'system_alert', id: 'seen-2', payload: PAYLOADS.system_alert });
    await fx.hub.publish(TOPIC, { kind: 'system_alert', id: 'missed', payload: PAYLOADS.system_alert });

    const client = await viewer(fx, 'dr-a', 'id-only', { epoch: second.epoch, seq: second.seq });

    expect(client.framesOf('notification').map((n) => [n.id, n.payload])).toEqual([
      ['missed', { severity: 'warning' }],
    ]);
  });
});

describe('custom and defined kinds', () => {
  it('shows an id-only subscriber only the idOnlyFields of a defined kind', async () => {
    const { fx, full, idOnly, empty } = await threeViewers();
    fx.hub.defineKind('acme.discharge', {
      schema: z.object({ encounterId: z.string(), status: z.enum(['planned', 'done']), note: z.string() }),
      idOnlyFields: ['encounterId', 'status'],
    });
    const payload = { encounterId: 'e1', status: 'done', note: `${M} discharged to hospice` };

    await fx.hub.publish(TOPIC, { kind: 'acme.discharge', id: 'd1', payload });
    const [f, i, e] = await Promise.all([full, idOnly, empty].map((c) => c.notification('d1')));

    expect(f?.payload).toEqual(payload);
    expect(i?.payload).toEqual({ encounterId: 'e1', status: 'done' });
    expect(i?.phi).toBe('id-only');
    expect(e?.payload).toBeNull();
    expectNoPhi(idOnly, ['note']);
  });

  it('shows an id-only subscriber {} for a defined kind without idOnlyFields', async () => {
    const { fx, idOnly } = await threeViewers();
    fx.hub.defineKind('acme.note', { schema: z.object({ noteId: z.string(), text: z.string() }) });

    await fx.hub.publish(TOPIC, { kind: 'acme.note', id: 'n1', payload: { noteId: 'x1', text: `${M} note` } });
    const frame = await idOnly.notification('n1');

    expect(frame.payload).toEqual({});
    expectNoPhi(idOnly, ['noteId', 'text']);
  });

  it('never lets idOnlyFields reveal a field the schema dropped', async () => {
    const { fx, idOnly } = await threeViewers();
    fx.hub.defineKind('acme.visit', {
      schema: z.object({ visitId: z.string() }),
      idOnlyFields: ['visitId', 'patientName'],
    });

    await fx.hub.publish(TOPIC, { kind: 'acme.visit', id: 'v1', payload: { visitId: 'v1', patientName: `${M} Doe` } });

    expect((await idOnly.notification('v1')).payload).toEqual({ visitId: 'v1' });
    expectNoPhi(idOnly);
  });

  it('shows an id-only subscriber {} for a custom object payload', async () => {
    const { fx, full, idOnly } = await threeViewers();
    const payload = { anything: `${M} free text`, id: 'c1', status: 'done' };

    await fx.hub.publish(TOPIC, { kind: 'custom', id: 'c1', payload });
    const [f, i] = await Promise.all([full.notification('c1'), idOnly.notification('c1')]);

    expect(f.payload).toEqual(payload);
    expect(i.payload).toEqual({});
    expect(i.phi).toBe('id-only');
    expectNoPhi(idOnly, ['anything']);
  });

  it.each<[string, unknown]>([
    ['a string', `${M} free text`],
    ['an array', [`${M} a`, `${M} b`]],
    ['a number', PERCENT],
  ])('shows an id-only subscriber null for a custom payload that is %s', async (_what, payload) => {
    const { fx, idOnly } = await threeViewers();

    await fx.hub.publish(TOPIC, { kind: 'custom', id: 'c1', payload });
    const frame = await idOnly.notification('c1');

    expect(frame.payload).toBeNull();
    expect(frame.phi).toBe('id-only');
    expectNoPhi(idOnly);
  });
});

/** A logger that records every call as one JSON line, errors expanded (message, stack, cause). */
function recordingLogger(lines: string[]): Logger {
  const record =
    (level: string) =>
    (...args: unknown[]): void => {
      lines.push(JSON.stringify([level, ...args], expandErrors));
    };
  return { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
}

function expandErrors(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return { ...value, name: value.name, message: value.message, stack: value.stack, cause: value.cause };
  }
  return value;
}

const EVENTS: (keyof HubEvents)[] = [
  'connection',
  'authenticated',
  'disconnect',
  'subscribe',
  'unsubscribe',
  'denied',
  'ack',
  'read',
  'publish',
  'error',
  'audit',
];

describe('logs, stats and events', () => {
  it('never contain a payload over a whole lifecycle, warnings and errors included', async () => {
    const lines: string[] = [];
    const events: string[] = [];
    const snapshots: string[] = [];
    const fx = await harness.start({
      logger: recordingLogger(lines),
      maxBufferedBytes: 64 * 1024,
      maxPayloadBytes: 64 * 1024,
      maxInvalidFrames: 3,
      closeTimeoutMs: 300,
      authorize: (_p, topic) => {
        if (topic === 'patient:authz-broken') throw new Error('authz down');
        return true;
      },
      phiLevel: (_p, topic) => {
        if (topic === 'patient:policy-broken') throw new Error('policy down');
        return topic === TOPIC ? 'full' : 'id-only';
      },
    });
    for (const name of EVENTS) {
      fx.hub.on(name, (...args: unknown[]) => {
        events.push(JSON.stringify([name, ...args], expandErrors));
      });
    }
    // A throwing listener makes the hub log at error.
    fx.hub.on('publish', () => {
      throw new Error('listener failed');
    });
    const snap = (): void => {
      snapshots.push(JSON.stringify(fx.hub.stats()), JSON.stringify(fx.hub.connections()));
    };

    const full = await viewer(fx, 'dr-full');
    const idOnly = await viewer(fx, 'wall-display', 'id-only');
    const other = await harness.connectAs(fx, 'nurse');
    await subscribeWith(other, [{ topic: 'patient:authz-broken' }, { topic: 'patient:policy-broken' }]);

    // Valid publishes of every kind, and a defined kind.
    fx.hub.defineKind('acme.discharge', { schema: z.object({ encounterId: z.string(), note: z.string() }) });
    for (const kind of KINDS) await fx.hub.publish(TOPIC, { kind, id: `ok-${kind}`, payload: PAYLOADS[kind] });
    await fx.hub.publish(TOPIC, { kind: 'acme.discharge', id: 'ok-d', payload: { encounterId: 'e1', note: M } });
    await fx.hub.publish('patient:policy-broken', { kind: 'custom', payload: { text: `${M} policy` } });
    await full.notification('ok-d');
    snap();

    // Invalid publishes (typed `PublishInput`, kind: string: only the runtime check can catch them).
    const badLab: PublishInput = { kind: 'lab_result', payload: { ...PAYLOADS.lab_result, status: `${M}-bad` } };
    await expect(fx.hub.publish(TOPIC, badLab)).rejects.toMatchObject({ code: 'invalid_payload' });
    await expect(fx.hub.publish(TOPIC, { kind: 'acme.unknown', payload: { text: M } })).rejects.toMatchObject({
      code: 'unknown_kind',
    });

    // Receipts, a re-subscribe with resume, bad frames (one carrying the marker) up to the limit.
    full.send({ type: 'ack', id: 'ok-lab_result', ref: 'k1' });
    full.send({ type: 'read', id: 'ok-lab_result', ref: 'k2' });
    await full.nextFrame('receipt', (r) => r.ref === 'k2');
    const first = full.framesOf('notification')[0];
    if (!first) throw new Error('no notification');
    await subscribeWith(idOnly, [{ topic: TOPIC, phi: 'id-only', since: { epoch: first.epoch, seq: 0 } }]);
    other.sendText(`{"type":"subscribe","topics":[{"topic":"${M} not a topic"}]}`);
    other.sendText(`${M} not json`);
    other.send({ type: `${M}-type`, payload: M });
    await other.waitClose();
    snap();

    // A slow consumer cut off while notifications carrying the marker pile up.
    const slow = await viewer(fx, 'slow-reader');
    slow.pauseReading();
    const cut = waitForEvent(fx.hub, 'disconnect', (e) => e.userId === 'slow-reader', 10_000);
    const big = `${M}${'p'.repeat(30_000)}`;
    for (let i = 0; i < 500 && fx.hub.stats().drops.slowConsumers === 0; i++) {
      await fx.hub.publish(TOPIC, { kind: 'custom', id: `big-${i}`, payload: { text: big } });
      snap();
      await tick();
    }
    expect((await cut).code).toBe(4440);
    snap();

    full.terminate();
    await fx.hub.close();
    snap();

    // The checks must be able to fail: the hub did log, emit and count.
    expect(lines.some((l) => l.includes('phiLevel threw'))).toBe(true);
    expect(lines.some((l) => l.includes('authorize threw'))).toBe(true);
    expect(lines.some((l) => l.includes('event listener threw'))).toBe(true);
    expect(events.some((e) => e.startsWith('["publish"'))).toBe(true);
    expect(events.some((e) => e.includes('notification.acknowledged'))).toBe(true);
    expect(fx.hub.stats().drops.invalidFrames).toBeGreaterThanOrEqual(3);
    expect(wire(full)).toContain(M);
    for (const line of [...lines, ...events, ...snapshots]) {
      expect(line).not.toContain(M);
      expect(line).not.toContain('2031-07-19');
    }
  });
});
