import type { PhiLevel, Principal } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { eventually, tokenFor, useHarness, waitForEvent } from '../helpers/harness.js';
import { describeCost, expectBounded, footprint, startControl } from './guard.js';

/** Generous: conditions are polled, never slept on. */
const WAIT = 15_000;

/**
 * A care-team policy the test changes while connections are open: `authorize` allows the own
 * `user:` topic and `patient:<id>` for team members; `phiLevel` is per user and topic.
 */
function policy(teams: Record<string, string[]>) {
  const levels = new Map<string, PhiLevel>();
  let calls = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let failing = false;
  return {
    teams,
    levels,
    get calls() {
      return calls;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    fail(on: boolean) {
      failing = on;
    },
    /** Starts measuring `maxInFlight` afresh. */
    resetMax() {
      maxInFlight = inFlight;
    },
    authorize: async (p: Principal, topic: string): Promise<boolean> => {
      calls++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await new Promise((resolve) => setImmediate(resolve)); // an async policy backend
        if (failing && topic.startsWith('patient:')) throw new Error('policy service down');
        return topic === `user:${p.userId}` || (teams[topic]?.includes(p.userId) ?? false);
      } finally {
        inFlight--;
      }
    },
    phiLevel: (p: Principal, topic: string): PhiLevel => levels.get(`${p.userId}|${topic}`) ?? 'full',
  };
}

const custom = (id: string) => ({ id, kind: 'custom', payload: { note: `note ${id}` } }) as const;

describe('re-authorization on an in-band token refresh', () => {
  const harness = useHarness();

  it('drops a topic authorize no longer allows, telling the client, presence and the registry', async () => {
    const rules = policy({ 'patient:p1': ['dr-lee', 'nurse-kim'], 'patient:p2': ['dr-lee'] });
    const fx = await harness.start({ authorize: rules.authorize, phiLevel: rules.phiLevel });
    const control = await startControl(harness, fx);
    const lee = await harness.subscriber(fx, 'dr-lee', ['patient:p1', 'patient:p2']);
    const kim = await harness.connectAs(fx, 'nurse-kim');
    kim.send({ type: 'subscribe', ref: 'k', topics: [{ topic: 'patient:p1', presence: true }] });
    await kim.nextFrame('presence', (f) => f.members?.includes('dr-lee') === true);
    await fx.hub.publish('patient:p1', custom('p1-old'));
    await lee.notification('p1-old');
    const revoked = harness.record(fx, 'revoked');
    const audit = harness.record(fx, 'audit');
    const before = await footprint();

    // Dr Lee leaves patient p1's care team, then refreshes the token in-band.
    rules.teams['patient:p1'] = ['nurse-kim'];
    lee.send({ type: 'auth', token: tokenFor('dr-lee'), ref: 'refresh' });
    await lee.nextFrame('authenticated', (f) => f.ref === 'refresh');
    const dropped = await lee.nextFrame('unsubscribed', (f) => f.code !== undefined);
    const left = await kim.nextFrame('presence', (f) => f.left?.includes('dr-lee') === true);
    await fx.hub.publish('patient:p1', custom('p1-new'));
    await fx.hub.publish('patient:p2', custom('p2-new'));
    await kim.notification('p1-new');
    await lee.notification('p2-new');
    lee.send({ type: 'ack', id: 'p1-old', ref: 'old' });
    const refused = await lee.nextFrame('error', (f) => f.ref === 'old');
    const after = await footprint();
    const { delivered } = await control.finish();
    console.log(
      describeCost('re-authorization on refresh', before, after, `1 of 2 topics dropped; control ${delivered}`),
    );

    expect(dropped).toEqual({ type: 'unsubscribed', topics: ['patient:p1'], code: 'topic_denied' });
    expect(left).toMatchObject({ topic: 'patient:p1', left: ['dr-lee'] });
    expect(fx.hub.presence('patient:p1')).toEqual(['nurse-kim']);
    expect(lee.framesOf('notification').map((n) => n.id)).toEqual(['p1-old', 'p2-new']);
    expect(fx.hub.connections().find((c) => c.userId === 'dr-lee')?.topics).toEqual(['patient:p2']);
    expect(revoked).toEqual([expect.objectContaining({ userId: 'dr-lee', topic: 'patient:p1', code: 'topic_denied' })]);
    expect(audit.filter((e) => e.type === 'subscription.revoked')).toEqual([
      expect.objectContaining({ userId: 'dr-lee', topic: 'patient:p1', code: 'topic_denied' }),
    ]);
    // What it was sent on the revoked topic can no longer be acknowledged on this connection.
    expect(refused.code).toBe('unknown_notification');
    expect(lee.closeInfo).toBeUndefined();
    expectBounded(before, after, { heapMiB: 16, rssMiB: 48 });
  });

  it('lowers the PHI level policy lowered, and never raises it', async () => {
    const rules = policy({ 'patient:p1': ['dr-lee'] });
    const fx = await harness.start({ authorize: rules.authorize, phiLevel: rules.phiLevel });
    const lee = await harness.connectAs(fx, 'dr-lee');
    lee.send({ type: 'subscribe', ref: 's', topics: [{ topic: 'patient:p1', presence: true }] });
    await lee.nextFrame('subscribed', (f) => f.ref === 's');
    const payload = { labOrderId: 'L-1', testName: 'Potassium', status: 'final', abnormal: true, critical: false };
    const lab = (id: string) => ({
      id,
      kind: 'lab_result',
      payload: { ...payload, resultAt: new Date().toISOString() },
    });

    rules.levels.set('dr-lee|patient:p1', 'id-only');
    lee.send({ type: 'auth', token: tokenFor('dr-lee'), ref: 'r1' });
    await lee.nextFrame('authenticated', (f) => f.ref === 'r1');
    await fx.hub.publish('patient:p1', lab('lab-1'));
    const reduced = await lee.notification('lab-1');
    rules.levels.set('dr-lee|patient:p1', 'full');
    lee.send({ type: 'auth', token: tokenFor('dr-lee'), ref: 'r2' });
    await lee.nextFrame('authenticated', (f) => f.ref === 'r2');
    await fx.hub.publish('patient:p1', lab('lab-2'));
    const still = await lee.notification('lab-2');
    console.log(`[security] phiLevel re-check: lowered to ${reduced.phi}, kept at ${still.phi} when policy rose`);

    expect(reduced.phi).toBe('id-only');
    expect(reduced.payload).not.toHaveProperty('testName');
    expect(still.phi).toBe('id-only');
    // The presence watch survived the level change.
    expect(fx.hub.presence('patient:p1')).toEqual(['dr-lee']);
    expect(lee.framesOf('unsubscribed')).toEqual([]);
  });

  it('keeps subscriptions when authorize throws during a re-check, reporting an error event', async () => {
    const rules = policy({ 'patient:p1': ['dr-lee'] });
    const fx = await harness.start({ authorize: rules.authorize });
    const lee = await harness.subscriber(fx, 'dr-lee', ['patient:p1']);
    const failed = waitForEvent(fx.hub, 'error', (e) => e.code === 'internal_error', WAIT);

    rules.fail(true);
    lee.send({ type: 'auth', token: tokenFor('dr-lee'), ref: 'r' });
    await lee.nextFrame('authenticated', (f) => f.ref === 'r');
    await failed;
    await fx.hub.publish('patient:p1', custom('p1-1'));
    await lee.notification('p1-1');

    expect(lee.framesOf('unsubscribed')).toEqual([]);
  });
});

describe('re-authorization on an interval (reauthorizeIntervalMs)', () => {
  const harness = useHarness();

  it('drops revoked topics within about one interval, without any frame from the client', async () => {
    const rules = policy({ 'patient:p1': ['dr-lee'] });
    const fx = await harness.start({ authorize: rules.authorize, reauthorizeIntervalMs: 1_000 });
    const control = await startControl(harness, fx);
    const lee = await harness.subscriber(fx, 'dr-lee', ['patient:p1', 'user:dr-lee']);
    const before = await footprint();

    rules.teams['patient:p1'] = [];
    const removedAt = Date.now();
    const dropped = await lee.nextFrame('unsubscribed', (f) => f.code === 'topic_denied', WAIT);
    const after = Date.now() - removedAt;
    await fx.hub.publish('user:dr-lee', custom('own'));
    await lee.notification('own');
    const end = await footprint();
    const { delivered } = await control.finish();
    console.log(
      describeCost(
        'interval re-authorization',
        before,
        end,
        `dropped ${after} ms after the change; control ${delivered}`,
      ),
    );

    expect(dropped.topics).toEqual(['patient:p1']);
    expect(after).toBeLessThan(WAIT);
    expectBounded(before, end, { heapMiB: 16, rssMiB: 48 });
  });

  it('re-checks 300 connections with at most 8 authorize calls at a time, revoking one topic each', async () => {
    const users = Array.from({ length: 300 }, (_, i) => `c${i}`);
    const rules = policy({ 'patient:p1': [...users], 'patient:p2': [...users] });
    const fx = await harness.start({ authorize: rules.authorize, reauthorizeIntervalMs: 1_000 });
    const control = await startControl(harness, fx);
    const clients = [];
    for (const u of users) clients.push(await harness.subscriber(fx, u, ['patient:p1', 'patient:p2', `user:${u}`]));
    const revoked = harness.record(fx, 'revoked');
    const before = await footprint();
    const callsBefore = rules.calls;
    // Only the sweeps count from here (one may have run while the clients subscribed).
    rules.resetMax();

    rules.teams['patient:p2'] = [];
    const started = Date.now();
    await eventually(() => revoked.length === users.length, 'every connection lost patient:p2', WAIT);
    const tookMs = Date.now() - started;
    await Promise.all(clients.map((c) => c.nextFrame('unsubscribed', (f) => f.code === 'topic_denied', WAIT)));
    await fx.hub.publish('patient:p1', custom('still-p1'));
    await Promise.all(clients.map((c) => c.notification('still-p1', WAIT)));
    const after = await footprint();
    const { delivered } = await control.finish();
    console.log(
      describeCost(
        'interval re-authorization of 300 connections',
        before,
        after,
        `all revoked ${tookMs} ms after the change, ${rules.calls - callsBefore} authorize calls, at most ${rules.maxInFlight} at a time; control ${delivered}`,
      ),
    );

    expect(rules.maxInFlight).toBeLessThanOrEqual(8);
    expect(fx.hub.presence('patient:p2')).toEqual([]);
    expect(fx.hub.stats().topics).not.toHaveProperty('patient:p2');
    expectBounded(before, after, { heapMiB: 32, rssMiB: 96 });
  });

  it('refuses an interval under 1 000 ms with invalid_option', async () => {
    await expect(harness.start({ reauthorizeIntervalMs: 10 })).rejects.toMatchObject({ code: 'invalid_option' });
  });
});
