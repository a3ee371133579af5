import { type AppendResult, MemoryHistoryStore, type StoredNotification } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { draft, put } from './helpers/history.js';

/**
 * Issue 12, target 4: the memory history keeps one small stream per topic (visible times in the
 * notifications' array, as small integers from a time base; use counts instead of a linked list
 * for least-recently-used eviction; a set of ids for dedupe). Held to plain models of what it replaces.
 */

const DAY = 86_400_000;

describe('MemoryHistoryStore eviction past maxTopics', () => {
  it('forgets exactly the topic a least-recently-used list would, over thousands of random appends', () => {
    const maxTopics = 20;
    const store = new MemoryHistoryStore({ maxTopics });
    /** Topics held, least recently appended to first. */
    let lru: string[] = [];
    const epochs = new Map<string, string>();
    let x = 5;
    const next = (n: number) => {
      x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
      return (x >>> 12) % n;
    };
    let forgotten = 0;
    for (let i = 0; i < 5000; i++) {
      // Skewed: a few hot topics and a long tail, so listed streams are often used again before they go.
      const topic = next(3) === 0 ? `hot${next(5)}` : `t${next(60)}`;
      const held = lru.includes(topic);
      const { epoch } = put(store, draft(topic)).notification;
      lru = [...lru.filter((t) => t !== topic), topic];
      if (lru.length > maxTopics) {
        lru.shift();
        forgotten++;
      }

      // Same epoch exactly when the model still held the topic; a new stream otherwise.
      expect(epoch === epochs.get(topic)).toBe(held);
      epochs.set(topic, epoch);
      expect(store.topicCount).toBe(lru.length);
    }
    expect(forgotten).toBeGreaterThan(1000);
  });

  it('counts a topic first read before it is published to as used when its stream was made', () => {
    const store = new MemoryHistoryStore({ maxTopics: 2 });
    const a = store.position('a').epoch;
    put(store, draft('b'));
    put(store, draft('c')); // forgets a: made first, never appended to

    expect(store.topicCount).toBe(2);
    expect(put(store, draft('b')).notification.seq).toBe(2);
    expect(store.position('a').epoch).not.toBe(a);
  });
});

describe('MemoryHistoryStore visible times', () => {
  it('trims by age correctly across clock jumps longer than its time base covers', () => {
    let now = 1_700_000_000_000;
    const store = new MemoryHistoryStore({ maxAgeMs: 40 * DAY, now: () => now });
    const first = put(store, draft('t')).notification;
    now += 13 * DAY;
    put(store, draft('t'));
    now += 13 * DAY;
    put(store, draft('t'));

    // 26 days: all three are kept.
    expect(store.read('t', { epoch: first.epoch, seq: 0 }).notifications.map((n) => n.seq)).toEqual([1, 2, 3]);

    now += 15 * DAY; // the first is 41 days old, the second 28
    expect(store.read('t', { epoch: first.epoch, seq: 0 }).recovered).toBe(false);
    expect(store.read('t', { epoch: first.epoch, seq: 1 }).notifications.map((n) => n.seq)).toEqual([2, 3]);

    now += 13 * DAY; // the second is 41 days old
    expect(store.read('t', { epoch: first.epoch, seq: 2 }).notifications.map((n) => n.seq)).toEqual([3]);
  });

  it('trims by age correctly after the clock went back by more than its time base covers', () => {
    const start = 1_700_000_000_000;
    let now = start;
    const store = new MemoryHistoryStore({ maxAgeMs: 100 * DAY, now: () => now });
    const first = put(store, draft('t')).notification;
    now -= 20 * DAY;
    put(store, draft('t'));

    now = start + 50 * DAY; // 50 and 70 days old: both kept
    expect(store.read('t', { epoch: first.epoch, seq: 0 }).notifications.map((n) => n.seq)).toEqual([1, 2]);

    now = start + 101 * DAY; // 101 and 121 days old: both dropped
    expect(store.read('t', { epoch: first.epoch, seq: 0 }).recovered).toBe(false);
    expect(store.read('t', { epoch: first.epoch, seq: 2 })).toMatchObject({ recovered: true, notifications: [] });
  });

  it('keeps what a model of count and age limits keeps while dropping thousands of old notifications', () => {
    let now = 0;
    const store = new MemoryHistoryStore({ maxPerTopic: 50, maxAgeMs: 1_000, now: () => now });
    const times: number[] = [];
    let epoch = '';
    for (let i = 1; i <= 3000; i++) {
      now += i % 10 === 0 ? 400 : 1;
      times[i] = now;
      epoch = put(store, draft('t', `id${i}`)).notification.epoch;
    }

    // The model: the last 50, less those visible before now - maxAgeMs.
    let oldest = 3000 - 49;
    while ((times[oldest] as number) < now - 1_000) oldest++;
    const kept = store.read('t', { epoch, seq: oldest - 1 });
    expect(kept.notifications.map((n) => n.seq)).toEqual(Array.from({ length: 3001 - oldest }, (_, i) => oldest + i));
    expect(oldest).toBeGreaterThan(2951); // the age limit dropped some the count limit kept
    expect(store.read('t', { epoch, seq: oldest - 2 }).recovered).toBe(false);
    expect(put(store, draft('t', 'id3000')).duplicate).toBe(true);
    expect(put(store, draft('t', `id${oldest - 1}`)).duplicate).toBe(false);
  });
});

describe('MemoryHistoryStore dedupe by id', () => {
  it('returns the stored notification itself for an id still in the topic, as a map of ids would', () => {
    const store = new MemoryHistoryStore({ maxPerTopic: 12 });
    /** Id -> the notification stored under it, while it is kept. */
    const kept = new Map<string, StoredNotification>();
    const order: string[] = [];
    let x = 9;
    const next = (n: number) => {
      x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
      return (x >>> 12) % n;
    };
    for (let i = 0; i < 3000; i++) {
      const id = `id${next(40)}`;
      // Half the appends commit at once (as when no stage has work), half in two steps.
      const atOnce = next(2) === 0;
      const result = store.append(draft('t', id), atOnce ? { commit: true } : undefined) as AppendResult;
      const before = kept.get(id);
      if (before) {
        expect(result).toEqual({ notification: before, duplicate: true });
        expect(result.notification).toBe(before);
        continue;
      }
      expect(result.duplicate).toBe(false);
      // Committing again (or at all, for one committed at once) shows it once; aborting it then answers false.
      store.commit(result.notification);
      store.commit(result.notification);
      expect(store.abort(result.notification)).toBe(false);
      kept.set(id, result.notification);
      order.push(id);
      if (order.length > 12) kept.delete(order.shift() as string);
    }
    const { epoch } = store.position('t');
    const visible = store.read('t', { epoch, seq: store.position('t').seq - 12 }).notifications;
    expect(visible.map((n) => n.id)).toEqual(order);
  });
});
