import type { StreamPosition } from '@wardcast/protocol';
import type { StoredNotification } from '@wardcast/server';
import {
  ControlRouter,
  type FeedMessage,
  PresencePairs,
  parseControlEnvelope,
  type StreamRead,
  TopicFeed,
} from '@wardcast/server/backplane';
import { describe, expect, it } from 'vitest';

const TOPIC = 'user:1';
const CHANNEL = `ch:${TOPIC}`;

function notification(epoch: string, seq: number): StoredNotification {
  return {
    id: `n-${epoch}-${seq}`,
    topic: TOPIC,
    kind: 'custom',
    priority: 'routine',
    createdAt: '2026-01-01T00:00:00.000Z',
    payload: {},
    epoch,
    seq,
  } as unknown as StoredNotification;
}

/** A stream held in memory: `trimmedBelow` drops older entries, as a trimmed stream would. */
class Stream {
  epoch = 'e1';
  entries: StoredNotification[] = [];
  trimmedBelow = 0;
  reads = 0;

  add(seq: number): StoredNotification {
    const n = notification(this.epoch, seq);
    this.entries.push(n);
    return n;
  }

  get end(): StreamPosition {
    return { epoch: this.epoch, seq: this.entries.at(-1)?.seq ?? 0 };
  }

  async read(_topic: string, since: StreamPosition | undefined, mode: 'follow' | 'read'): Promise<StreamRead> {
    this.reads++;
    const kept = this.entries.filter((n) => n.seq >= this.trimmedBelow);
    if (since === undefined) return { position: this.end, entries: [] };
    if (since.epoch !== this.epoch) return { position: this.end, entries: mode === 'follow' ? kept : [] };
    return { position: this.end, entries: kept.filter((n) => n.seq > since.seq) };
  }
}

/** A feed over a fake transport whose messages are `FeedMessage`s encoded as JSON. */
function setup(stream = new Stream()) {
  const delivered: StoredNotification[] = [];
  const subscribed: string[] = [];
  const feed = new TopicFeed({
    store: stream,
    subscriptions: {
      subscribe: async (channel) => {
        subscribed.push(channel);
      },
      unsubscribe: async () => {},
    },
    channelOf: (topic) => `ch:${topic}`,
    decode: (raw) => JSON.parse(raw) as FeedMessage,
    wording: { source: 'test' },
    readyTimeoutMs: 1_000,
    notCaughtUp: () => new Error('not caught up'),
  });
  feed.start((n) => delivered.push(n));
  const send = (n: StoredNotification, inline = true): void =>
    feed.message(CHANNEL, JSON.stringify({ epoch: n.epoch, seq: n.seq, notification: inline ? n : undefined }));
  const seqs = (): number[] => delivered.map((n) => n.seq);
  return { feed, stream, delivered, subscribed, send, seqs };
}

/** Lets pending reads (promises) settle. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('TopicFeed', () => {
  it('starts a watched topic at the end of its stream and hands over the next seqs in order', async () => {
    const t = setup();
    t.stream.add(1);
    t.feed.up(new Set());
    await t.feed.watch(TOPIC);
    expect(t.subscribed).toEqual([CHANNEL]);
    expect(t.feed.watched(TOPIC)?.last).toEqual({ epoch: 'e1', seq: 1 });
    t.send(t.stream.add(2));
    t.send(t.stream.add(3));
    expect(t.seqs()).toEqual([2, 3]);
  });

  it('drops a repeated or older seq', async () => {
    const t = setup();
    t.feed.up(new Set());
    await t.feed.watch(TOPIC);
    const first = t.stream.add(1);
    t.send(first);
    t.send(first);
    expect(t.seqs()).toEqual([1]);
  });

  it('fills a jump in seqs from the store before handing over what came after it', async () => {
    const t = setup();
    t.feed.up(new Set());
    await t.feed.watch(TOPIC);
    t.stream.add(1);
    t.stream.add(2);
    t.send(t.stream.add(3));
    await settle();
    expect(t.seqs()).toEqual([1, 2, 3]);
  });

  it('reads a message that came without its notification from the store', async () => {
    const t = setup();
    t.feed.up(new Set());
    await t.feed.watch(TOPIC);
    t.send(t.stream.add(1), false);
    await settle();
    expect(t.seqs()).toEqual([1]);
  });

  it('holds messages while down and reads every topic from the store when up again', async () => {
    const t = setup();
    t.feed.up(new Set());
    await t.feed.watch(TOPIC);
    t.feed.down();
    t.send(t.stream.add(1));
    t.stream.add(2);
    expect(t.seqs()).toEqual([]);
    t.feed.up(new Set([CHANNEL]));
    await settle();
    expect(t.seqs()).toEqual([1, 2]);
  });

  it('moves past a gap the store no longer covers, counts it, and goes on with the next seq', async () => {
    const t = setup();
    t.feed.up(new Set());
    await t.feed.watch(TOPIC);
    t.stream.add(1);
    t.stream.add(2);
    const third = t.stream.add(3);
    t.stream.trimmedBelow = 4;
    t.send(third, false);
    await settle();
    expect(t.feed.gapsReported).toBe(1);
    expect(t.feed.watched(TOPIC)?.last).toEqual({ epoch: 'e1', seq: 3 });
    t.send(t.stream.add(4));
    expect(t.seqs()).toEqual([4]);
  });

  it('replays what a resuming client missed up to what the feed handed over', async () => {
    const t = setup();
    t.feed.up(new Set());
    await t.feed.watch(TOPIC);
    t.send(t.stream.add(1));
    t.send(t.stream.add(2));
    const replay = await t.feed.replay(TOPIC, { epoch: 'e1', seq: 0 });
    expect(replay.recovered).toBe(true);
    expect(replay.notifications.map((n) => n.seq)).toEqual([1, 2]);
    expect(await t.feed.position(TOPIC)).toEqual({ epoch: 'e1', seq: 2 });
  });

  it('tells a client resuming from another epoch that nothing was recovered', async () => {
    const t = setup();
    t.feed.up(new Set());
    await t.feed.watch(TOPIC);
    const replay = await t.feed.replay(TOPIC, { epoch: 'gone', seq: 4 });
    expect(replay).toEqual({ recovered: false, notifications: [], position: { epoch: 'e1', seq: 0 } });
  });

  it('resolves firstUp once the feed went live', async () => {
    const t = setup();
    const first = t.feed.firstUp(60_000);
    t.feed.up(new Set());
    await expect(first).resolves.toBeUndefined();
  });
});

describe('ControlRouter', () => {
  const envelope = (o: string, userId: string) =>
    JSON.stringify({ o, m: { type: 'disconnect', userId, reason: 'logout' } });

  it('holds messages until the first flush, drops its own, then delivers in order', () => {
    const got: string[] = [];
    const router = new ControlRouter({ self: 'me', source: 'test' });
    router.subscribe((m, origin) => got.push(`${origin}:${m.type === 'disconnect' ? m.userId : m.type}`));
    router.message(envelope('a', 'u1'));
    router.message(envelope('me', 'u2'));
    expect(got).toEqual([]);
    router.flush();
    router.message(envelope('b', 'u3'));
    expect(got).toEqual(['a:u1', 'b:u3']);
  });

  it('announces an instance missing from the live list as an empty membership', () => {
    const got: Array<[string, number]> = [];
    const router = new ControlRouter({ self: 'me', source: 'test' });
    router.subscribe((m, origin) => {
      if (m.type === 'presence_snapshot') got.push([origin, m.members.length]);
    });
    router.flush();
    router.deliver('a', { type: 'presence_snapshot', members: [{ topic: TOPIC, userId: 'u1' }] });
    router.forgetGone(['me']);
    router.forgetGone(['me']);
    expect(got).toEqual([
      ['a', 1],
      ['a', 0],
    ]);
  });

  it('drops malformed messages', () => {
    expect(parseControlEnvelope('{')).toBeUndefined();
    expect(parseControlEnvelope(JSON.stringify({ o: 'a', m: { type: 'receipt', userId: 'u', id: 'x' } }))).toBe(
      undefined,
    );
    expect(
      parseControlEnvelope(JSON.stringify({ o: 'a', m: { type: 'escalation_ack', userId: 'u', id: 'x' } })),
    ).toEqual({ o: 'a', m: { type: 'escalation_ack', userId: 'u', id: 'x' } });
  });
});

describe('PresencePairs', () => {
  it('keeps the pairs announced present and their fields', () => {
    const own = new PresencePairs();
    own.apply({ topic: TOPIC, userId: 'u1', present: true });
    own.apply({ topic: 'patient:7', userId: 'u2', present: true });
    own.apply({ topic: TOPIC, userId: 'u1', present: false });
    expect(own.members()).toEqual([{ topic: 'patient:7', userId: 'u2' }]);
    expect(PresencePairs.members(own.fields())).toEqual(own.members());
  });
});
