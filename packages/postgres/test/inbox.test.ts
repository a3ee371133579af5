import { PostgresInbox } from '@wardcast/postgres';
import { isWardcastError } from '@wardcast/protocol';
import type { StoredNotification } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { database, newPool, sleep, useSchema } from './helpers/db.js';

let counter = 0;
/** A stored notification for `user:<userId>` at `seq`, created `ageMs` ago (distinct times per call). */
function note(userId: string, seq: number, extra: Partial<StoredNotification> = {}): StoredNotification {
  counter++;
  return {
    id: `n-${seq}`,
    topic: `user:${userId}`,
    kind: 'custom',
    priority: 'routine',
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 0) + seq * 1_000).toISOString(),
    payload: { title: `t${seq}`, message: `m${counter}`, nested: { list: [1, 'two', null], flag: true } },
    epoch: 'e1',
    seq,
    ...extra,
  };
}

const user = (() => {
  let n = 0;
  return (): string => `u${++n}-${Math.random().toString(36).slice(2, 8)}`;
})();

describe.skipIf(!database)('PostgresInbox', () => {
  const schema = useSchema();
  const inbox = (options: Partial<ConstructorParameters<typeof PostgresInbox>[0]> = {}): PostgresInbox =>
    new PostgresInbox({ pool: schema.pool, schema: schema.name, ...options });

  it('round-trips a notification exactly and starts it unread', async () => {
    const store = inbox();
    const u = user();
    const n = note(u, 1, { priority: 'critical', kind: 'lab_result' });
    await store.record(u, n);
    const page = await store.list(u, { limit: 10 });
    expect(page).toEqual({
      items: [{ notification: n, readAt: undefined, acknowledgedAt: undefined }],
      nextCursor: undefined,
      unreadCount: 1,
    });
    expect(await store.unreadCount(u)).toBe(1);
  });

  it('records idempotently per user and id', async () => {
    const store = inbox();
    const u = user();
    const n = note(u, 1);
    await store.record(u, n);
    await store.record(u, { ...n, payload: { changed: true } });
    await Promise.all([store.record(u, n), store.record(u, n), store.record(u, n)]);
    const page = await store.list(u, { limit: 10 });
    expect(page.items).toHaveLength(1);
    expect(page.items[0]?.notification.payload).toEqual(n.payload);
    expect(page.unreadCount).toBe(1);
    // The same id for another user is another row.
    const other = user();
    await store.record(other, n);
    expect((await store.list(other, { limit: 10 })).items).toHaveLength(1);
  });

  it('resolves record only after the commit: a second connection sees the row at once', async () => {
    const store = inbox();
    const other = schema.track(newPool(1));
    const u = user();
    for (let seq = 1; seq <= 20; seq++) {
      await store.record(u, note(u, seq));
      const { rows } = await other.query(`SELECT seq FROM "${schema.name}".inbox WHERE user_id = $1 AND id = $2`, [
        u,
        `n-${seq}`,
      ]);
      expect(rows).toEqual([{ seq: String(seq) }]);
    }
  });

  it('pages newest first with an opaque cursor and a limit', async () => {
    const store = inbox();
    const u = user();
    for (let seq = 1; seq <= 25; seq++) await store.record(u, note(u, seq));
    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<PostgresInbox['list']>> = await store.list(
        u,
        cursor === undefined ? { limit: 10 } : { cursor, limit: 10 },
      );
      pages++;
      expect(page.unreadCount).toBe(25);
      seen.push(...page.items.map((e) => e.notification.seq));
      cursor = page.nextCursor;
      if (cursor !== undefined) expect(cursor).toMatch(/^[A-Za-z0-9_.-]+$/);
    } while (cursor !== undefined);
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => 25 - i));
    // Exactly one page: no cursor.
    expect((await store.list(u, { limit: 25 })).nextCursor).toBeUndefined();
    // limit is clamped to 1..maxPageSize.
    expect((await store.list(u, { limit: 0 })).items).toHaveLength(1);
    expect((await inbox({ maxPageSize: 7 }).list(u, { limit: 100 })).items).toHaveLength(7);
  });

  it('orders by created_at, then seq, then id (a new epoch after a restart sorts after the old one)', async () => {
    const store = inbox();
    const u = user();
    const at = '2026-02-01T10:00:00.000Z';
    await store.record(u, note(u, 1, { id: 'b', createdAt: at, seq: 5 }));
    await store.record(u, note(u, 2, { id: 'a', createdAt: at, seq: 5 }));
    await store.record(u, note(u, 3, { id: 'c', createdAt: at, seq: 6 }));
    // A later epoch whose seqs restarted at 1.
    await store.record(u, note(u, 4, { id: 'd', createdAt: '2026-02-01T10:00:01.000Z', seq: 1, epoch: 'e2' }));
    const ids = (await store.list(u, { limit: 10 })).items.map((e) => e.notification.id);
    expect(ids).toEqual(['d', 'c', 'b', 'a']);
    const first = await store.list(u, { limit: 2 });
    const rest = await store.list(u, { cursor: first.nextCursor as string, limit: 10 });
    expect(rest.items.map((e) => e.notification.id)).toEqual(['b', 'a']);
  });

  it('keeps pages stable under concurrent inserts: no item skipped or repeated', async () => {
    const store = inbox();
    const u = user();
    for (let seq = 1; seq <= 30; seq++) await store.record(u, note(u, seq));
    const first = await store.list(u, { limit: 10 });
    // Newer notifications arrive while the user pages, some concurrently with the next read.
    const inserts = Promise.all(
      Array.from({ length: 20 }, (_, i) => store.record(u, note(u, 100 + i, { id: `new-${i}` }))),
    );
    const second = await store.list(u, { cursor: first.nextCursor as string, limit: 10 });
    await inserts;
    const third = await store.list(u, { cursor: second.nextCursor as string, limit: 10 });
    const seqs = [...first.items, ...second.items, ...third.items].map((e) => e.notification.seq);
    expect(seqs).toEqual(Array.from({ length: 30 }, (_, i) => 30 - i));
    expect(third.nextCursor).toBeUndefined();
    expect(third.unreadCount).toBe(50);
  });

  it('rejects a cursor it did not issue with bad_request', async () => {
    const store = inbox();
    const u = user();
    const forged = Buffer.from(JSON.stringify(['x', 1, 'a'])).toString('base64url');
    for (const cursor of ['not a cursor', '!!!', forged, 'a'.repeat(500), Buffer.from('[1,2]').toString('base64url')]) {
      const error = await Promise.resolve(store.list(u, { cursor, limit: 5 })).catch((e: unknown) => e);
      expect(isWardcastError(error) && error.code, cursor).toBe('bad_request');
    }
  });

  it('marks read once, from any number of concurrent connections: the unread count never drifts', async () => {
    const u = user();
    const a = inbox();
    const b = new PostgresInbox({ pool: schema.track(newPool(4)), schema: schema.name });
    for (let seq = 1; seq <= 10; seq++) await a.record(u, note(u, seq));
    // The same id from two connections at once, several times.
    const results = await Promise.all([
      a.markRead(u, 'n-1'),
      b.markRead(u, 'n-1'),
      a.markRead(u, 'n-1'),
      b.markRead(u, 'n-1'),
    ]);
    expect(results).toEqual([true, true, true, true]);
    expect(await a.unreadCount(u)).toBe(9);
    const readAt = (await a.list(u, { limit: 20 })).items.find((e) => e.notification.id === 'n-1')?.readAt;
    expect(readAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    // Twice later: the first time is kept.
    await sleep(5);
    expect(await b.markRead(u, 'n-1')).toBe(true);
    expect((await a.list(u, { limit: 20 })).items.find((e) => e.notification.id === 'n-1')?.readAt).toBe(readAt);
    // Ack after read: acknowledged, still one read; ack of an unread one marks it read too.
    expect(await a.acknowledge(u, 'n-1')).toBe(true);
    expect(await a.acknowledge(u, 'n-2')).toBe(true);
    expect(await b.acknowledge(u, 'n-2')).toBe(true);
    const page = await a.list(u, { limit: 20 });
    const byId = new Map(page.items.map((e) => [e.notification.id, e]));
    expect(byId.get('n-1')?.readAt).toBe(readAt);
    expect(byId.get('n-1')?.acknowledgedAt).toBeDefined();
    expect(byId.get('n-2')?.readAt).toBeDefined();
    expect(byId.get('n-2')?.acknowledgedAt).toBe(byId.get('n-2')?.readAt);
    expect(page.unreadCount).toBe(8);
    // Many concurrent marks of different and equal ids from both connections.
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b)[i % 3 ? 'markRead' : 'acknowledge'](u, `n-${3 + (i % 5)}`)),
    );
    expect(await a.unreadCount(u)).toBe(3);
    const counted = (await a.list(u, { limit: 20 })).items.filter((e) => e.readAt === undefined).length;
    expect(counted).toBe(3);
  });

  it('answers false for an unknown id or another user’s notification, changing nothing', async () => {
    const store = inbox();
    const u = user();
    const other = user();
    await store.record(u, note(u, 1));
    expect(await store.markRead(u, 'nope')).toBe(false);
    expect(await store.acknowledge(u, 'nope')).toBe(false);
    expect(await store.markRead(other, 'n-1')).toBe(false);
    expect(await store.acknowledge(other, 'n-1')).toBe(false);
    expect(await store.unreadCount(u)).toBe(1);
    expect(await store.list(other, { limit: 5 })).toEqual({ items: [], nextCursor: undefined, unreadCount: 0 });
  });

  it('lists the newest unread notifications oldest first, for the replay', async () => {
    const store = inbox();
    const u = user();
    for (let seq = 1; seq <= 8; seq++) await store.record(u, note(u, seq));
    await store.markRead(u, 'n-3');
    await store.acknowledge(u, 'n-7');
    expect((await store.unread(u, 100)).map((n) => n.seq)).toEqual([1, 2, 4, 5, 6, 8]);
    expect((await store.unread(u, 3)).map((n) => n.seq)).toEqual([5, 6, 8]);
    expect(await store.unread(user(), 10)).toEqual([]);
  });

  it('deletes notifications older than the retention, read or not, and keeps the count right', async () => {
    const store = inbox();
    const u = user();
    const day = 86_400_000;
    const old = (seq: number, days: number): StoredNotification =>
      note(u, seq, { createdAt: new Date(Date.now() - days * day).toISOString() });
    await store.record(u, old(1, 40));
    await store.record(u, old(2, 31));
    await store.record(u, old(3, 29));
    await store.record(u, old(4, 1));
    await store.markRead(u, 'n-2');
    expect(await store.unreadCount(u)).toBe(3);
    expect(await store.deleteOlderThan(30)).toBeGreaterThanOrEqual(2);
    const page = await store.list(u, { limit: 10 });
    expect(page.items.map((e) => e.notification.seq)).toEqual([4, 3]);
    expect(page.unreadCount).toBe(2);
    expect(await store.deleteOlderThan(30)).toBe(0);
    const error = await store.deleteOlderThan(0).catch((e: unknown) => e);
    expect(isWardcastError(error) && error.code).toBe('invalid_option');
  });

  it('runs retention on an unref’d timer and stops it on close', async () => {
    const u = user();
    const writer = inbox();
    const day = 86_400_000;
    await writer.record(u, note(u, 1, { createdAt: new Date(Date.now() - 10 * day).toISOString() }));
    await writer.record(u, note(u, 2, { createdAt: new Date().toISOString() }));
    const logs: string[] = [];
    const log = (_obj: object, msg?: string): void => {
      logs.push(msg ?? '');
    };
    const store = inbox({
      retentionDays: 5,
      retentionIntervalMs: 30,
      logger: { debug: log, info: log, warn: log, error: log },
    });
    const deadline = Date.now() + 5_000;
    while ((await writer.list(u, { limit: 10 })).items.length !== 1) {
      if (Date.now() > deadline) throw new Error('retention never ran');
      await sleep(20);
    }
    expect(logs).toContain('wardcast: inbox retention deleted notifications');
    await store.close();
    // After close, nothing more is deleted.
    await writer.record(u, note(u, 3, { createdAt: new Date(Date.now() - 10 * day).toISOString() }));
    await sleep(150);
    expect((await writer.list(u, { limit: 10 })).items).toHaveLength(2);
    await store.close();
  });

  it('refuses bad options with invalid_option', () => {
    const bad: unknown[] = [
      {},
      { pool: {} },
      { pool: schema.pool, schema: 'no-dashes' },
      { pool: schema.pool, retentionDays: 0 },
      { pool: schema.pool, retentionDays: Number.NaN },
      { pool: schema.pool, retentionIntervalMs: -1 },
      { pool: schema.pool, maxPageSize: 0 },
    ];
    for (const options of bad) {
      let error: unknown;
      try {
        new PostgresInbox(options as ConstructorParameters<typeof PostgresInbox>[0]);
      } catch (e) {
        error = e;
      }
      expect(isWardcastError(error) && error.code, JSON.stringify(Object.keys(options as object))).toBe(
        'invalid_option',
      );
    }
  });
});
