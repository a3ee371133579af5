import {
  type EscalationRecord,
  type InboxStore,
  MemoryEscalationStore,
  MemoryInbox,
  type StoredNotification,
} from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { inboxReplay } from '../src/core/subscribe.js';
import type { TestClient } from './helpers/client.js';
import { eventually, useHarness } from './helpers/harness.js';

const custom = (id: string) => ({ id, kind: 'custom', payload: { title: id, message: id } }) as const;

async function subscribe(client: TestClient, entry: Record<string, unknown>) {
  const ref = `s${Math.random().toString(36).slice(2)}`;
  client.send({ type: 'subscribe', ref, topics: [entry] });
  return (await client.nextFrame('subscribed', (f) => f.ref === ref)).topics[0];
}

function stored(id: string, epoch: string, seq: number, at: number): StoredNotification {
  return {
    id,
    topic: 'user:u1',
    kind: 'custom',
    priority: 'routine',
    createdAt: new Date(1_800_000_000_000 + at).toISOString(),
    payload: null,
    epoch,
    seq,
  };
}

describe('MemoryInbox.unread', () => {
  it('returns the newest unread notifications, oldest first', () => {
    const inbox = new MemoryInbox();
    for (let i = 1; i <= 6; i++) inbox.record('u1', stored(`n-${i}`, 'e', i, i));
    inbox.markRead('u1', 'n-2');
    inbox.acknowledge('u1', 'n-5');
    expect(inbox.unread('u1', 10).map((n) => n.id)).toEqual(['n-1', 'n-3', 'n-4', 'n-6']);
    expect(inbox.unread('u1', 2).map((n) => n.id)).toEqual(['n-4', 'n-6']);
    expect(inbox.unread('nobody', 2)).toEqual([]);
  });
});

describe('inboxReplay order', () => {
  it('puts older epochs first (by their first notification), the current one last, each in seq order', () => {
    const list = [
      stored('c2', 'cur', 2, 50),
      stored('b1', 'old-b', 7, 20),
      stored('a2', 'old-a', 4, 11),
      stored('c1', 'cur', 1, 40),
      stored('a1', 'old-a', 3, 10),
      stored('b2', 'old-b', 8, 21),
      stored('c9', 'cur', 9, 90),
    ];
    const position = { epoch: 'cur', seq: 5 };
    // c9 is after the position: it comes buffered or live, not from the inbox.
    expect(inboxReplay(list, position, undefined).map((n) => n.id)).toEqual(['a1', 'a2', 'b1', 'b2', 'c1', 'c2']);
    // What the resume point covers in its own epoch is left out.
    expect(inboxReplay(list, position, { epoch: 'old-b', seq: 7 }).map((n) => n.id)).toEqual([
      'a1',
      'a2',
      'b2',
      'c1',
      'c2',
    ]);
  });
});

describe('unread replay on subscribe (MemoryInbox)', () => {
  const harness = useHarness();

  it('replays the unread inbox to a fresh device before going live, in seq order, without duplicates', async () => {
    const inbox = new MemoryInbox();
    const fx = await harness.start({ inbox });
    for (let i = 1; i <= 8; i++) await fx.hub.publish('user:u1', custom(`n-${i}`));
    inbox.markRead('u1', 'n-3');
    const device = await harness.connectAs(fx, 'u1');
    const result = await subscribe(device, { topic: 'user:u1', unread: true });
    expect(result).toMatchObject({ status: 'ok', recovered: false, position: { seq: 8 } });
    expect(device.framesOf('notification').map((n) => n.id)).toEqual(['n-1', 'n-2', 'n-4', 'n-5', 'n-6', 'n-7', 'n-8']);
    await fx.hub.publish('user:u1', custom('n-9'));
    await device.notification('n-9');
    expect(device.framesOf('notification')).toHaveLength(8);
  });

  it('uses history, not the inbox, when the resume point is covered', async () => {
    const inbox = new MemoryInbox();
    const fx = await harness.start({ inbox });
    const first = await harness.connectAs(fx, 'u1');
    const r = await subscribe(first, { topic: 'user:u1', unread: true });
    for (let i = 1; i <= 4; i++) await fx.hub.publish('user:u1', custom(`n-${i}`));
    await first.notification('n-4');
    inbox.markRead('u1', 'n-4');
    const again = await harness.connectAs(fx, 'u1');
    const result = await subscribe(again, { topic: 'user:u1', since: r?.position, unread: true });
    expect(result?.recovered).toBe(true);
    // Everything after the resume point, read or not, exactly once.
    expect(again.framesOf('notification').map((n) => n.id)).toEqual(['n-1', 'n-2', 'n-3', 'n-4']);
  });

  it('ignores `unread` on other topics, on another user’s topic, and without an inbox', async () => {
    const inbox = new MemoryInbox();
    const fx = await harness.start({ inbox, authorize: () => true });
    await fx.hub.publish('user:u1', custom('mine'));
    const other = await harness.connectAs(fx, 'u2');
    await subscribe(other, { topic: 'user:u1', unread: true });
    await subscribe(other, { topic: 'patient:p1', unread: true });
    expect(other.framesOf('notification')).toEqual([]);

    const bare = await harness.start();
    await bare.hub.publish('user:u1', custom('x'));
    const device = await harness.connectAs(bare, 'u1');
    expect(await subscribe(device, { topic: 'user:u1', unread: true })).toMatchObject({ status: 'ok' });
    expect(device.framesOf('notification')).toEqual([]);
  });

  it('replays at most maxInboxReplay (the newest), and pages through `list` for a store without `unread`', async () => {
    const memory = new MemoryInbox();
    const minimal: InboxStore = {
      record: (u, n) => memory.record(u, n),
      list: (u, o) => memory.list(u, o),
      markRead: (u, id) => memory.markRead(u, id),
      acknowledge: (u, id) => memory.acknowledge(u, id),
    };
    for (const inbox of [memory, minimal]) {
      const fx = await harness.start({ inbox, maxInboxReplay: 150 });
      const user = inbox === memory ? 'u1' : 'u2';
      for (let i = 1; i <= 160; i++) await fx.hub.publish(`user:${user}`, custom(`${user}-${i}`));
      memory.markRead(user, `${user}-160`);
      const device = await harness.connectAs(fx, user);
      await subscribe(device, { topic: `user:${user}`, unread: true });
      const ids = device.framesOf('notification').map((n) => n.id);
      // The newest 150 entries (one of them read), oldest first.
      const expected = Array.from({ length: 159 }, (_, i) => `${user}-${i + 1}`).slice(inbox === memory ? 9 : 10);
      expect(ids).toEqual(expected);
    }
  });

  it('keeps the subscription when the inbox read fails (no replay, logged)', async () => {
    const inbox = new MemoryInbox();
    inbox.unread = () => {
      throw new Error('db down');
    };
    const fx = await harness.start({ inbox });
    await fx.hub.publish('user:u1', custom('n-1'));
    const device = await harness.connectAs(fx, 'u1');
    expect(await subscribe(device, { topic: 'user:u1', unread: true })).toMatchObject({ status: 'ok' });
    await fx.hub.publish('user:u1', custom('n-2'));
    await device.notification('n-2');
  });
});

describe('read state shared live by a user’s connections', () => {
  const harness = useHarness();

  it('sends a receipt to every other connection of the user once the inbox accepted a read or ack', async () => {
    const inbox = new MemoryInbox();
    const fx = await harness.start({ inbox });
    await fx.hub.publish('user:u1', custom('n-1'));
    await fx.hub.publish('user:u1', custom('n-2'));
    const a = await harness.connectAs(fx, 'u1', { label: 'A' });
    const b = await harness.connectAs(fx, 'u1', { label: 'B' });
    const stranger = await harness.connectAs(fx, 'u2', { label: 'stranger' });
    a.send({ type: 'read', id: 'n-1', ref: 'r1' });
    expect(await a.nextFrame('receipt')).toEqual({ type: 'receipt', id: 'n-1', action: 'read', ref: 'r1' });
    expect(await b.nextFrame('receipt')).toEqual({ type: 'receipt', id: 'n-1', action: 'read' });
    b.send({ type: 'ack', id: 'n-2' });
    expect(await a.nextFrame('receipt')).toEqual({ type: 'receipt', id: 'n-2', action: 'ack' });
    await b.nextFrame('receipt', (r) => r.id === 'n-2');
    // From outside a socket (the HTTP endpoints use it): every connection.
    expect(await fx.hub.recordReceipt('u1', 'n-1', 'read')).toBe(true);
    await a.nextFrame('receipt', (r) => r.id === 'n-1');
    await b.nextFrame('receipt', (r) => r.id === 'n-1');
    // Unknown ids are refused and not shared; other users never see any receipt.
    a.send({ type: 'read', id: 'unknown', ref: 'r2' });
    expect((await a.nextFrame('error', (f) => f.ref === 'r2')).code).toBe('unknown_notification');
    expect(await fx.hub.recordReceipt('u1', 'unknown', 'read')).toBe(false);
    await a.roundTrip();
    await b.roundTrip();
    await stranger.roundTrip();
    expect(a.framesOf('receipt')).toHaveLength(3);
    expect(b.framesOf('receipt')).toHaveLength(3);
    expect(stranger.framesOf('receipt')).toEqual([]);
  });

  it('shares nothing without an inbox (there is no shared read state)', async () => {
    const fx = await harness.start();
    const a = await harness.subscriber(fx, 'u1', ['user:u1']);
    const b = await harness.connectAs(fx, 'u1');
    await fx.hub.publish('user:u1', custom('n-1'));
    await a.notification('n-1');
    a.send({ type: 'read', id: 'n-1' });
    await a.nextFrame('receipt');
    await b.roundTrip();
    expect(b.framesOf('receipt')).toEqual([]);
  });
});

describe('escalation store polling (resumeIntervalMs)', () => {
  const harness = useHarness();

  it('asks the store again at its interval and resumes records it does not track, never finished ones', async () => {
    const inner = new MemoryEscalationStore();
    let loads = 0;
    const store = Object.assign(Object.create(null), {
      resumeIntervalMs: 100,
      save: (r: EscalationRecord) => inner.save(r),
      load: (id: string) => inner.load(id),
      loadPending: () => {
        loads++;
        return inner.loadPending();
      },
      delete: (id: string) => inner.delete(id),
    });
    const fx = await harness.start({ escalations: store });
    const escalated = harness.record(fx, 'escalated');
    await eventually(() => loads >= 1, 'the first load');
    // A record another (dead) instance left behind appears after start.
    inner.save({
      id: 'late-1',
      topic: 'user:dr-lee',
      kind: 'custom',
      priority: 'critical',
      payload: { title: 't', message: 'm' },
      createdAt: new Date().toISOString(),
      chain: [
        { userId: 'dr-lee', deadlineMs: 50 },
        { userId: 'dr-senior', deadlineMs: 60_000 },
      ],
      step: 0,
      deadline: Date.now() + 50,
      status: 'pending',
    });
    await eventually(() => escalated.length === 1, 'the polled record escalates', 2_000);
    const senior = await harness.connectAs(fx, 'dr-senior');
    senior.send({ type: 'ack', id: 'late-1~1', ref: 'k' });
    await senior.nextFrame('receipt');
    await eventually(() => inner.load('late-1')?.status === 'acknowledged', 'acknowledged');
    const before = loads;
    await eventually(() => loads >= before + 2, 'more polls');
    expect(escalated).toHaveLength(1);
    await fx.hub.close();
    const after = loads;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(loads).toBe(after);
  });
});
