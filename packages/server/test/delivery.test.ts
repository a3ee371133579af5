import { isWardcastError, type PublishInput, WardcastError } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { useHarness } from './helpers/harness.js';

const harness = useHarness();

const patientAuthorize = (principal: { userId: string }, topic: string): boolean =>
  topic === `user:${principal.userId}` || topic.startsWith('patient:');

describe('fan-out', () => {
  it("delivers a user-topic notification to every one of the user's connections", async () => {
    const fx = await harness.start();
    const tabs = await Promise.all([1, 2, 3].map(() => harness.subscriber(fx, 'alice', ['user:alice'])));

    await fx.hub.publish('user:alice', { kind: 'custom', id: 'n1' });
    const received = await Promise.all(tabs.map((tab) => tab.notification('n1')));

    expect(received.map((n) => n.topic)).toEqual(['user:alice', 'user:alice', 'user:alice']);
    expect(fx.hub.stats().deliveries).toBe(3);
  });

  it('delivers a patient-topic notification to every subscriber of that topic', async () => {
    const fx = await harness.start({ authorize: patientAuthorize });
    const viewers = [
      await harness.subscriber(fx, 'dr-a', ['patient:p9']),
      await harness.subscriber(fx, 'dr-b', ['patient:p9']),
      await harness.subscriber(fx, 'nurse-c', ['patient:p9']),
    ];

    await fx.hub.publish('patient:p9', { kind: 'custom', priority: 'critical', id: 'lab-1' });
    const received = await Promise.all(viewers.map((v) => v.notification('lab-1')));

    expect(received.map((n) => n.priority)).toEqual(['critical', 'critical', 'critical']);
  });

  it('delivers nothing to other users or to subscribers of other topics', async () => {
    const fx = await harness.start({ authorize: patientAuthorize });
    const alice = await harness.subscriber(fx, 'alice', ['user:alice']);
    const bob = await harness.subscriber(fx, 'bob', ['user:bob']);
    const otherPatient = await harness.subscriber(fx, 'dr-x', ['patient:p2']);
    const unsubscribed = await harness.connectAs(fx, 'alice');

    await fx.hub.publish('user:alice', { kind: 'custom', id: 'private' });
    await fx.hub.publish('patient:p1', { kind: 'custom', id: 'p1-only' });
    // Sentinels: delivery is in publish order, so once each arrives nothing earlier is still on its way.
    await fx.hub.publish('user:bob', { kind: 'custom', id: 'sentinel-bob' });
    await fx.hub.publish('patient:p2', { kind: 'custom', id: 'sentinel-p2' });
    await fx.hub.publish('user:alice', { kind: 'custom', id: 'sentinel-alice' });
    await bob.notification('sentinel-bob');
    await otherPatient.notification('sentinel-p2');
    await alice.notification('sentinel-alice');
    await unsubscribed.roundTrip();

    expect(bob.framesOf('notification').map((n) => n.id)).toEqual(['sentinel-bob']);
    expect(otherPatient.framesOf('notification').map((n) => n.id)).toEqual(['sentinel-p2']);
    expect(alice.framesOf('notification').map((n) => n.id)).toEqual(['private', 'sentinel-alice']);
    expect(unsubscribed.framesOf('notification')).toEqual([]);
  });
});

describe('notification frames', () => {
  it('sends a notification frame with id, topic, epoch, seq, kind, priority, createdAt and payload', async () => {
    const fx = await harness.start();
    const client = await harness.subscriber(fx, 'alice', ['user:alice']);
    const before = Date.now();

    const result = await fx.hub.publish('user:alice', {
      kind: 'lab_result',
      priority: 'urgent',
      id: 'lab-42',
      payload: {
        labOrderId: 'L42',
        testName: 'Potassium',
        status: 'final',
        abnormal: false,
        critical: false,
        resultAt: '2026-11-23T08:00:00Z',
      },
    });
    const frame = await client.notification('lab-42');

    expect(frame).toEqual({
      type: 'notification',
      id: 'lab-42',
      topic: 'user:alice',
      epoch: result.epoch,
      seq: 1,
      kind: 'lab_result',
      priority: 'urgent',
      createdAt: expect.any(String),
      payload: {
        labOrderId: 'L42',
        testName: 'Potassium',
        status: 'final',
        abnormal: false,
        critical: false,
        resultAt: '2026-11-23T08:00:00Z',
      },
    });
    expect(Date.parse(frame.createdAt)).toBeGreaterThanOrEqual(before - 1_000);
    expect(Object.keys(JSON.parse(client.raw.at(-1) ?? '{}') as object).sort()).toEqual(
      ['createdAt', 'epoch', 'id', 'kind', 'payload', 'priority', 'seq', 'topic', 'type'].sort(),
    );
  });

  it('defaults priority to routine and the payload to null', async () => {
    const fx = await harness.start();
    const client = await harness.subscriber(fx, 'alice', ['user:alice']);

    await fx.hub.publish('user:alice', { kind: 'custom', id: 'bare' });
    const frame = await client.notification('bare');

    expect(frame.priority).toBe('routine');
    expect(frame.payload).toBeNull();
  });

  it('delivers the payload as it was when published, not as later mutated', async () => {
    const fx = await harness.start();
    const client = await harness.subscriber(fx, 'alice', ['user:alice']);
    const payload = { status: 'scheduled' };

    const publishing = fx.hub.publish('user:alice', { kind: 'custom', id: 'appt', payload });
    payload.status = 'mutated';
    await publishing;
    const frame = await client.notification('appt');

    expect(frame.payload).toEqual({ status: 'scheduled' });
  });
});

describe('publish', () => {
  it('returns the id, epoch, seq and duplicate: false', async () => {
    const fx = await harness.start();

    const result = await fx.hub.publish('user:alice', { kind: 'custom', id: 'mine' });

    expect(result).toEqual({ id: 'mine', epoch: expect.any(String), seq: 1, duplicate: false });
  });

  it('generates an id when none is given', async () => {
    const fx = await harness.start();

    const a = await fx.hub.publish('user:alice', { kind: 'custom' });
    const b = await fx.hub.publish('user:alice', { kind: 'custom' });

    expect(a.id).toMatch(/\S+/);
    expect(b.id).not.toBe(a.id);
  });

  it('assigns strictly increasing seqs within one epoch on a topic', async () => {
    const fx = await harness.start();
    const client = await harness.subscriber(fx, 'alice', ['user:alice']);

    const results = [];
    for (let i = 0; i < 20; i++) results.push(await fx.hub.publish('user:alice', { kind: 'custom', id: `n${i}` }));
    await client.notification('n19');

    expect(results.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(new Set(results.map((r) => r.epoch)).size).toBe(1);
    expect(client.seqs('user:alice')).toEqual(results.map((r) => r.seq));
  });

  it('keeps separate seq counters per topic', async () => {
    const fx = await harness.start();

    await fx.hub.publish('user:alice', { kind: 'custom' });
    await fx.hub.publish('user:alice', { kind: 'custom' });
    const other = await fx.hub.publish('user:bob', { kind: 'custom' });

    expect(other.seq).toBe(1);
  });

  it('delivers a notification published twice with the same id once, and reports the second as a duplicate', async () => {
    const fx = await harness.start();
    const client = await harness.subscriber(fx, 'alice', ['user:alice']);

    const first = await fx.hub.publish('user:alice', { kind: 'custom', id: 'once', payload: { v: 1 } });
    const second = await fx.hub.publish('user:alice', { kind: 'custom', id: 'once', payload: { v: 2 } });
    await fx.hub.publish('user:alice', { kind: 'custom', id: 'sentinel' });
    await client.notification('sentinel');

    expect(second).toEqual({ id: 'once', epoch: first.epoch, seq: first.seq, duplicate: true });
    expect(client.framesOf('notification').map((n) => n.id)).toEqual(['once', 'sentinel']);
    expect(fx.hub.stats()).toMatchObject({ published: 2, duplicates: 1 });
  });

  const invalid: [string, string, PublishInput, string][] = [
    ['a kind with upper case', 'user:alice', { kind: 'Lab Result' }, 'invalid_notification'],
    ['an empty kind', 'user:alice', { kind: '' }, 'invalid_notification'],
    ['an unknown priority', 'user:alice', { kind: 'custom', priority: 'stat' as never }, 'invalid_notification'],
    ['an empty id', 'user:alice', { kind: 'custom', id: '' }, 'invalid_notification'],
    ['a topic with a space', 'user alice', { kind: 'custom' }, 'invalid_topic'],
    ['an empty topic', '', { kind: 'custom' }, 'invalid_topic'],
    ['a BigInt in the payload', 'user:alice', { kind: 'custom', payload: { n: 1n } }, 'invalid_notification'],
    ['a function as the payload', 'user:alice', { kind: 'custom', payload: () => 1 }, 'invalid_notification'],
    [
      'a payload over maxPayloadBytes',
      'user:alice',
      { kind: 'custom', payload: 'x'.repeat(2_000) },
      'payload_too_large',
    ],
    [
      'a payload whose UTF-8 is over maxPayloadBytes',
      'user:alice',
      { kind: 'custom', payload: '\u00e9'.repeat(700) },
      'payload_too_large',
    ],
  ];

  it.each(invalid)('rejects %s with a WardcastError and delivers nothing', async (_name, topic, input, code) => {
    const fx = await harness.start({ maxPayloadBytes: 1_024 });
    const client = await harness.subscriber(fx, 'alice', ['user:alice']);

    const error: unknown = await fx.hub.publish(topic, input).catch((e: unknown) => e);
    await fx.hub.publish('user:alice', { kind: 'custom', id: 'sentinel' });
    await client.notification('sentinel');

    expect(error).toBeInstanceOf(WardcastError);
    expect(isWardcastError(error, code as WardcastError['code'])).toBe(true);
    expect(client.framesOf('notification').map((n) => n.id)).toEqual(['sentinel']);
    expect(fx.hub.stats().published).toBe(1);
  });

  it('rejects a circular payload with invalid_notification', async () => {
    const fx = await harness.start();
    const payload: Record<string, unknown> = {};
    payload.self = payload;

    await expect(fx.hub.publish('user:alice', { kind: 'custom', payload })).rejects.toMatchObject({
      name: 'WardcastError',
      code: 'invalid_notification',
    });
  });

  it('rejects an input that is not an object with invalid_notification', async () => {
    const fx = await harness.start();

    await expect(fx.hub.publish('user:alice', null as unknown as PublishInput)).rejects.toMatchObject({
      code: 'invalid_notification',
    });
  });

  it('accepts a payload of exactly maxPayloadBytes', async () => {
    const fx = await harness.start({ maxPayloadBytes: 1_024 });

    const result = await fx.hub.publish('user:alice', { kind: 'custom', payload: 'x'.repeat(1_022) });

    expect(result.seq).toBe(1);
  });
});
