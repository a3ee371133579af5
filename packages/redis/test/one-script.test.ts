import type { RedisBackplane } from '@wardcast/redis';
import { MemoryInbox, type NotificationDraft, type PublishStage } from '@wardcast/server';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { useHarness } from '../../server/test/helpers/harness.js';
import { startCluster } from './helpers/hubs.js';
import { describeRedis, PrivateRedis, rawClient, until, useBackplanes } from './helpers/redis.js';

/** Records whether each `append` of `backplane` asked to commit at once. */
function recordAppends(backplane: RedisBackplane): Map<string, boolean> {
  const seen = new Map<string, boolean>();
  const append = backplane.append.bind(backplane);
  backplane.append = (draft, options) => {
    seen.set(draft.id, options?.commit === true);
    return append(draft, options);
  };
  return seen;
}

const draft = (topic: string, id: string): NotificationDraft => ({
  id,
  topic,
  kind: 'custom',
  priority: 'routine',
  createdAt: new Date().toISOString(),
  payload: null,
});

describeRedis('the one-script publish (no durable stage: reserve and commit in one round trip)', () => {
  const harness = useHarness();
  const backplanes = useBackplanes();
  const raw = rawClient();

  it('keeps seqs gap-free and in order per topic under concurrent publishers on 2 instances', async () => {
    const [a, b] = await startCluster(harness, backplanes, 2);
    if (!a || !b) throw new Error('no hubs');
    const appends = [recordAppends(a.backplane), recordAppends(b.backplane)];
    const topics = ['patient:c1', 'patient:c2', 'patient:c3'];
    const onA = await harness.subscriber(a, 'u1', topics);
    const onB = await harness.subscriber(b, 'u2', topics);
    const perTopic = 40;
    const results = await Promise.all(
      topics.flatMap((topic) =>
        Array.from({ length: perTopic }, (_, i) =>
          (i % 2 === 0 ? a : b).hub.publish(topic, { kind: 'custom', id: `${topic}-${i}`, payload: i }),
        ),
      ),
    );
    expect(results.every((r) => !r.duplicate)).toBe(true);
    // Every append went the one-script way.
    expect(appends.flatMap((seen) => [...seen.values()])).toEqual(Array(topics.length * perTopic).fill(true));
    for (const topic of topics) {
      const seqs = results.filter((r) => r.id.startsWith(`${topic}-`)).map((r) => r.seq);
      expect([...seqs].sort((x, y) => x - y)).toEqual(Array.from({ length: perTopic }, (_, i) => i + 1));
    }
    for (const client of [onA, onB]) {
      await until(() => client.framesOf('notification').length === topics.length * perTopic, 'all delivered');
      for (const topic of topics) {
        expect(client.seqs(topic)).toEqual(Array.from({ length: perTopic }, (_, i) => i + 1));
      }
    }
    // Nothing stayed reserved: no pending hash left behind.
    for (const topic of topics) expect(await raw.exists(`${backplanes.prefix()}{${topic}}:pending`)).toBe(0);
    // Resumes see the same stream.
    const read = await a.backplane.read('patient:c1', { epoch: results[0]?.epoch ?? '', seq: 0 });
    expect(read.notifications.map((n) => n.seq)).toEqual(Array.from({ length: perTopic }, (_, i) => i + 1));
  });

  it('waits behind a reservation held on another instance, then delivers in seq order', async () => {
    let open = (): void => {};
    const held = new Promise<void>((resolve) => {
      open = resolve;
    });
    const hold: PublishStage = { name: 'hold', run: (n) => (n.id === 'held' ? held : undefined) };
    const [a] = await startCluster(harness, backplanes, 1, { hub: { publishStages: [hold] } });
    const [b] = await startCluster(harness, backplanes, 1);
    if (!a || !b) throw new Error('no hubs');
    const appends = recordAppends(b.backplane);
    const watcher = await harness.subscriber(b, 'u1', ['patient:behind']);
    const first = a.hub.publish('patient:behind', { kind: 'custom', id: 'held' });
    await until(
      async () => (await raw.hget(`${backplanes.prefix()}{patient:behind}:meta`, 's')) === '1',
      'held reserved',
    );
    let resolved = false;
    const second = b.hub.publish('patient:behind', { kind: 'custom', id: 'quick' }).then((r) => {
      resolved = true;
      return r;
    });
    await until(
      async () => (await raw.hget(`${backplanes.prefix()}{patient:behind}:meta`, 's')) === '2',
      'quick stored',
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(resolved).toBe(false);
    expect(watcher.framesOf('notification')).toEqual([]);
    open();
    const [r1, r2] = await Promise.all([first, second]);
    expect([r1.seq, r2.seq]).toEqual([1, 2]);
    expect(appends.get('quick')).toBe(true);
    await watcher.notification('quick');
    expect(watcher.framesOf('notification').map((n) => [n.id, n.seq])).toEqual([
      ['held', 1],
      ['quick', 2],
    ]);
  });

  it('dedupes by id like the two-phase publish, also concurrently', async () => {
    const [a, b] = await startCluster(harness, backplanes, 2);
    if (!a || !b) throw new Error('no hubs');
    const both = await Promise.all([
      a.hub.publish('patient:dup', { kind: 'custom', id: 'same' }),
      b.hub.publish('patient:dup', { kind: 'custom', id: 'same' }),
    ]);
    expect(both.map((r) => r.seq)).toEqual([1, 1]);
    expect(both.filter((r) => r.duplicate)).toHaveLength(1);
    const again = await b.hub.publish('patient:dup', { kind: 'custom', id: 'same' });
    expect(again).toMatchObject({ seq: 1, duplicate: true });
    expect((await a.hub.publish('patient:dup', { kind: 'custom', id: 'next' })).seq).toBe(2);
  });

  it('keeps two phases where a stage has work: inbox rows for user topics, publish stages', async () => {
    const inbox = new MemoryInbox();
    const [a] = await startCluster(harness, backplanes, 1, { hub: { inbox } });
    if (!a) throw new Error('no hub');
    const appends = recordAppends(a.backplane);
    await a.hub.publish('user:nurse1', { kind: 'custom', id: 'to-user' });
    await a.hub.publish('patient:p1', { kind: 'custom', id: 'to-patient' });
    expect(appends.get('to-user')).toBe(false);
    expect(appends.get('to-patient')).toBe(true);
    expect((await inbox.list('nurse1', { limit: 10 })).items).toHaveLength(1);

    const staged = backplanes.make();
    const withStage = await harness.start({
      history: staged,
      broker: staged,
      authorize: () => true,
      publishStages: [{ name: 'audit', run() {} }],
    });
    const stagedAppends = recordAppends(staged);
    await withStage.hub.publish('patient:p2', { kind: 'custom', id: 'audited' });
    expect(stagedAppends.get('audited')).toBe(false);
  });

  it('commit and abort have nothing left to do after a one-script append', async () => {
    const b = backplanes.make();
    const { notification } = await b.append(draft('patient:direct', 'direct'), { commit: true });
    expect(b.commit(notification)).toBeUndefined();
    expect(await b.abort(notification)).toBe(false);
    expect((await b.position('patient:direct')).seq).toBe(1);
  });
});

describeRedis('the one-script publish when the answer is lost (private redis-server)', () => {
  const backplanes = useBackplanes();
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
  });
  afterAll(async () => {
    await redis?.kill();
  });

  it('rejects with "delivery unknown" when no answer came in time, and a retry with the same id is a duplicate', async () => {
    const b = backplanes.make({ redis: redis.url, commandTimeoutMs: 200 });
    await b.append(draft('patient:slow', 'before'), { commit: true });
    const admin = new Redis(redis.url);
    try {
      // Writes (and scripts) wait 600 ms: the publish times out, then runs.
      await admin.call('CLIENT', 'PAUSE', '600', 'WRITE');
      const failure = await b.append(draft('patient:slow', 'lost-answer'), { commit: true }).catch((e: unknown) => e);
      expect(failure).toMatchObject({ code: 'store_unavailable' });
      expect(String((failure as Error).message)).toMatch(/delivery unknown/);
      // Reads are scripts too: they wait for the pause as well.
      const seq = async () => (await b.position('patient:slow').catch(() => undefined))?.seq;
      await until(async () => (await seq()) === 2, 'stored after the pause', 3_000);
      const retry = await b.append(draft('patient:slow', 'lost-answer'), { commit: true });
      expect(retry).toMatchObject({ duplicate: true, notification: { seq: 2 } });
    } finally {
      admin.disconnect();
    }
  });
});
