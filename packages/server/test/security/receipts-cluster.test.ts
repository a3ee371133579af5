import { MemoryEscalationStore, MemoryInbox, type Principal } from '@wardcast/server';
import { expect, it } from 'vitest';
import { describeRedis, useBackplanes } from '../../../redis/test/helpers/redis.js';
import { chainOf } from '../helpers/escalation.js';
import { eventually, type Fixture, useHarness } from '../helpers/harness.js';
import { describeCost, expectBounded, footprint, startControl } from './guard.js';

/** Generous: conditions are polled, never slept on. */
const WAIT = 15_000;
/** A deadline no test reaches. */
const LONG = 60_000;

const custom = (id: string) => ({ id, kind: 'custom', payload: { note: `note ${id}` } }) as const;
const authorize = (p: Principal, topic: string): boolean =>
  topic === `user:${p.userId}` || (topic === 'patient:p1' && p.userId === 'dr-lee');

describeRedis('acks and reads across two hubs on a Redis backplane', () => {
  const harness = useHarness();
  const backplanes = useBackplanes();

  /** Hubs A and B of one cluster sharing `inbox` and `escalations` (as durable stores would be shared). */
  async function cluster(inbox: MemoryInbox, escalations: MemoryEscalationStore): Promise<[Fixture, Fixture]> {
    const make = (name: string) => {
      const backplane = backplanes.make({ instanceId: `${name}-${Math.random().toString(36).slice(2, 8)}` });
      return harness.start({
        history: backplane,
        broker: backplane,
        inbox,
        escalations,
        authorize,
        maxFramesPerSecond: 1_000,
      });
    };
    return [await make('a'), await make('b')];
  }

  it('accepts an ack on hub B of what the user received on hub A, and refuses forged ones there', async () => {
    // A hub closes its inbox and escalation store: these are shared, so only the last close counts.
    const inbox = Object.assign(new MemoryInbox(), { close() {} });
    const escalations = Object.assign(new MemoryEscalationStore(), { close() {} });
    const [a, b] = await cluster(inbox, escalations);
    const control = await startControl(harness, a);
    const onA = await harness.subscriber(a, 'u1', ['user:u1']);
    const leeOnA = await harness.subscriber(a, 'dr-lee', ['patient:p1']);
    await b.hub.publish('user:u1', custom('n-1'));
    await b.hub.publish('patient:p1', {
      ...custom('crit-1'),
      priority: 'critical',
      escalation: chainOf(['dr-lee', LONG], ['senior', LONG]),
    });
    const seen = await onA.notification('n-1');
    const crit = await leeOnA.notification('crit-1');
    leeOnA.terminate();
    const acksA = harness.record(a, 'ack');
    const acksB = harness.record(b, 'ack');
    const acknowledged = [a, b].map((f) => harness.record(f, 'acknowledged'));

    // New connections on B that were never sent n-1 or crit-1 (they resume after them).
    const onB = await harness.connectAs(b, 'u1');
    await onB.subscribe([{ topic: 'user:u1', since: { epoch: seen.epoch, seq: seen.seq } }]);
    const leeOnB = await harness.connectAs(b, 'dr-lee');
    await leeOnB.subscribe([{ topic: 'patient:p1', since: { epoch: crit.epoch, seq: crit.seq } }]);
    const mallory = await harness.subscriber(b, 'mallory', ['user:mallory']);
    const before = await footprint();
    for (let i = 0; i < 200; i++)
      mallory.send({ type: i % 2 ? 'read' : 'ack', id: i % 3 ? 'n-1' : 'crit-1', ref: `m${i}` });
    onB.send({ type: 'ack', id: 'n-1', ref: 'u' });
    leeOnB.send({ type: 'ack', id: 'crit-1', ref: 'l' });
    await onB.nextFrame('receipt', (f) => f.ref === 'u');
    await leeOnB.nextFrame('receipt', (f) => f.ref === 'l');
    // The user's device on A sees the read state change made on B.
    await onA.nextFrame('receipt', (f) => f.id === 'n-1' && f.ref === undefined, WAIT);
    await eventually(() => mallory.framesOf('error').length === 200, 'every forged frame was refused', WAIT);
    await eventually(() => acknowledged.flat().length === 1, 'the escalation ended once', WAIT);
    const after = await footprint();
    const { delivered } = await control.finish();
    console.log(
      describeCost(
        'acks across two hubs (Redis backplane, shared inbox and escalation store)',
        before,
        after,
        `legit acks on B accepted, 200 forged refused; control ${delivered}`,
      ),
    );

    expect(new Set(mallory.framesOf('error').map((e) => e.code))).toEqual(new Set(['unknown_notification']));
    expect(mallory.framesOf('receipt')).toEqual([]);
    expect(acksA).toEqual([]);
    expect(acksB.map((e) => [e.userId, e.id])).toEqual([
      ['u1', 'n-1'],
      ['dr-lee', 'crit-1'],
    ]);
    expect(acknowledged.flat()[0]).toMatchObject({ id: 'crit-1', userId: 'dr-lee' });
    expect(inbox.list('u1', { limit: 10 }).items[0]?.acknowledgedAt).toEqual(expect.any(String));
    expect(escalations.load('crit-1')).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'dr-lee' });
    expectBounded(before, after, { heapMiB: 24, rssMiB: 64 });
  });
});
