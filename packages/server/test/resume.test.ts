import {
  type AppendResult,
  type HistoryStore,
  MemoryHistoryStore,
  type NotificationDraft,
  type ReadResult,
  type StoredNotification,
  type StreamPosition,
} from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import type { TestClient } from './helpers/client.js';
import { type Fixture, tick, useHarness } from './helpers/harness.js';

const harness = useHarness();
const TOPIC = 'user:alice';

/**
 * A history store whose reads take a while, like a remote one: the answer is computed either
 * when the read starts (`'after'`: the response is slow) or when it ends (`'before'`: the
 * request is slow). Storage itself is a MemoryHistoryStore.
 */
class LatentHistoryStore implements HistoryStore {
  readonly #inner = new MemoryHistoryStore();

  constructor(
    readonly latencyMs: number,
    readonly when: 'before' | 'after',
  ) {}

  append(draft: NotificationDraft): AppendResult | Promise<AppendResult> {
    return this.#inner.append(draft);
  }

  commit(n: StoredNotification): void | Promise<void> {
    return this.#inner.commit(n);
  }

  abort(n: StoredNotification): boolean {
    return this.#inner.abort(n);
  }

  position(topic: string): StreamPosition {
    return this.#inner.position(topic);
  }

  read(topic: string, since: StreamPosition): Promise<ReadResult> {
    const delay = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    if (this.when === 'before') return delay().then(() => this.#inner.read(topic, since));
    const result = this.#inner.read(topic, since);
    return delay().then(() => result);
  }
}

/** Publishes `total` notifications `race-<i>` on TOPIC, yielding to I/O between them; counts in `progress`. */
async function publishLoop(fx: Fixture, total: number, progress: { published: number }): Promise<void> {
  for (let i = 0; i < total; i++) {
    await fx.hub.publish(TOPIC, { kind: 'custom', id: `race-${i}` });
    progress.published++;
    await tick();
  }
}

/** Subscribes a first client, receives `seen` notifications, then disconnects it; returns its last position. */
async function seeThenLeave(fx: Fixture, seen: number): Promise<{ epoch: string; seq: number }> {
  const first = await harness.subscriber(fx, 'alice', [TOPIC]);
  let last = { epoch: '', seq: 0 };
  for (let i = 1; i <= seen; i++) {
    const r = await fx.hub.publish(TOPIC, { kind: 'custom', id: `seen-${i}` });
    last = { epoch: r.epoch, seq: r.seq };
  }
  if (seen > 0) await first.notification(`seen-${seen}`);
  first.ws.close();
  await first.closed;
  return last;
}

/** Publishes `count` notifications with ids `missed-1..count`. */
async function publishMissed(fx: Fixture, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) await fx.hub.publish(TOPIC, { kind: 'custom', id: `missed-${i}` });
}

/** Frames of `client` up to and including its first `subscribed`. */
function framesUntilSubscribed(client: TestClient): string[] {
  const out: string[] = [];
  for (const f of client.frames) {
    if (f.type === 'notification') out.push(f.id);
    if (f.type === 'subscribed') return out;
  }
  throw new Error('no subscribed frame');
}

describe('resume from a stream position', () => {
  it('replays exactly the notifications missed while away, in order, with recovered: true', async () => {
    const fx = await harness.start();
    const since = await seeThenLeave(fx, 2);
    await publishMissed(fx, 5);

    const client = await harness.connectAs(fx, 'alice');
    const [result] = await client.subscribe([{ topic: TOPIC, since }]);

    expect(result).toMatchObject({ status: 'ok', recovered: true, position: { epoch: since.epoch, seq: 7 } });
    expect(client.framesOf('notification').map((n) => [n.id, n.seq])).toEqual([
      ['missed-1', 3],
      ['missed-2', 4],
      ['missed-3', 5],
      ['missed-4', 6],
      ['missed-5', 7],
    ]);
  });

  it('sends the replayed notifications before the subscribed frame', async () => {
    const fx = await harness.start();
    const since = await seeThenLeave(fx, 1);
    await publishMissed(fx, 3);

    const client = await harness.connectAs(fx, 'alice');
    await client.subscribe([{ topic: TOPIC, since }]);

    expect(framesUntilSubscribed(client)).toEqual(['missed-1', 'missed-2', 'missed-3']);
  });

  it('goes live after the replay without duplicating anything', async () => {
    const fx = await harness.start();
    const since = await seeThenLeave(fx, 2);
    await publishMissed(fx, 2);
    const client = await harness.connectAs(fx, 'alice');
    await client.subscribe([{ topic: TOPIC, since }]);

    await fx.hub.publish(TOPIC, { kind: 'custom', id: 'live-1' });
    await client.notification('live-1');

    expect(client.seqs(TOPIC)).toEqual([3, 4, 5]);
  });

  it('answers recovered: true with no replay when nothing was missed', async () => {
    const fx = await harness.start();
    const since = await seeThenLeave(fx, 3);

    const client = await harness.connectAs(fx, 'alice');
    const [result] = await client.subscribe([{ topic: TOPIC, since }]);

    expect(result).toMatchObject({ recovered: true, position: since });
    expect(client.framesOf('notification')).toEqual([]);
  });

  it('answers recovered: false with no replay when the gap is older than the history kept', async () => {
    const fx = await harness.start({ history: new MemoryHistoryStore({ maxPerTopic: 3 }) });
    const since = await seeThenLeave(fx, 2);
    await publishMissed(fx, 5);

    const client = await harness.connectAs(fx, 'alice');
    const [result] = await client.subscribe([{ topic: TOPIC, since }]);
    await fx.hub.publish(TOPIC, { kind: 'custom', id: 'sentinel' });
    await client.notification('sentinel');

    expect(result).toMatchObject({ status: 'ok', recovered: false, position: { epoch: since.epoch, seq: 7 } });
    expect(client.framesOf('notification').map((n) => n.id)).toEqual(['sentinel']);
  });

  it('answers recovered: false with no replay when the epoch is not the topic’s', async () => {
    const fx = await harness.start();
    const since = await seeThenLeave(fx, 1);
    await publishMissed(fx, 2);

    const client = await harness.connectAs(fx, 'alice');
    const [result] = await client.subscribe([{ topic: TOPIC, since: { epoch: 'another-stream', seq: 1 } }]);

    expect(result).toMatchObject({ recovered: false, position: { epoch: since.epoch, seq: 3 } });
    expect(client.framesOf('notification')).toEqual([]);
  });

  it('answers recovered: false when the resume point is ahead of the stream', async () => {
    const fx = await harness.start();
    const since = await seeThenLeave(fx, 1);

    const client = await harness.connectAs(fx, 'alice');
    const [result] = await client.subscribe([{ topic: TOPIC, since: { epoch: since.epoch, seq: 99 } }]);

    expect(result).toMatchObject({ recovered: false, position: { seq: 1 } });
    expect(client.framesOf('notification')).toEqual([]);
  });

  it('answers recovered: false for a resume point into a topic history that another hub never had', async () => {
    const first = await harness.start();
    const since = await seeThenLeave(first, 2);
    const restarted = await harness.start();
    await restarted.hub.publish(TOPIC, { kind: 'custom', id: 'after-restart' });

    const client = await harness.connectAs(restarted, 'alice');
    const [result] = await client.subscribe([{ topic: TOPIC, since }]);

    expect(result?.recovered).toBe(false);
    expect(result?.position?.epoch).not.toBe(since.epoch);
    expect(client.framesOf('notification')).toEqual([]);
  });

  it('loses and duplicates nothing when notifications are published while the client resubscribes', async () => {
    const fx = await harness.start();
    const since = await seeThenLeave(fx, 5);
    await publishMissed(fx, 20);
    const client = await harness.connectAs(fx, 'alice');
    const total = 300;
    let published = 0;

    const loop = (async () => {
      for (let i = 0; i < total; i++) {
        await fx.hub.publish(TOPIC, { kind: 'custom', id: `race-${i}` });
        published++;
        if (i % 3 === 0) await tick();
      }
    })();
    // Resubscribe while the loop is running.
    while (published < 10) await tick();
    const subscribing = client.subscribe([{ topic: TOPIC, since }]);
    await loop;
    const [result] = await subscribing;
    await client.notification(`race-${total - 1}`);

    const seqs = client.seqs(TOPIC);
    const last = since.seq + 20 + total;
    expect(result?.recovered).toBe(true);
    expect(seqs).toEqual(Array.from({ length: last - since.seq }, (_, i) => since.seq + 1 + i));
  });

  it('loses and duplicates nothing when several clients resubscribe from different points during publishing', async () => {
    const fx = await harness.start();
    const since = await seeThenLeave(fx, 3);
    const clients = await Promise.all([0, 1, 2, 3].map(() => harness.connectAs(fx, 'alice')));
    const total = 200;
    let published = 0;

    const loop = (async () => {
      for (let i = 0; i < total; i++) {
        await fx.hub.publish(TOPIC, { kind: 'custom', id: `race-${i}` });
        published++;
        await tick();
      }
    })();
    const subscriptions: Promise<unknown>[] = [];
    for (const [index, client] of clients.entries()) {
      while (published < 20 * (index + 1)) await tick();
      subscriptions.push(client.subscribe([{ topic: TOPIC, since }]));
    }
    await loop;
    await Promise.all(subscriptions);
    await Promise.all(clients.map((c) => c.notification(`race-${total - 1}`)));

    const expected = Array.from({ length: total }, (_, i) => since.seq + 1 + i);
    for (const client of clients) expect(client.seqs(TOPIC)).toEqual(expected);
  });
  it('delivers notifications published while another topic of the same frame is still being authorized', async () => {
    const fx = await harness.start({
      authorize: async (principal, topic) => {
        if (topic === 'slow.topic') await new Promise((resolve) => setTimeout(resolve, 50));
        return topic === `user:${principal.userId}` || topic === 'slow.topic';
      },
    });
    const since = await seeThenLeave(fx, 2);
    const client = await harness.connectAs(fx, 'alice');
    const progress = { published: 0 };

    const loop = publishLoop(fx, 100, progress);
    while (progress.published < 5) await tick();
    const subscribing = client.subscribe([{ topic: TOPIC, since }, { topic: 'slow.topic' }]);
    await loop;
    const results = await subscribing;
    await client.notification('race-99');

    expect(results.map((r) => [r.status, r.recovered])).toEqual([
      ['ok', true],
      ['ok', false],
    ]);
    expect(client.seqs(TOPIC)).toEqual(Array.from({ length: 100 }, (_, i) => 3 + i));
  });

  it('delivers notifications published after a slow history read was answered but before going live', async () => {
    const fx = await harness.start({ history: new LatentHistoryStore(50, 'after') });
    const since = await seeThenLeave(fx, 2);
    const client = await harness.connectAs(fx, 'alice');
    const progress = { published: 0 };

    const loop = publishLoop(fx, 100, progress);
    while (progress.published < 5) await tick();
    const subscribing = client.subscribe([{ topic: TOPIC, since }]);
    await loop;
    await subscribing;
    await client.notification('race-99');

    expect(client.seqs(TOPIC)).toEqual(Array.from({ length: 100 }, (_, i) => 3 + i));
  });

  it('does not repeat notifications that reached both the replay and the live buffer', async () => {
    const fx = await harness.start({ history: new LatentHistoryStore(50, 'before') });
    const since = await seeThenLeave(fx, 2);
    const client = await harness.connectAs(fx, 'alice');
    const progress = { published: 0 };

    const loop = publishLoop(fx, 100, progress);
    while (progress.published < 5) await tick();
    const subscribing = client.subscribe([{ topic: TOPIC, since }]);
    await loop;
    await subscribing;
    await client.notification('race-99');

    expect(client.seqs(TOPIC)).toEqual(Array.from({ length: 100 }, (_, i) => 3 + i));
  });
});
