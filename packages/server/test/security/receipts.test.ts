import { type AuditEvent, MemoryEscalationStore, MemoryInbox, type Principal } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { NotificationHandles } from '../../src/core/notification-handles.js';
import { RecentDeliveries } from '../../src/core/recent-deliveries.js';
import type { TestClient } from '../helpers/client.js';
import { chainOf } from '../helpers/escalation.js';
import { eventually, useHarness } from '../helpers/harness.js';
import { describeCost, expectBounded, footprint, startControl } from './guard.js';

/** Generous: conditions are polled, never slept on. */
const WAIT = 15_000;
/** A deadline no test reaches. */
const LONG = 60_000;
const FORGED = 1_200;

/** Own `user:` topic, and `patient:<id>` for the users on its care team. */
function careTeams(teams: Record<string, readonly string[]>) {
  return (p: Principal, topic: string): boolean =>
    topic === `user:${p.userId}` || (teams[topic]?.includes(p.userId) ?? false);
}

const custom = (id: string) => ({ id, kind: 'custom', payload: { note: `note ${id}` } }) as const;
const critical = (id: string, chain: readonly (readonly [string, number])[]) =>
  ({ ...custom(id), priority: 'critical', escalation: chainOf(...chain) }) as const;

/** Sends `frames` acks/reads of `ids` (alternating) with refs, and waits for an answer to each. */
async function sendReceipts(client: TestClient, ids: readonly string[], frames: number): Promise<void> {
  for (let i = 0; i < frames; i++) {
    client.send({ type: i % 2 === 0 ? 'ack' : 'read', id: ids[i % ids.length], ref: `f${i}` });
  }
  const last = `f${frames - 1}`;
  await eventually(
    () => client.frames.some((f) => (f.type === 'error' || f.type === 'receipt') && f.ref === last),
    'every forged frame was answered',
    WAIT,
  );
}

const notificationAudits = (audit: readonly AuditEvent[]) => audit.filter((e) => e.type.startsWith('notification.'));

describe('forged acks and reads', () => {
  const harness = useHarness();

  it('1,200 forged acks and reads reach no event, audit record, inbox, escalation or other device', async () => {
    const inbox = new MemoryInbox();
    const escalations = new MemoryEscalationStore();
    // The attacker's frame rate is not what is tested here: the id check is.
    const fx = await harness.start({
      inbox,
      escalations,
      maxFramesPerSecond: 5_000,
      authorize: careTeams({ 'patient:p9': ['dr-lee'] }),
    });
    const control = await startControl(harness, fx);
    const victim = await harness.subscriber(fx, 'victim', ['user:victim']);
    const lee = await harness.subscriber(fx, 'dr-lee', ['patient:p9']);
    const mallory = await harness.subscriber(fx, 'mallory', ['user:mallory']);
    await fx.hub.publish('user:victim', custom('v-1'));
    await fx.hub.publish(
      'user:victim',
      critical('crit-v', [
        ['victim', LONG],
        ['senior', LONG],
      ]),
    );
    await fx.hub.publish('patient:p9', custom('p9-1'));
    await fx.hub.publish('patient:p9', critical('crit-p9', [['dr-lee', LONG]]));
    await fx.hub.publish('user:mallory', custom('m-1'));
    await victim.notification('crit-v');
    await lee.notification('crit-p9');
    await mallory.notification('m-1');
    const acks = harness.record(fx, 'ack');
    const reads = harness.record(fx, 'read');
    const acknowledged = harness.record(fx, 'acknowledged');
    const audit = harness.record(fx, 'audit');
    const before = await footprint();

    // Others' ids (inbox rows, an escalation, its re-sent id, a patient topic mallory may not
    // see), ids nobody published, and ids that look like hub ids.
    const ids = ['v-1', 'crit-v', 'crit-v~1', 'p9-1', 'crit-p9', 'crit-p9~0', 'nope', 'x'.repeat(128)];
    for (let i = 0; i < 40; i++) ids.push(globalThis.crypto.randomUUID());
    const started = Date.now();
    await sendReceipts(mallory, ids, FORGED);
    const elapsed = Date.now() - started;
    const errors = mallory.framesOf('error');
    await victim.roundTrip();
    await lee.roundTrip();
    const after = await footprint();
    const { delivered } = await control.finish();
    console.log(
      describeCost(
        `${FORGED} forged acks/reads`,
        before,
        after,
        `${errors.length} refused in ${elapsed} ms, 0 events, control got ${delivered}`,
      ),
    );

    expect(errors).toHaveLength(FORGED);
    expect(new Set(errors.map((e) => e.code))).toEqual(new Set(['unknown_notification']));
    // Nothing of what was sent comes back in the message (the ref is the client's own).
    expect(new Set(errors.map((e) => e.message))).toEqual(new Set(['unknown notification']));
    expect(mallory.framesOf('receipt')).toEqual([]);
    expect(victim.framesOf('receipt')).toEqual([]);
    expect(acks).toEqual([]);
    expect(reads).toEqual([]);
    expect(notificationAudits(audit)).toEqual([]);
    expect(acknowledged).toEqual([]);
    expect(inbox.unreadCount('victim')).toBe(2);
    expect(escalations.load('crit-v')).toMatchObject({ status: 'pending' });
    expect(escalations.load('crit-p9')).toMatchObject({ status: 'pending' });
    expect(mallory.closeInfo).toBeUndefined();
    expectBounded(before, after, { heapMiB: 24, rssMiB: 64 });

    // The same connections' legitimate receipts still work.
    mallory.send({ type: 'ack', id: 'm-1', ref: 'own' });
    expect(await mallory.nextFrame('receipt', (f) => f.ref === 'own')).toMatchObject({ id: 'm-1', action: 'ack' });
    victim.send({ type: 'ack', id: 'crit-v', ref: 'v' });
    await victim.nextFrame('receipt', (f) => f.ref === 'v');
    lee.send({ type: 'ack', id: 'crit-p9', ref: 'l' });
    await lee.nextFrame('receipt', (f) => f.ref === 'l');
    await eventually(() => acknowledged.length === 2, 'both escalations ended', WAIT);
    expect(acks.map((a) => [a.userId, a.id])).toEqual([
      ['mallory', 'm-1'],
      ['victim', 'crit-v'],
      ['dr-lee', 'crit-p9'],
    ]);
    expect(notificationAudits(audit).map((e) => e.notificationId)).toEqual(['m-1', 'crit-v', 'crit-p9']);
  });

  it('refuses an ack for a notification of a topic the user was never allowed, without an inbox', async () => {
    const fx = await harness.start({ authorize: careTeams({ 'patient:p1': ['dr-lee'] }) });
    const control = await startControl(harness, fx);
    const lee = await harness.subscriber(fx, 'dr-lee', ['patient:p1']);
    const eve = await harness.subscriber(fx, 'eve', ['user:eve']);
    const denied = await eve.subscribe(['patient:p1']);
    await fx.hub.publish('patient:p1', custom('p1-1'));
    await lee.notification('p1-1');
    const acks = harness.record(fx, 'ack');
    const before = await footprint();

    eve.send({ type: 'ack', id: 'p1-1', ref: 'e' });
    const refused = await eve.nextFrame('error', (f) => f.ref === 'e');
    lee.send({ type: 'ack', id: 'p1-1', ref: 'l' });
    await lee.nextFrame('receipt', (f) => f.ref === 'l');
    const after = await footprint();
    const { delivered } = await control.finish();
    console.log(describeCost('ack of an unauthorized patient topic', before, after, `control got ${delivered}`));

    expect(denied[0]?.status).toBe('denied');
    expect(refused.code).toBe('unknown_notification');
    expect(acks.map((a) => a.userId)).toEqual(['dr-lee']);
    expectBounded(before, after, { heapMiB: 16, rssMiB: 48 });
  });
});

describe('legitimate acks and reads', () => {
  const harness = useHarness();

  it('accepts acks of an inbox replay longer than the per-connection window: the inbox vouches', async () => {
    const inbox = new MemoryInbox();
    const fx = await harness.start({ inbox, maxRecentDeliveries: 4, maxFramesPerSecond: 1_000 });
    const control = await startControl(harness, fx);
    for (let i = 1; i <= 30; i++) await fx.hub.publish('user:u1', custom(`n-${i}`));
    const acks = harness.record(fx, 'ack');
    const device = await harness.connectAs(fx, 'u1');
    const before = await footprint();

    device.send({ type: 'subscribe', ref: 's', topics: [{ topic: 'user:u1', unread: true }] });
    await device.nextFrame('subscribed', (f) => f.ref === 's');
    const replayed = device.framesOf('notification').map((n) => n.id);
    for (const id of replayed) device.send({ type: 'ack', id, ref: `a-${id}` });
    await eventually(() => device.framesOf('receipt').length === replayed.length, 'every ack was recorded', WAIT);
    const after = await footprint();
    const { delivered } = await control.finish();
    console.log(
      describeCost(
        'acks after an inbox replay',
        before,
        after,
        `${replayed.length} replayed, all acked; control ${delivered}`,
      ),
    );

    expect(replayed).toHaveLength(30);
    expect(device.framesOf('error')).toEqual([]);
    expect(acks).toHaveLength(30);
    expect(inbox.unreadCount('u1')).toBe(0);
    expectBounded(before, after, { heapMiB: 16, rssMiB: 48 });
  });

  it('accepts acks of a history replay on a patient topic, and of an escalation received on an earlier connection', async () => {
    const fx = await harness.start({ authorize: careTeams({ 'patient:p1': ['dr-lee'] }), maxFramesPerSecond: 1_000 });
    const control = await startControl(harness, fx);
    const first = await harness.subscriber(fx, 'dr-lee', ['patient:p1']);
    await fx.hub.publish('patient:p1', critical('crit-1', [['dr-lee', LONG]]));
    const seen = await first.notification('crit-1');
    first.terminate();
    for (let i = 1; i <= 5; i++) await fx.hub.publish('patient:p1', custom(`p-${i}`));
    const acks = harness.record(fx, 'ack');
    const acknowledged = harness.record(fx, 'acknowledged');
    // A new connection, resuming after crit-1: it is replayed p-1..p-5, never crit-1.
    const second = await harness.connectAs(fx, 'dr-lee');
    const before = await footprint();
    const [result] = await second.subscribe([{ topic: 'patient:p1', since: { epoch: seen.epoch, seq: seen.seq } }]);
    for (const id of ['p-1', 'p-5', 'crit-1']) second.send({ type: 'ack', id, ref: id });
    for (const id of ['p-1', 'p-5', 'crit-1']) await second.nextFrame('receipt', (f) => f.ref === id);
    await eventually(() => acknowledged.length === 1, 'the escalation ended', WAIT);
    const after = await footprint();
    const { delivered } = await control.finish();
    console.log(
      describeCost('acks after a history replay and of an escalation', before, after, `control ${delivered}`),
    );

    expect(result?.recovered).toBe(true);
    expect(second.framesOf('notification').map((n) => n.id)).toEqual(['p-1', 'p-2', 'p-3', 'p-4', 'p-5']);
    expect(acks.map((a) => a.id)).toEqual(['p-1', 'p-5', 'crit-1']);
    expect(acknowledged[0]).toMatchObject({ id: 'crit-1', userId: 'dr-lee' });
    expectBounded(before, after, { heapMiB: 16, rssMiB: 48 });
  });

  it('keeps at most maxRecentDeliveries ids per connection: an older patient-topic id is refused', async () => {
    const fx = await harness.start({ authorize: careTeams({ 'patient:p1': ['dr-lee'] }), maxRecentDeliveries: 8 });
    const lee = await harness.subscriber(fx, 'dr-lee', ['patient:p1']);
    for (let i = 1; i <= 20; i++) await fx.hub.publish('patient:p1', custom(`p-${i}`));
    await lee.notification('p-20');

    lee.send({ type: 'ack', id: 'p-13', ref: 'in' });
    lee.send({ type: 'ack', id: 'p-12', ref: 'out' });
    const inWindow = await lee.nextFrame('receipt', (f) => f.ref === 'in');
    const outside = await lee.nextFrame('error', (f) => f.ref === 'out');
    console.log('[security] window of 8: p-13 (8th newest) acknowledged, p-12 (9th) refused');

    expect(inWindow.id).toBe('p-13');
    expect(outside.code).toBe('unknown_notification');
  });
});

describe('RecentDeliveries', () => {
  /** Opens a handle for `id`, records it in `recent`, and lets go of the opener's hold. */
  const deliver = (handles: NotificationHandles, recent: RecentDeliveries, id: string, topic: string): void => {
    const handle = handles.open(id, topic);
    recent.add(handle);
    handles.release(handle);
  };

  it('holds at most its capacity, overwriting the oldest, and forgets a topic', () => {
    const handles = new NotificationHandles();
    const recent = new RecentDeliveries(3, handles);
    for (let i = 1; i <= 5; i++) deliver(handles, recent, `n-${i}`, i % 2 === 0 ? 'patient:a' : 'patient:b');

    expect(recent.size).toBe(3);
    expect(['n-1', 'n-2', 'n-3', 'n-4', 'n-5'].map((id) => recent.topicOf(id))).toEqual([
      undefined,
      undefined,
      'patient:b',
      'patient:a',
      'patient:b',
    ]);
    recent.forgetTopic('patient:b');
    expect(['n-3', 'n-4', 'n-5'].map((id) => recent.topicOf(id))).toEqual([undefined, 'patient:a', undefined]);
    deliver(handles, recent, 'n-6', 'patient:b');
    expect(recent.size).toBe(3);
    expect(recent.topicOf('n-6')).toBe('patient:b');
  });

  it('holds a handle while a ring has it: shared by rings, freed by the last, reused after', () => {
    const handles = new NotificationHandles();
    const a = new RecentDeliveries(2, handles);
    const b = new RecentDeliveries(2, handles);
    const shared = handles.open('n-1', 'patient:a');
    a.add(shared);
    b.add(shared);
    // The same notification twice in one ring (a replay overlapping the live stream) holds it twice.
    a.add(shared);
    handles.release(shared);

    expect(handles.size).toBe(1);
    deliver(handles, a, 'n-2', 'patient:a');
    deliver(handles, a, 'n-3', 'patient:a');
    expect(a.topicOf('n-1')).toBeUndefined();
    expect(b.topicOf('n-1')).toBe('patient:a');
    expect(handles.size).toBe(3);
    b.clear();
    expect(handles.size).toBe(2);
    expect(handles.id(shared)).toBeUndefined();
    const reused = handles.open('n-4', 'patient:c');
    expect(reused).toBe(shared);
    expect(handles.topic(reused)).toBe('patient:c');
    handles.release(reused);
    a.clear();
    expect(handles.size).toBe(0);
    expect(a.size).toBe(0);
    expect(a.topicOf('n-3')).toBeUndefined();
  });
});
