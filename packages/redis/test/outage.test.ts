import { isWardcastError } from '@wardcast/server';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { useHarness } from '../../server/test/helpers/harness.js';
import { startCluster } from './helpers/hubs.js';
import { describeRedis, PrivateRedis, until, useBackplanes } from './helpers/redis.js';

describeRedis(
  'RedisBackplane when Redis goes away (private redis-server)',
  () => {
    const harness = useHarness();
    const backplanes = useBackplanes();
    let redis: PrivateRedis;

    beforeAll(async () => {
      redis = await PrivateRedis.start();
    });
    afterAll(async () => {
      await redis?.kill();
    });

    it('fails publishes loudly while Redis is down, and after a restart without persistence starts a new epoch', async () => {
      if (!redis.running) await redis.restart();
      const [a, b] = await startCluster(harness, backplanes, 2, {
        backplane: { redis: redis.url, commandTimeoutMs: 1_000 },
      });
      if (!a || !b) throw new Error('no hubs');
      const client = await harness.subscriber(b, 'u1', ['patient:p1']);
      const before = await a.hub.publish('patient:p1', { kind: 'custom', id: 'before' });
      await client.notification('before');

      await redis.kill();
      await until(() => a.backplane.health() === 'degraded' && b.backplane.health() === 'degraded', 'degraded');
      const failure = await a.hub.publish('patient:p1', { kind: 'custom', id: 'during' }).catch((e: unknown) => e);
      expect(isWardcastError(failure, 'store_unavailable')).toBe(true);
      // The client stays connected meanwhile.
      await client.roundTrip();

      await redis.restart();
      await until(() => a.backplane.health() === 'ok' && b.backplane.health() === 'ok', 'healthy again', 8_000);
      const after = await a.hub.publish('patient:p1', { kind: 'custom', id: 'after' });
      expect(after.epoch).not.toBe(before.epoch);
      expect(after.seq).toBe(1);
      // Delivered live, with the new epoch: the client sees the epoch change (a gap, never a wrong replay).
      const live = await client.notification('after', 5_000);
      expect(live).toMatchObject({ epoch: after.epoch, seq: 1 });
      expect(client.framesOf('notification').map((n) => n.id)).toEqual(['before', 'after']);

      // Resuming from the old stream is not "recovered".
      const late = await harness.connectAs(a, 'u2');
      const [result] = await late.subscribe([{ topic: 'patient:p1', since: { epoch: before.epoch, seq: 1 } }]);
      expect(result).toMatchObject({ status: 'ok', recovered: false, position: { epoch: after.epoch, seq: 1 } });
      expect(late.framesOf('notification')).toHaveLength(0);
    }, 15_000);

    it('catches up from the stream after its pub/sub connection dropped while others kept publishing', async () => {
      if (!redis.running) await redis.restart();
      const [a, b] = await startCluster(harness, backplanes, 2, { backplane: { redis: redis.url } });
      if (!a || !b) throw new Error('no hubs');
      const client = await harness.subscriber(b, 'u1', ['user:u1']);
      await a.hub.publish('user:u1', { kind: 'custom', id: 'k0' });
      await client.notification('k0');
      const admin = new Redis(redis.url);
      try {
        // Drop every pub/sub connection (only hub b listens to user:u1), then publish at once.
        await admin.client('KILL', 'TYPE', 'pubsub');
        const published = [];
        for (let i = 1; i <= 20; i++) published.push(await a.hub.publish('user:u1', { kind: 'custom', id: `k${i}` }));
        await client.notification('k20', 8_000);
        expect(client.seqs('user:u1')).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
        expect(b.backplane.health()).toBe('ok');
      } finally {
        admin.disconnect();
      }
    }, 15_000);
  },
  { needsBinary: true },
);
