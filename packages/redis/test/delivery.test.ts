import { expect, it } from 'vitest';
import { useHarness } from '../../server/test/helpers/harness.js';
import { startCluster } from './helpers/hubs.js';
import { describeRedis, rawClient, until, useBackplanes } from './helpers/redis.js';

/** Checks that `seqs` is exactly `from+1 .. to` (no gap, no duplicate, in order). */
function expectRun(seqs: readonly number[], from: number, to: number): void {
  expect(seqs).toEqual(Array.from({ length: to - from }, (_, i) => from + i + 1));
}

describeRedis('RedisBackplane as a broker between hub instances', () => {
  const harness = useHarness();
  const backplanes = useBackplanes();
  const raw = rawClient();

  it('delivers publishes from every instance to subscribers on every instance, in seq order, once', async () => {
    const [a, b] = await startCluster(harness, backplanes, 2);
    if (!a || !b) throw new Error('no hubs');
    const onA = await harness.subscriber(a, 'u1', ['patient:p1']);
    const onB = await harness.subscriber(b, 'u2', ['patient:p1']);
    const results = [];
    for (let i = 0; i < 200; i += 10) {
      // Ten at a time, alternating instances.
      results.push(
        ...(await Promise.all(
          Array.from({ length: 10 }, (_, j) =>
            (j % 2 === 0 ? a : b).hub.publish('patient:p1', { kind: 'custom', id: `m${i + j}`, payload: { i: i + j } }),
          ),
        )),
      );
    }
    expect(results.map((r) => r.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    await until(() => onA.seqs('patient:p1').length >= 200 && onB.seqs('patient:p1').length >= 200, '200 each');
    expectRun(onA.seqs('patient:p1'), 0, 200);
    expectRun(onB.seqs('patient:p1'), 0, 200);
    const epochs = new Set(onB.framesOf('notification').map((n) => n.epoch));
    expect(epochs.size).toBe(1);
  });

  it('keeps every subscriber complete and in order when bursts from Redis are released mid-turn (maxFlushDelayMs: 0)', async () => {
    // Redis hands several messages to one read: their fan-outs share a turn, and with a bound of
    // 0 the transport releases what it holds every 64 held frames, in the middle of that turn.
    const [a, b] = await startCluster(harness, backplanes, 2, { hub: { maxFlushDelayMs: 0 } });
    if (!a || !b) throw new Error('no hubs');
    const onA = await Promise.all(Array.from({ length: 8 }, (_, i) => harness.subscriber(a, `a${i}`, ['ward:7'])));
    const onB = await Promise.all(Array.from({ length: 8 }, (_, i) => harness.subscriber(b, `b${i}`, ['ward:7'])));
    for (let i = 0; i < 300; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          (j % 2 === 0 ? a : b).hub.publish('ward:7', { kind: 'custom', id: `m${i + j}` }),
        ),
      );
    }
    const all = [...onA, ...onB];
    await until(() => all.every((c) => c.seqs('ward:7').length >= 300), '300 each');
    for (const c of all) expectRun(c.seqs('ward:7'), 0, 300);
  });

  it('resumes on another instance from the position seen on the first one', async () => {
    const [a, b] = await startCluster(harness, backplanes, 2);
    if (!a || !b) throw new Error('no hubs');
    const first = await harness.subscriber(a, 'u1', ['user:u1']);
    for (let i = 1; i <= 5; i++) await a.hub.publish('user:u1', { kind: 'custom', id: `r${i}` });
    await first.notification('r5');
    const last = first.framesOf('notification').at(-1);
    first.terminate();
    for (let i = 6; i <= 10; i++) await b.hub.publish('user:u1', { kind: 'custom', id: `r${i}` });
    const again = await harness.connectAs(b, 'u1');
    const [result] = await again.subscribe([{ topic: 'user:u1', since: { epoch: last?.epoch ?? '', seq: 5 } }]);
    expect(result).toMatchObject({ status: 'ok', recovered: true, position: { epoch: last?.epoch, seq: 10 } });
    expectRun(again.seqs('user:u1'), 5, 10);
  });

  it('fills a gap from the stream when a pub/sub message never arrived', async () => {
    const [a, b] = await startCluster(harness, backplanes, 2);
    if (!a || !b) throw new Error('no hubs');
    const client = await harness.subscriber(b, 'u1', ['patient:gap']);
    const one = await a.hub.publish('patient:gap', { kind: 'custom', id: 'g1' });
    await client.notification('g1');
    // Seq 2 is stored without its PUBLISH: what a subscriber misses when a message is lost.
    const prefix = backplanes.prefix();
    const seq = await raw.hincrby(`${prefix}{patient:gap}:meta`, 's', 1);
    const json = JSON.stringify({
      id: 'g2',
      topic: 'patient:gap',
      kind: 'custom',
      priority: 'routine',
      createdAt: new Date().toISOString(),
      payload: {},
    });
    await raw.xadd(`${prefix}{patient:gap}:stream`, '*', 's', String(seq), 'n', json);
    await a.hub.publish('patient:gap', { kind: 'custom', id: 'g3' });
    await client.notification('g3');
    expect(client.framesOf('notification').map((n) => [n.id, n.seq, n.epoch])).toEqual([
      ['g1', 1, one.epoch],
      ['g2', 2, one.epoch],
      ['g3', 3, one.epoch],
    ]);
  });

  it('never sends a subscriber a seq twice or skips one while it subscribes during a publish stream', async () => {
    const [a, b] = await startCluster(harness, backplanes, 2);
    if (!a || !b) throw new Error('no hubs');
    let publishing = true;
    let published = 0;
    const producer = (async () => {
      while (publishing) {
        await Promise.all(
          Array.from({ length: 4 }, () => a.hub.publish('broadcast', { kind: 'custom', id: `p${published++}` })),
        );
      }
    })();
    const clients = [];
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 15));
      const client = await harness.connectAs(i % 2 === 0 ? b : a, `s${i}`);
      const [result] = await client.subscribe(['broadcast']);
      clients.push({ client, from: result?.position?.seq ?? -1 });
    }
    await new Promise((r) => setTimeout(r, 50));
    publishing = false;
    await producer;
    const end = (await a.backplane.position('broadcast')).seq;
    for (const { client } of clients) await until(() => client.seqs('broadcast').at(-1) === end, `seq ${end}`);
    for (const { client, from } of clients) {
      // Notifications published while the subscribe was in progress come before `subscribed`
      // (its position is the end after them); everything after it is live. One contiguous run.
      const seqs = client.seqs('broadcast');
      const first = (seqs[0] ?? 1) - 1;
      expect(first).toBeLessThanOrEqual(from);
      expectRun(seqs, first, end);
      const subscribedAt = client.frames.findIndex((f) => f.type === 'subscribed');
      const live = client.frames.slice(subscribedAt).flatMap((f) => (f.type === 'notification' ? [f.seq] : []));
      expect(live[0]).toBe(from + 1);
    }
  });
});
