import { CloseCode } from '@wardcast/server';
import { expect, it } from 'vitest';
import { tokenFor, useHarness } from '../../server/test/helpers/harness.js';
import { connect2, errorsOf, hello, ready2 } from '../../server/test/helpers/protocol2.js';
import { startCluster } from './helpers/hubs.js';
import { describeRedis, rawClient, until, useBackplanes } from './helpers/redis.js';

/**
 * Protocol 2 (`hello`/`ready`, docs/protocol.md) in the production topology: hub instances on the Redis
 * backplane. What `ready` promises (subscribed, replayed, within the connection limit) holds
 * across instances.
 */
describeRedis('protocol 2 across hub instances on the Redis backplane', () => {
  const harness = useHarness();
  const backplanes = useBackplanes();
  const raw = rawClient();

  it('delivers a publish on another instance to a connection subscribed by its hello, once ready', async () => {
    const [a, b] = await startCluster(harness, backplanes, 2);
    if (!a || !b) throw new Error('no hubs');
    const { client, ready } = await ready2(harness, a, 'u1', [{ topic: 'patient:p1' }, { topic: 'user:u1' }]);
    // Nothing to wait for after ready: the subscription reaches the other instance's publishes.
    await b.hub.publish('patient:p1', { kind: 'custom', id: 'from-b' });
    await b.hub.publish('user:u1', { kind: 'custom', id: 'mine' });
    await client.notification('mine');

    expect(ready.topics.map((t) => [t.topic, t.status])).toEqual([
      ['patient:p1', 'ok'],
      ['user:u1', 'ok'],
    ]);
    expect(client.framesOf('notification').map((n) => [n.id, n.topic, n.seq])).toEqual([
      ['from-b', 'patient:p1', 1],
      ['mine', 'user:u1', 1],
    ]);
  });

  it('resumes on another instance with hello + since: the missed notifications, then ready with recovered: true', async () => {
    const [a, b] = await startCluster(harness, backplanes, 2);
    if (!a || !b) throw new Error('no hubs');
    const { client: first } = await ready2(harness, a, 'u1', [{ topic: 'user:u1' }]);
    for (let i = 1; i <= 5; i++) await a.hub.publish('user:u1', { kind: 'custom', id: `r${i}` });
    await first.notification('r5');
    const seen = first.framesOf('notification').at(-1);
    if (!seen) throw new Error('no notification');
    first.terminate();
    for (let i = 6; i <= 9; i++) await (i % 2 === 0 ? a : b).hub.publish('user:u1', { kind: 'custom', id: `r${i}` });

    const again = connect2(harness, b, { label: 'u1 again' });
    const ready = await hello(again, {
      token: tokenFor('u1'),
      topics: [{ topic: 'user:u1', since: { epoch: seen.epoch, seq: seen.seq } }],
    });
    await b.hub.publish('user:u1', { kind: 'custom', id: 'r10' });
    await again.notification('r10');

    expect(seen.seq).toBe(5);
    expect(ready.topics).toEqual([
      { topic: 'user:u1', status: 'ok', recovered: true, position: { epoch: seen.epoch, seq: 9 } },
    ]);
    // Replayed before ready, in order, each once; live after it.
    expect(again.frames.map((f) => (f.type === 'notification' ? f.seq : f.type))).toEqual([6, 7, 8, 9, 'ready', 10]);
  });

  it('refuses a hello on one instance for a user at maxConnectionsPerUser on another: too_many_connections, 4430', async () => {
    const [a, b] = await startCluster(harness, backplanes, 2, { hub: { maxConnectionsPerUser: 1 } });
    if (!a || !b) throw new Error('no hubs');
    const { client: onA } = await ready2(harness, a, 'u1', [{ topic: 'user:u1' }]);
    const onB = connect2(harness, b, { label: 'u1 on b' });
    await onB.opened;
    onB.send({ type: 'hello', token: tokenFor('u1'), topics: [{ topic: 'user:u1' }], ref: 'hb' });

    expect((await onB.waitClose()).code).toBe(CloseCode.TooManyConnections);
    // The retry hint is instanceTtlMs, as in protocol 1.
    expect(errorsOf(onB)).toEqual([
      { code: 'too_many_connections', message: 'too many connections', retryAfterMs: 8_000, ref: 'hb' },
    ]);
    expect(onB.framesOf('ready')).toEqual([]);
    await onA.roundTrip();

    // Another user is not affected; the slot is free again once the first connection is gone.
    await ready2(harness, b, 'u2');
    onA.ws.close(1000);
    await until(async () => (await raw.zcard(`${backplanes.prefix()}connections:u1`)) === 0, 'slot released');
    const { ready } = await ready2(harness, b, 'u1');
    expect(ready.userId).toBe('u1');
  });

  it('counts a protocol 1 connection on one instance against a hello on another', async () => {
    const [a, b] = await startCluster(harness, backplanes, 2, { hub: { maxConnectionsPerUser: 1 } });
    if (!a || !b) throw new Error('no hubs');
    await harness.connectAs(a, 'u1');
    const onB = connect2(harness, b, { label: 'u1 on b' });
    await onB.opened;
    onB.send({ type: 'hello', token: tokenFor('u1'), ref: 'hb' });

    expect((await onB.waitClose()).code).toBe(CloseCode.TooManyConnections);
    expect(errorsOf(onB)).toMatchObject([{ code: 'too_many_connections', ref: 'hb' }]);
  });
});
