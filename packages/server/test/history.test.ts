import { isWardcastError, MemoryHistoryStore, type NotificationDraft } from '@wardcast/server';
import { describe, expect, it } from 'vitest';

let counter = 0;
function draft(topic: string, id = `n${++counter}`): NotificationDraft {
  return { id, topic, kind: 'custom', priority: 'routine', createdAt: new Date(0).toISOString(), payload: { id } };
}

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('MemoryHistoryStore append', () => {
  it('assigns seqs 1, 2, 3… in one epoch per topic', () => {
    const store = new MemoryHistoryStore();

    const stored = [1, 2, 3].map(() => store.append(draft('t')).notification);

    expect(stored.map((n) => n.seq)).toEqual([1, 2, 3]);
    expect(new Set(stored.map((n) => n.epoch)).size).toBe(1);
  });

  it('gives different topics different epochs and independent seqs', () => {
    const store = new MemoryHistoryStore();

    const a = store.append(draft('a')).notification;
    const b = store.append(draft('b')).notification;

    expect(b.seq).toBe(1);
    expect(b.epoch).not.toBe(a.epoch);
  });

  it('returns the stored notification with duplicate: true for an id already in the topic', () => {
    const store = new MemoryHistoryStore();
    const first = store.append(draft('t', 'same'));

    const again = store.append({ ...draft('t', 'same'), kind: 'other' });

    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ notification: first.notification, duplicate: true });
    expect(store.position('t').seq).toBe(1);
  });

  it('accepts the same id on another topic', () => {
    const store = new MemoryHistoryStore();
    store.append(draft('a', 'same'));

    const other = store.append(draft('b', 'same'));

    expect(other.duplicate).toBe(false);
  });

  it('forgets the ids of notifications dropped by maxPerTopic', () => {
    const store = new MemoryHistoryStore({ maxPerTopic: 2 });
    store.append(draft('t', 'old'));
    store.append(draft('t'));
    store.append(draft('t'));

    const again = store.append(draft('t', 'old'));

    expect(again.duplicate).toBe(false);
    expect(again.notification.seq).toBe(4);
  });
});

describe('MemoryHistoryStore read', () => {
  it('returns what came after the position, in order, with recovered: true', () => {
    const store = new MemoryHistoryStore();
    const first = store.append(draft('t')).notification;
    for (let i = 0; i < 4; i++) store.append(draft('t'));

    const result = store.read('t', { epoch: first.epoch, seq: 2 });

    expect(result.recovered).toBe(true);
    expect(result.notifications.map((n) => n.seq)).toEqual([3, 4, 5]);
    expect(result.position).toEqual({ epoch: first.epoch, seq: 5 });
  });

  it('returns everything from seq 0', () => {
    const store = new MemoryHistoryStore();
    const { epoch } = store.append(draft('t')).notification;
    store.append(draft('t'));

    expect(store.read('t', { epoch, seq: 0 }).notifications.map((n) => n.seq)).toEqual([1, 2]);
  });

  it('returns nothing with recovered: true at the end of the stream', () => {
    const store = new MemoryHistoryStore();
    const { epoch } = store.append(draft('t')).notification;

    expect(store.read('t', { epoch, seq: 1 })).toEqual({
      recovered: true,
      notifications: [],
      position: { epoch, seq: 1 },
    });
  });

  it('answers recovered: false for another epoch', () => {
    const store = new MemoryHistoryStore();
    store.append(draft('t'));

    const result = store.read('t', { epoch: 'not-this-one', seq: 0 });

    expect(result.recovered).toBe(false);
    expect(result.notifications).toEqual([]);
  });

  it('answers recovered: false for a seq past the end', () => {
    const store = new MemoryHistoryStore();
    const { epoch } = store.append(draft('t')).notification;

    expect(store.read('t', { epoch, seq: 2 }).recovered).toBe(false);
  });

  it('answers recovered: false when the notifications after the position were dropped by maxPerTopic', () => {
    const store = new MemoryHistoryStore({ maxPerTopic: 3 });
    const { epoch } = store.append(draft('t')).notification;
    for (let i = 0; i < 5; i++) store.append(draft('t'));

    const result = store.read('t', { epoch, seq: 1 });

    expect(result).toEqual({ recovered: false, notifications: [], position: { epoch, seq: 6 } });
  });

  it('still recovers from the position just before the oldest kept notification', () => {
    const store = new MemoryHistoryStore({ maxPerTopic: 3 });
    const { epoch } = store.append(draft('t')).notification;
    for (let i = 0; i < 5; i++) store.append(draft('t'));

    const result = store.read('t', { epoch, seq: 3 });

    expect(result.recovered).toBe(true);
    expect(result.notifications.map((n) => n.seq)).toEqual([4, 5, 6]);
  });

  it('answers recovered: false once the notifications after the position are older than maxAgeMs', () => {
    const clock = manualClock();
    const store = new MemoryHistoryStore({ maxAgeMs: 1_000, now: clock.now });
    const { epoch } = store.append(draft('t')).notification;
    store.append(draft('t'));
    clock.advance(1_001);

    expect(store.read('t', { epoch, seq: 1 }).recovered).toBe(false);
  });

  it('keeps notifications younger than maxAgeMs', () => {
    const clock = manualClock();
    const store = new MemoryHistoryStore({ maxAgeMs: 1_000, now: clock.now });
    const { epoch } = store.append(draft('t')).notification;
    clock.advance(500);
    store.append(draft('t'));
    clock.advance(600);

    const result = store.read('t', { epoch, seq: 1 });

    expect(result.recovered).toBe(true);
    expect(result.notifications.map((n) => n.seq)).toEqual([2]);
  });

  it('stays correct over many appends past maxPerTopic', () => {
    const store = new MemoryHistoryStore({ maxPerTopic: 10 });
    let epoch = '';
    for (let i = 0; i < 500; i++) epoch = store.append(draft('t')).notification.epoch;

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

    const appended = store.append(draft('t')).notification;

    expect(appended.epoch).toBe(before.epoch);
  });

  it('forgets the least recently published topic past maxTopics, giving it a new epoch', () => {
    const store = new MemoryHistoryStore({ maxTopics: 2 });
    const a = store.append(draft('a')).notification;
    store.append(draft('b'));
    store.append(draft('c'));

    const after = store.position('a');

    expect(after.epoch).not.toBe(a.epoch);
    expect(after.seq).toBe(0);
    expect(store.read('a', { epoch: a.epoch, seq: 1 }).recovered).toBe(false);
  });

  it('keeps a topic that was published to recently when another is evicted', () => {
    const store = new MemoryHistoryStore({ maxTopics: 2 });
    const a = store.append(draft('a')).notification;
    store.append(draft('b'));
    store.append(draft('a'));
    store.append(draft('c'));

    expect(store.position('a')).toEqual({ epoch: a.epoch, seq: 2 });
  });

  it('never reuses an epoch after a topic was forgotten', () => {
    const store = new MemoryHistoryStore({ maxTopics: 1 });
    const epochs = new Set<string>();
    for (let i = 0; i < 50; i++) {
      epochs.add(store.append(draft('a')).notification.epoch);
      store.append(draft('b'));
    }

    expect(epochs.size).toBe(50);
  });

  it('forgets everything on close()', () => {
    const store = new MemoryHistoryStore();
    const { epoch } = store.append(draft('t')).notification;

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
