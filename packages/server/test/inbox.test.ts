import { DEFAULT_MEMORY_INBOX, isWardcastError, MemoryInbox, type StoredNotification } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { nextRef } from './helpers/client.js';
import { eventually, useHarness, waitForEvent } from './helpers/harness.js';

let seq = 0;
function stored(id: string, topic = 'user:u1'): StoredNotification {
  seq++;
  return {
    id,
    topic,
    kind: 'custom',
    priority: 'routine',
    createdAt: new Date(1_700_000_000_000 + seq).toISOString(),
    payload: { n: id },
    epoch: 'e1',
    seq,
  };
}

function fill(inbox: MemoryInbox, userId: string, count: number, prefix = 'n'): void {
  for (let i = 1; i <= count; i++) inbox.record(userId, stored(`${prefix}-${i}`, `user:${userId}`));
}

/** Every id of a user's inbox, newest first, walking all pages. */
function allIds(inbox: MemoryInbox, userId: string, limit: number): string[] {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = inbox.list(userId, cursor === undefined ? { limit } : { cursor, limit });
    ids.push(...page.items.map((e) => e.notification.id));
    cursor = page.nextCursor;
    if (cursor === undefined) return ids;
  }
  throw new Error('paging did not end');
}

describe('MemoryInbox', () => {
  it('has documented defaults and rejects bad options', () => {
    expect(new MemoryInbox().options).toEqual({ maxEntriesPerUser: 500, maxUsers: 10_000 });
    expect(DEFAULT_MEMORY_INBOX).toEqual({ maxEntriesPerUser: 500, maxUsers: 10_000 });
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new MemoryInbox({ maxEntriesPerUser: bad })).toThrow(/maxEntriesPerUser/);
      expect(() => new MemoryInbox({ maxUsers: bad })).toThrow(/maxUsers/);
    }
    try {
      new MemoryInbox({ maxUsers: 0 });
    } catch (err) {
      expect(isWardcastError(err, 'invalid_option')).toBe(true);
    }
  });

  it('lists newest first across pages with an opaque cursor, and ends with no cursor', () => {
    const inbox = new MemoryInbox();
    fill(inbox, 'u1', 5);
    const first = inbox.list('u1', { limit: 2 });
    expect(first.items.map((e) => e.notification.id)).toEqual(['n-5', 'n-4']);
    expect(typeof first.nextCursor).toBe('string');
    expect(first.unreadCount).toBe(5);
    const second = inbox.list('u1', { cursor: first.nextCursor as string, limit: 2 });
    expect(second.items.map((e) => e.notification.id)).toEqual(['n-3', 'n-2']);
    const third = inbox.list('u1', { cursor: second.nextCursor as string, limit: 2 });
    expect(third.items.map((e) => e.notification.id)).toEqual(['n-1']);
    expect(third.nextCursor).toBeUndefined();
    // An exact fit ends without a cursor too.
    expect(inbox.list('u1', { limit: 5 }).nextCursor).toBeUndefined();
    expect(allIds(inbox, 'u1', 3)).toEqual(['n-5', 'n-4', 'n-3', 'n-2', 'n-1']);
  });

  it('keeps paging stable when newer notifications arrive between pages', () => {
    const inbox = new MemoryInbox();
    fill(inbox, 'u1', 4);
    const first = inbox.list('u1', { limit: 2 });
    inbox.record('u1', stored('late'));
    const second = inbox.list('u1', { cursor: first.nextCursor as string, limit: 2 });
    expect(second.items.map((e) => e.notification.id)).toEqual(['n-2', 'n-1']);
  });

  it('answers an empty page for an unknown user without creating one', () => {
    const inbox = new MemoryInbox();
    expect(inbox.list('nobody', { limit: 20 })).toEqual({ items: [], nextCursor: undefined, unreadCount: 0 });
    expect(inbox.userCount).toBe(0);
  });

  it('rejects a cursor it did not issue with bad_request', () => {
    const inbox = new MemoryInbox();
    fill(inbox, 'u1', 1);
    for (const cursor of ['', 'not a cursor', '-1', 'ZZZ', 'a'.repeat(11), '{"p":1}']) {
      let caught: unknown;
      try {
        inbox.list('u1', { cursor, limit: 5 });
      } catch (err) {
        caught = err;
      }
      expect(isWardcastError(caught, 'bad_request'), cursor).toBe(true);
    }
  });

  it('records idempotently by notification id', () => {
    const inbox = new MemoryInbox();
    const n = stored('same');
    inbox.record('u1', n);
    inbox.record('u1', { ...n, payload: { changed: true } });
    const page = inbox.list('u1', { limit: 10 });
    expect(page.items).toHaveLength(1);
    expect(page.items[0]?.notification.payload).toEqual({ n: 'same' });
    expect(page.unreadCount).toBe(1);
  });

  it('counts a notification marked read twice once, and keeps the first readAt', () => {
    let now = 1_000;
    const inbox = new MemoryInbox({ now: () => now });
    fill(inbox, 'u1', 3);
    expect(inbox.markRead('u1', 'n-2')).toBe(true);
    now = 2_000;
    expect(inbox.markRead('u1', 'n-2')).toBe(true);
    const page = inbox.list('u1', { limit: 10 });
    expect(page.unreadCount).toBe(2);
    expect(page.items.find((e) => e.notification.id === 'n-2')?.readAt).toBe(new Date(1_000).toISOString());
  });

  it('acknowledges once and marks read; unknown ids and other users are false and change nothing', () => {
    let now = 5_000;
    const inbox = new MemoryInbox({ now: () => now });
    fill(inbox, 'u1', 2);
    fill(inbox, 'u2', 1, 'other');
    expect(inbox.acknowledge('u1', 'n-1')).toBe(true);
    now = 6_000;
    expect(inbox.acknowledge('u1', 'n-1')).toBe(true);
    expect(inbox.markRead('u1', 'n-1')).toBe(true);
    const entry = inbox.list('u1', { limit: 10 }).items.find((e) => e.notification.id === 'n-1');
    expect(entry).toMatchObject({
      readAt: new Date(5_000).toISOString(),
      acknowledgedAt: new Date(5_000).toISOString(),
    });
    expect(inbox.unreadCount('u1')).toBe(1);
    expect(inbox.markRead('u1', 'missing')).toBe(false);
    expect(inbox.acknowledge('u1', 'other-1')).toBe(false);
    expect(inbox.markRead('nobody', 'n-1')).toBe(false);
    expect(inbox.unreadCount('u2')).toBe(1);
    expect(inbox.unreadCount('u1')).toBe(1);
  });

  it('drops the oldest notifications past maxEntriesPerUser, and they no longer count as unread', () => {
    const inbox = new MemoryInbox({ maxEntriesPerUser: 3 });
    fill(inbox, 'u1', 3);
    inbox.markRead('u1', 'n-3');
    fill(inbox, 'u1', 5, 'm');
    expect(allIds(inbox, 'u1', 2)).toEqual(['m-5', 'm-4', 'm-3']);
    expect(inbox.unreadCount('u1')).toBe(3);
    expect(inbox.markRead('u1', 'n-1')).toBe(false);
    expect(inbox.unreadCount('u1')).toBe(3);
    // A cursor whose notification was dropped still pages on (to the end).
    const small = new MemoryInbox({ maxEntriesPerUser: 2 });
    fill(small, 'u1', 2);
    const first = small.list('u1', { limit: 1 });
    fill(small, 'u1', 2, 'new');
    const rest = small.list('u1', { cursor: first.nextCursor as string, limit: 5 });
    expect(rest.items).toEqual([]);
    expect(rest.nextCursor).toBeUndefined();
  });

  it('forgets the least recently used user past maxUsers', () => {
    const inbox = new MemoryInbox({ maxUsers: 2 });
    fill(inbox, 'a', 1);
    fill(inbox, 'b', 1);
    inbox.list('a', { limit: 1 }); // a is now more recent than b
    fill(inbox, 'c', 1);
    expect(inbox.userCount).toBe(2);
    expect(inbox.unreadCount('b')).toBe(0);
    expect(inbox.list('b', { limit: 5 }).items).toEqual([]);
    expect(inbox.unreadCount('a')).toBe(1);
    expect(inbox.unreadCount('c')).toBe(1);
  });

  it('never lets unreadCount drift from the unread notifications it holds (random operations)', () => {
    let state = 42;
    const random = (n: number): number => {
      state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
      return state % n;
    };
    const inbox = new MemoryInbox({ maxEntriesPerUser: 7, maxUsers: 3 });
    const users = ['a', 'b', 'c', 'd'];
    for (let step = 0; step < 3_000; step++) {
      const user = users[random(users.length)] as string;
      const id = `id-${random(12)}`;
      const op = random(4);
      if (op === 0) inbox.record(user, stored(id, `user:${user}`));
      else if (op === 1) inbox.markRead(user, id);
      else if (op === 2) inbox.acknowledge(user, id);
      const page = inbox.list(user, { limit: 500 });
      const unread = page.items.filter((e) => e.readAt === undefined).length;
      expect(page.unreadCount).toBe(unread);
      expect(page.items.length).toBeLessThanOrEqual(7);
      expect(new Set(page.items.map((e) => e.notification.id)).size).toBe(page.items.length);
      expect(inbox.userCount).toBeLessThanOrEqual(3);
    }
  });

  it('close() forgets everything', () => {
    const inbox = new MemoryInbox();
    fill(inbox, 'u1', 2);
    inbox.close();
    expect(inbox.userCount).toBe(0);
  });
});

describe('hub with an inbox', () => {
  const harness = useHarness();

  it('exposes the inbox as hub.inbox (undefined without one)', async () => {
    const inbox = new MemoryInbox();
    const withInbox = await harness.start({ inbox });
    const without = await harness.start();
    expect(withInbox.hub.inbox).toBe(inbox);
    expect(without.hub.inbox).toBeUndefined();
  });

  it('records user-topic publishes for offline users, once per id, and not other topics', async () => {
    const inbox = new MemoryInbox();
    const { hub } = await harness.start({ inbox });
    await hub.publish('user:u1', { id: 'a', kind: 'custom', payload: { title: 'one' } });
    await hub.publish('user:u1', { id: 'a', kind: 'custom', payload: { title: 'again' } });
    await hub.publish('patient:p1', { id: 'b', kind: 'custom', payload: {} });
    await hub.notify.appointment('u1', { appointmentId: 'ap1', status: 'confirmed', startsAt: '2026-12-01T09:00:00Z' });
    const page = inbox.list('u1', { limit: 10 });
    expect(page.items.map((e) => e.notification.kind)).toEqual(['appointment', 'custom']);
    expect(page.unreadCount).toBe(2);
    expect(inbox.userCount).toBe(1);
  });

  it('applies read and ack frames to the inbox, counting a repeated read once', async () => {
    const inbox = new MemoryInbox();
    const fixture = await harness.start({ inbox });
    await fixture.hub.publish('user:u1', { id: 'r1', kind: 'custom', payload: {} });
    await fixture.hub.publish('user:u1', { id: 'r2', kind: 'custom', payload: {} });
    const client = await harness.connectAs(fixture, 'u1');
    for (const frame of [
      { type: 'read', id: 'r1' },
      { type: 'read', id: 'r1' },
      { type: 'ack', id: 'r2' },
    ]) {
      const ref = nextRef();
      client.send({ ...frame, ref });
      await client.nextFrame('receipt', (f) => f.ref === ref);
    }
    const ref = nextRef();
    client.send({ type: 'read', id: 'unknown-id', ref });
    expect((await client.nextFrame('error', (f) => f.ref === ref)).code).toBe('unknown_notification');
    const page = inbox.list('u1', { limit: 10 });
    expect(page.unreadCount).toBe(0);
    expect(page.items.find((e) => e.notification.id === 'r2')?.acknowledgedAt).toEqual(expect.any(String));
    await client.roundTrip();
  });

  it('does not let one user mark another user’s notification read over the socket', async () => {
    const inbox = new MemoryInbox();
    const fixture = await harness.start({ inbox });
    await fixture.hub.publish('user:victim', { id: 'secret', kind: 'custom', payload: {} });
    const attacker = await harness.connectAs(fixture, 'attacker');
    const reads = harness.record(fixture, 'read');
    const ref = nextRef();
    attacker.send({ type: 'read', id: 'secret', ref });
    expect((await attacker.nextFrame('error', (f) => f.ref === ref)).code).toBe('unknown_notification');
    expect(inbox.unreadCount('victim')).toBe(1);
    expect(reads).toEqual([]);
  });

  it('reports a failing inbox on read frames as an error event, keeping the connection', async () => {
    const inbox = new MemoryInbox();
    Object.assign(inbox, { markRead: () => Promise.reject(new Error('db down')) });
    const fixture = await harness.start({ inbox });
    const client = await harness.subscriber(fixture, 'u1', ['user:u1']);
    await fixture.hub.publish('user:u1', { id: 'x', kind: 'custom', payload: {} });
    await client.notification('x');
    // Sent to this connection: the receipt does not wait for the inbox.
    const failed = waitForEvent(fixture.hub, 'error', (e) => e.code === 'store_unavailable');
    client.send({ type: 'read', id: 'x', ref: 'q' });
    await client.nextFrame('receipt', (f) => f.ref === 'q');
    await failed;
    // Not sent to it: the inbox would have to vouch, and cannot; the client may retry later.
    client.send({ type: 'read', id: 'y', ref: 'q2' });
    expect((await client.nextFrame('error', (f) => f.ref === 'q2')).code).toBe('store_unavailable');
    await client.roundTrip();
  });

  it('recordReceipt updates the inbox and emits the event and audit once, only for known ids', async () => {
    const inbox = new MemoryInbox();
    const fixture = await harness.start({ inbox });
    const acks = harness.record(fixture, 'ack');
    const audit = harness.record(fixture, 'audit');
    await fixture.hub.publish('user:u1', { id: 'k1', kind: 'custom', payload: {} });
    expect(await fixture.hub.recordReceipt('u1', 'k1', 'ack', { remoteAddress: '10.0.0.1' })).toBe(true);
    expect(await fixture.hub.recordReceipt('u1', 'nope', 'ack')).toBe(false);
    expect(await fixture.hub.recordReceipt('u2', 'k1', 'read')).toBe(false);
    await eventually(() => acks.length === 1, 'the ack event');
    expect(acks).toEqual([{ sessionId: 'http', userId: 'u1', remoteAddress: '10.0.0.1', id: 'k1' }]);
    expect(audit.filter((a) => a.type === 'notification.acknowledged')).toEqual([
      expect.objectContaining({ sessionId: 'http', userId: 'u1', notificationId: 'k1' }),
    ]);
    expect(inbox.unreadCount('u1')).toBe(0);
  });
});
