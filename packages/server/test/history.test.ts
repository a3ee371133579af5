import { type AppendResult, isWardcastError, MemoryHistoryStore } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { draft, put } from './helpers/history.js';

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('MemoryHistoryStore append', () => {
  it('assigns seqs 1, 2, 3… in one epoch per topic', () => {
    const store = new MemoryHistoryStore();

    const stored = [1, 2, 3].map(() => put(store, draft('t')).notification);

    expect(stored.map((n) => n.seq)).toEqual([1, 2, 3]);
    expect(new Set(stored.map((n) => n.epoch)).size).toBe(1);
  });

  it('gives different topics different epochs and independent seqs', () => {
    const store = new MemoryHistoryStore();

    const a = put(store, draft('a')).notification;
    const b = put(store, draft('b')).notification;

    expect(b.seq).toBe(1);
    expect(b.epoch).not.toBe(a.epoch);
  });

  it('returns the stored notification with duplicate: true for an id already in the topic', () => {
    const store = new MemoryHistoryStore();
    const first = put(store, draft('t', 'same'));

    const again = put(store, { ...draft('t', 'same'), kind: 'other' });

    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ notification: first.notification, duplicate: true });
    expect(store.position('t').seq).toBe(1);
  });

  it('accepts the same id on another topic', () => {
    const store = new MemoryHistoryStore();
    put(store, draft('a', 'same'));

    const other = put(store, draft('b', 'same'));

    expect(other.duplicate).toBe(false);
  });

  it('forgets the ids of notifications dropped by maxPerTopic', () => {
    const store = new MemoryHistoryStore({ maxPerTopic: 2 });
    put(store, draft('t', 'old'));
    put(store, draft('t'));
    put(store, draft('t'));

    const again = put(store, draft('t', 'old'));

    expect(again.duplicate).toBe(false);
    expect(again.notification.seq).toBe(4);
  });
});

describe('MemoryHistoryStore read', () => {
  it('returns what came after the position, in order, with recovered: true', () => {
    const store = new MemoryHistoryStore();
    const first = put(store, draft('t')).notification;
    for (let i = 0; i < 4; i++) put(store, draft('t'));

    const result = store.read('t', { epoch: first.epoch, seq: 2 });

    expect(result.recovered).toBe(true);
    expect(result.notifications.map((n) => n.seq)).toEqual([3, 4, 5]);
    expect(result.position).toEqual({ epoch: first.epoch, seq: 5 });
  });

  it('returns everything from seq 0', () => {
    const store = new MemoryHistoryStore();
    const { epoch } = put(store, draft('t')).notification;
    put(store, draft('t'));

    expect(store.read('t', { epoch, seq: 0 }).notifications.map((n) => n.seq)).toEqual([1, 2]);
  });

  it('returns nothing with recovered: true at the end of the stream', () => {
    const store = new MemoryHistoryStore();
    const { epoch } = put(store, draft('t')).notification;

    expect(store.read('t', { epoch, seq: 1 })).toEqual({
      recovered: true,
      notifications: [],
      position: { epoch, seq: 1 },
    });
  });

  it('answers recovered: false for another epoch', () => {
    const store = new MemoryHistoryStore();
    put(store, draft('t'));

    const result = store.read('t', { epoch: 'not-this-one', seq: 0 });

    expect(result.recovered).toBe(false);
    expect(result.notifications).toEqual([]);
  });

  it('answers recovered: false for a seq past the end', () => {
    const store = new MemoryHistoryStore();
    const { epoch } = put(store, draft('t')).notification;

    expect(store.read('t', { epoch, seq: 2 }).recovered).toBe(false);
  });

  it('answers recovered: false when the notifications after the position were dropped by maxPerTopic', () => {
    const store = new MemoryHistoryStore({ maxPerTopic: 3 });
    const { epoch } = put(store, draft('t')).notification;
    for (let i = 0; i < 5; i++) put(store, draft('t'));

    const result = store.read('t', { epoch, seq: 1 });

    expect(result).toEqual({ recovered: false, notifications: [], position: { epoch, seq: 6 } });
  });

  it('still recovers from the position just before the oldest kept notification', () => {
    const store = new MemoryHistoryStore({ maxPerTopic: 3 });
    const { epoch } = put(store, draft('t')).notification;
    for (let i = 0; i < 5; i++) put(store, draft('t'));

    const result = store.read('t', { epoch, seq: 3 });

    expect(result.recovered).toBe(true);
    expect(result.notifications.map((n) => n.seq)).toEqual([4, 5, 6]);
  });

  it('answers recovered: false once the notifications after the position are older than maxAgeMs', () => {
    const clock = manualClock();
    const store = new MemoryHistoryStore({ maxAgeMs: 1_000, now: clock.now });
    const { epoch } = put(store, draft('t')).notification;
    put(store, draft('t'));
    clock.advance(1_001);

    expect(store.read('t', { epoch, seq: 1 }).recovered).toBe(false);
  });

  it('keeps notifications younger than maxAgeMs', () => {
    const clock = manualClock();
    const store = new MemoryHistoryStore({ maxAgeMs: 1_000, now: clock.now });
    const { epoch } = put(store, draft('t')).notification;
    clock.advance(500);
    put(store, draft('t'));
    clock.advance(600);

    const result = store.read('t', { epoch, seq: 1 });

    expect(result.recovered).toBe(true);
    expect(result.notifications.map((n) => n.seq)).toEqual([2]);
  });

  it('stays correct over many appends past maxPerTopic', () => {
    const store = new MemoryHistoryStore({ maxPerTopic: 10 });
    let epoch = '';
    for (let i = 0; i < 500; i++) epoch = put(store, draft('t')).notification.epoch;

    const result = store.read('t', { epoch, seq: 494 });

    expect(result.notifications.map((n) => n.seq)).toEqual([495, 496, 497, 498, 499, 500]);
    expect(store.read('t', { epoch, seq: 489 }).recovered).toBe(false);
    expect(store.read('t', { epoch, seq: 490 }).notifications).toHaveLength(10);
  });
});

describe('MemoryHistoryStore topics', () => {
  it('reports seq 0 for a topic with nothing published', () => {
    const store = new MemoryHistoryStore();

    const position = store.position('fresh');

    expect(position.seq).toBe(0);
    expect(position.epoch).toEqual(expect.any(String));
  });

  it('keeps the epoch of a topic whose position was read before its first append', () => {
    const store = new MemoryHistoryStore();
    const before = store.position('t');

    const appended = put(store, draft('t')).notification;

    expect(appended.epoch).toBe(before.epoch);
  });

  it('forgets the least recently published topic past maxTopics, giving it a new epoch', () => {
    const store = new MemoryHistoryStore({ maxTopics: 2 });
    const a = put(store, draft('a')).notification;
    put(store, draft('b'));
    put(store, draft('c'));

    const after = store.position('a');

    expect(after.epoch).not.toBe(a.epoch);
    expect(after.seq).toBe(0);
    expect(store.read('a', { epoch: a.epoch, seq: 1 }).recovered).toBe(false);
  });

  it('keeps a topic that was published to recently when another is evicted', () => {
    const store = new MemoryHistoryStore({ maxTopics: 2 });
    const a = put(store, draft('a')).notification;
    put(store, draft('b'));
    put(store, draft('a'));
    put(store, draft('c'));

    expect(store.position('a')).toEqual({ epoch: a.epoch, seq: 2 });
  });

  it('never reuses an epoch after a topic was forgotten', () => {
    const store = new MemoryHistoryStore({ maxTopics: 1 });
    const epochs = new Set<string>();
    for (let i = 0; i < 50; i++) {
      epochs.add(put(store, draft('a')).notification.epoch);
      put(store, draft('b'));
    }

    expect(epochs.size).toBe(50);
  });

  it('forgets everything on close()', () => {
    const store = new MemoryHistoryStore();
    const { epoch } = put(store, draft('t')).notification;

    store.close();

    expect(store.topicCount).toBe(0);
    expect(store.read('t', { epoch, seq: 0 }).recovered).toBe(false);
  });

  it.each([
    ['maxPerTopic', { maxPerTopic: 0 }],
    ['maxAgeMs', { maxAgeMs: -1 }],
    ['maxTopics', { maxTopics: Number.NaN }],
  ])('rejects an invalid %s with invalid_option', (_name, options) => {
    let error: unknown;
    try {
      new MemoryHistoryStore(options);
    } catch (e) {
      error = e;
    }

    expect(isWardcastError(error, 'invalid_option')).toBe(true);
  });
});

describe('MemoryHistoryStore two-phase append and commit', () => {
  it('keeps an appended notification invisible to read and position until it is committed', () => {
    const store = new MemoryHistoryStore();
    const first = put(store, draft('t')).notification;
    const reserved = (store.append(draft('t')) as AppendResult).notification;

    expect(store.position('t')).toEqual({ epoch: first.epoch, seq: 1 });
    expect(store.read('t', { epoch: first.epoch, seq: 1 })).toMatchObject({ recovered: true, notifications: [] });
    store.commit(reserved);
    expect(store.read('t', { epoch: first.epoch, seq: 1 }).notifications.map((n) => n.id)).toEqual([reserved.id]);
  });

  it('makes commits visible in seq order: a later commit waits for the earlier reservation', async () => {
    const store = new MemoryHistoryStore();
    const one = (store.append(draft('t')) as AppendResult).notification;
    const two = (store.append(draft('t')) as AppendResult).notification;
    let twoVisible = false;
    const waiting = Promise.resolve(store.commit(two)).then(() => {
      twoVisible = true;
    });
    await Promise.resolve();
    expect(twoVisible).toBe(false);
    expect(store.position('t').seq).toBe(0);
    store.commit(one);
    await waiting;
    expect(store.position('t').seq).toBe(2);
  });

  it('takes back the last seq handed out on abort, so the next append reuses it without a hole', () => {
    const store = new MemoryHistoryStore();
    put(store, draft('t'));
    const given = (store.append(draft('t', 'given-up')) as AppendResult).notification;
    expect(store.abort(given)).toBe(true);
    const next = put(store, draft('t')).notification;
    expect(next.seq).toBe(2);
    // The abandoned id may be published again.
    expect(put(store, draft('t', 'given-up')).duplicate).toBe(false);
  });

  it('leaves an explicit gap when an aborted seq is followed by a committed one', () => {
    const store = new MemoryHistoryStore();
    const one = put(store, draft('t')).notification;
    const two = (store.append(draft('t')) as AppendResult).notification;
    const three = (store.append(draft('t')) as AppendResult).notification;
    store.abort(two);
    store.commit(three);
    expect(store.position('t').seq).toBe(3);
    // History cannot replay seq 2: the resume is not "recovered", so the client resyncs.
    expect(store.read('t', { epoch: one.epoch, seq: 1 }).recovered).toBe(false);
    expect(store.read('t', { epoch: one.epoch, seq: 2 }).recovered).toBe(true);
  });

  it('reports an abort of a committed notification as false', () => {
    const store = new MemoryHistoryStore();
    const n = put(store, draft('t')).notification;
    expect(store.abort(n)).toBe(false);
  });

  it('refuses to commit a reservation of a topic it forgot meanwhile', () => {
    const store = new MemoryHistoryStore({ maxTopics: 1 });
    const reserved = (store.append(draft('a')) as AppendResult).notification;
    put(store, draft('b'));
    expect(() => store.commit(reserved)).toThrow(expect.objectContaining({ code: 'store_unavailable' }));
  });

  it('makes an append with commit: true visible at once; its commit then changes nothing', () => {
    const store = new MemoryHistoryStore();
    const n = (store.append(draft('t'), { commit: true }) as AppendResult).notification;
    expect(store.position('t')).toEqual({ epoch: n.epoch, seq: 1 });
    expect(store.read('t', { epoch: n.epoch, seq: 0 }).notifications).toEqual([n]);
    expect(store.commit(n)).toBeUndefined();
    expect(store.position('t').seq).toBe(1);
    expect(store.abort(n)).toBe(false);
    expect((store.append(draft('t', n.id), { commit: true }) as AppendResult).duplicate).toBe(true);
  });

  it('keeps an append with commit: true behind an earlier reservation invisible until that one settles', () => {
    const store = new MemoryHistoryStore();
    const one = (store.append(draft('t')) as AppendResult).notification;
    const two = (store.append(draft('t'), { commit: true }) as AppendResult).notification;
    expect(two.seq).toBe(2);
    expect(store.position('t').seq).toBe(0);
    store.commit(two);
    store.commit(one);
    expect(store.read('t', { epoch: one.epoch, seq: 0 }).notifications.map((n) => n.seq)).toEqual([1, 2]);
  });

  it('keeps maxPerTopic with appends committed at once', () => {
    const store = new MemoryHistoryStore({ maxPerTopic: 2 });
    const ids = [1, 2, 3].map(() => (store.append(draft('t'), { commit: true }) as AppendResult).notification);
    expect(store.read('t', { epoch: ids[0]?.epoch ?? '', seq: 1 }).notifications.map((n) => n.seq)).toEqual([2, 3]);
    expect(store.read('t', { epoch: ids[0]?.epoch ?? '', seq: 0 }).recovered).toBe(false);
  });
});
