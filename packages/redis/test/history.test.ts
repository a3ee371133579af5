import { createRedisBackplane } from '@wardcast/redis';
import { type AppendResult, isWardcastError, type NotificationDraft, NotificationHub } from '@wardcast/server';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { describeRedis, freePort, REDIS_URL, rawClient, useBackplanes } from './helpers/redis.js';

let idCounter = 0;
function draft(topic: string, id = `n${++idCounter}`, payload: unknown = { i: idCounter }): NotificationDraft {
  return { id, topic, kind: 'custom', priority: 'routine', createdAt: new Date().toISOString(), payload };
}

/** Appends and commits (giving the seq up when the commit fails), as the hub's publish does. */
async function put(b: ReturnType<typeof createRedisBackplane>, d: NotificationDraft): Promise<AppendResult> {
  const result = await b.append(d);
  if (result.duplicate) return result;
  try {
    await b.commit(result.notification);
  } catch (error) {
    await b.abort(result.notification);
    throw error;
  }
  return result;
}

describeRedis('RedisBackplane as a history store', () => {
  const backplanes = useBackplanes();
  const raw = rawClient();

  it('assigns contiguous seqs in one epoch and replays what came after a position', async () => {
    const b = backplanes.make();
    const stored = [];
    for (let i = 0; i < 5; i++) stored.push((await put(b, draft('patient:p1'))).notification);
    expect(stored.map((n) => n.seq)).toEqual([1, 2, 3, 4, 5]);
    const epoch = stored[0]?.epoch as string;
    expect(new Set(stored.map((n) => n.epoch))).toEqual(new Set([epoch]));
    expect(await b.position('patient:p1')).toEqual({ epoch, seq: 5 });

    const all = await b.read('patient:p1', { epoch, seq: 0 });
    expect(all.recovered).toBe(true);
    expect(all.notifications).toEqual(stored);
    const tail = await b.read('patient:p1', { epoch, seq: 3 });
    expect(tail).toEqual({ recovered: true, notifications: stored.slice(3), position: { epoch, seq: 5 } });
    expect(await b.read('patient:p1', { epoch, seq: 5 })).toEqual({
      recovered: true,
      notifications: [],
      position: { epoch, seq: 5 },
    });
    expect((await b.read('patient:p1', { epoch, seq: 9 })).recovered).toBe(false);
    const other = await b.read('patient:p1', { epoch: 'some-other-epoch', seq: 2 });
    expect(other).toEqual({ recovered: false, notifications: [], position: { epoch, seq: 5 } });
  });

  it('keeps payloads exactly (empty arrays, unicode, nested nulls)', async () => {
    const b = backplanes.make();
    const payload = { list: [], nested: { a: null, b: [1, 'ü', { c: [] }] }, text: 'line\nbreak "quoted" 😀' };
    const { notification } = await put(b, draft('user:u1', 'exact', payload));
    const read = await b.read('user:u1', { epoch: notification.epoch, seq: 0 });
    expect(read.notifications[0]?.payload).toEqual(payload);
  });

  it('gives a topic its epoch on the first position read and keeps it for the first publish', async () => {
    const b = backplanes.make();
    const before = await b.position('user:fresh');
    expect(before.seq).toBe(0);
    const { notification } = await put(b, draft('user:fresh'));
    expect(notification).toMatchObject({ epoch: before.epoch, seq: 1 });
    expect((await b.read('user:fresh', before)).notifications).toHaveLength(1);
  });

  it('stores an id once per topic: a second append returns the stored position', async () => {
    const b = backplanes.make();
    const first = await put(b, draft('user:u2', 'same-id'));
    await put(b, draft('user:u2'));
    const again = await put(b, draft('user:u2', 'same-id', { changed: true }));
    expect(again.duplicate).toBe(true);
    expect(again.notification).toMatchObject({ id: 'same-id', epoch: first.notification.epoch, seq: 1 });
    expect(await raw.xlen(`${backplanes.prefix()}{user:u2}:stream`)).toBe(2);
    // Another topic has its own ids.
    expect((await put(b, draft('user:u3', 'same-id'))).duplicate).toBe(false);
  });

  it('gives contiguous seqs to concurrent appends from two instances (one Lua script each)', async () => {
    const a = backplanes.make();
    const b = backplanes.make();
    const results = await Promise.all(
      Array.from({ length: 400 }, (_, i) => put(i % 2 === 0 ? a : b, draft('broadcast', `c${i}`))),
    );
    const seqs = results.map((r) => r.notification.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    expect(new Set(results.map((r) => r.notification.epoch)).size).toBe(1);
  });

  it('bounds a stream by length (MAXLEN ~): old positions are not recovered, recent ones are', async () => {
    const b = backplanes.make({ maxLen: 100 });
    let last = await put(b, draft('patient:long', 'first'));
    for (let i = 0; i < 399; i++) last = await put(b, draft('patient:long', `l${i}`));
    const { epoch } = last.notification;
    const length = await raw.xlen(`${backplanes.prefix()}{patient:long}:stream`);
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThanOrEqual(200);
    expect((await b.read('patient:long', { epoch, seq: 0 })).recovered).toBe(false);
    const recent = await b.read('patient:long', { epoch, seq: 390 });
    expect(recent.recovered).toBe(true);
    expect(recent.notifications.map((n) => n.seq)).toEqual([391, 392, 393, 394, 395, 396, 397, 398, 399, 400]);
    // Recent ids are still deduped.
    expect((await put(b, draft('patient:long', 'l398'))).duplicate).toBe(true);
  });

  it('bounds a stream by age: entries older than maxAgeMs go at the next append', async () => {
    const b = backplanes.make({ maxAgeMs: 200 });
    let last = await put(b, draft('patient:old'));
    for (let i = 0; i < 4; i++) last = await put(b, draft('patient:old'));
    const { epoch } = last.notification;
    await new Promise((r) => setTimeout(r, 300));
    await put(b, draft('patient:old'));
    expect(await raw.xlen(`${backplanes.prefix()}{patient:old}:stream`)).toBe(1);
    expect((await b.read('patient:old', { epoch, seq: 2 })).recovered).toBe(false);
    const read = await b.read('patient:old', { epoch, seq: 5 });
    expect(read.recovered).toBe(true);
    expect(read.notifications.map((n) => n.seq)).toEqual([6]);
  });

  it('changes the epoch when the stream is lost, never replaying the new stream to an old position', async () => {
    const b = backplanes.make();
    const prefix = backplanes.prefix();
    const first = (await put(b, draft('user:lost'))).notification;
    await put(b, draft('user:lost'));
    // Everything gone (what FLUSHALL or a restart without persistence does to this topic).
    await raw.del(`${prefix}{user:lost}:meta`, `${prefix}{user:lost}:stream`, `${prefix}{user:lost}:ids`);
    const after = (await put(b, draft('user:lost'))).notification;
    expect(after.epoch).not.toBe(first.epoch);
    expect(after.seq).toBe(1);
    const read = await b.read('user:lost', { epoch: first.epoch, seq: 1 });
    expect(read).toEqual({ recovered: false, notifications: [], position: { epoch: after.epoch, seq: 1 } });

    // Only the stream vanished (evicted) while its meta survived: detected, new epoch again.
    await put(b, draft('user:lost'));
    await raw.del(`${prefix}{user:lost}:stream`);
    const third = (await put(b, draft('user:lost'))).notification;
    expect(third.epoch).not.toBe(after.epoch);
    expect(third.seq).toBe(1);
    expect((await b.read('user:lost', { epoch: after.epoch, seq: 1 })).recovered).toBe(false);
  });

  it('expires an idle topic whole after topicTtlMs', async () => {
    const b = backplanes.make({ maxAgeMs: 100, topicTtlMs: 150 });
    await put(b, draft('user:idle'));
    const ttl = await raw.pttl(`${backplanes.prefix()}{user:idle}:stream`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(150);
  });

  it('rejects with store_unavailable when Redis answers an error, and hub.publish does too', async () => {
    const b = backplanes.make();
    const hub = new NotificationHub({ authenticate: () => null, history: b, broker: b });
    try {
      const ok = (await put(b, draft('user:typed'))).notification;
      // A key of the wrong type where the stream should be: XADD fails inside the script.
      await raw.set(`${backplanes.prefix()}{user:typed}:stream`, 'not a stream');
      const failure = await put(b, draft('user:typed')).catch((e: unknown) => e);
      expect(failure).toMatchObject({ name: 'WardcastError', code: 'store_unavailable' });
      expect(String((failure as Error).cause)).toMatch(/WRONGTYPE/);
      await expect(hub.publish('user:typed', { kind: 'custom' })).rejects.toMatchObject({ code: 'store_unavailable' });
      // Nothing was used up: the seq did not move.
      expect(await raw.hget(`${backplanes.prefix()}{user:typed}:meta`, 's')).toBe(String(ok.seq));
    } finally {
      await hub.close();
    }
  });

  it('works on an ioredis client it was given (even a lazy one) and leaves it open at close', async () => {
    const client = new Redis(REDIS_URL, { lazyConnect: true });
    try {
      const b = backplanes.make({ redis: client });
      const { notification } = await put(b, draft('user:own-client'));
      expect(notification.seq).toBe(1);
      await b.close();
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });

  it('refuses to fan out a notification it did not store', async () => {
    const b = backplanes.make();
    expect(() => b.publish({ ...draft('user:x'), epoch: 'e', seq: 1 })).toThrow(/both history and broker/);
  });
});

describe('RedisBackplane options and an unreachable Redis', () => {
  it('rejects bad options with invalid_option', () => {
    for (const bad of [{ maxLen: 0 }, { maxAgeMs: -1 }, { instanceId: 'has space' }, { maxAgeMs: 10, topicTtlMs: 5 }]) {
      let error: unknown;
      try {
        createRedisBackplane({ redis: 'redis://127.0.0.1:1', ...bad });
      } catch (e) {
        error = e;
      }
      expect(isWardcastError(error, 'invalid_option')).toBe(true);
    }
  });

  it('fails appends with store_unavailable, and hub.publish with it too, when Redis cannot be reached', async () => {
    const port = await freePort();
    const backplane = createRedisBackplane({ redis: `redis://127.0.0.1:${port}`, commandTimeoutMs: 200 });
    const hub = new NotificationHub({ authenticate: () => null, history: backplane, broker: backplane });
    try {
      await expect(backplane.append(draft('user:u1'))).rejects.toMatchObject({ code: 'store_unavailable' });
      await expect(backplane.read('user:u1', { epoch: 'e', seq: 0 })).rejects.toMatchObject({
        code: 'store_unavailable',
      });
      await expect(hub.publish('user:u1', { kind: 'custom', payload: {} })).rejects.toMatchObject({
        name: 'WardcastError',
        code: 'store_unavailable',
      });
      expect(backplane.health()).toBe('degraded');
    } finally {
      await hub.close();
    }
  });
});
