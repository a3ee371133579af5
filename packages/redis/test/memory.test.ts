// Redis at its memory limit with `maxmemory-policy noeviction` (the recommended policy): writes
// fail loudly instead of Redis silently evicting a topic's stream, dedupe ids or connection slots.
import { createNotificationClient, type GapEvent, type NotificationClient } from '@wardcast/client';
import { createRedisBackplane } from '@wardcast/redis';
import { isWardcastError } from '@wardcast/server';
import { afterEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import { useHarness } from '../../server/test/helpers/harness.js';
import { describeRedis, uniquePrefix, until } from './helpers/redis.js';
import { RedisServer } from './helpers/servers.js';

describeRedis(
  'Redis at maxmemory (private redis-server)',
  () => {
    const harness = useHarness();
    const cleanups: (() => Promise<void> | void)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    it('noeviction: a publish refused for memory rejects with store_unavailable, reaches no one and uses up no seq', async () => {
      const redis = await RedisServer.start({ name: 'noeviction' });
      cleanups.unshift(() => redis.destroy());
      const keyPrefix = uniquePrefix();
      const fixtures = [];
      for (const name of ['hub-a', 'hub-b']) {
        const backplane = createRedisBackplane({
          redis: redis.url,
          keyPrefix,
          instanceId: name,
          commandTimeoutMs: 1_000,
        });
        fixtures.push(await harness.start({ history: backplane, broker: backplane, authorize: () => true }));
      }
      const [a, b] = fixtures as [(typeof fixtures)[0], (typeof fixtures)[0]];
      const clients = [a, b].map((fixture, i) => {
        const got: { id: string; seq: number }[] = [];
        const gaps: GapEvent[] = [];
        const client: NotificationClient = createNotificationClient({
          url: fixture.url,
          token: `tok_SECRET_u${i}`,
          topics: ['patient:p1'],
          WebSocket: WebSocket as never,
          unread: false,
        });
        client.on('notification', (n) => got.push({ id: n.id, seq: n.seq }));
        client.on('gap', (g) => gaps.push(g));
        cleanups.push(() => client.close());
        return { client, got, gaps };
      });
      // Subscribed everywhere once a marker reaches both clients (a subscribe still in flight
      // misses it: publish another).
      for (let i = 0; ; i++) {
        await (i % 2 ? b : a).hub.publish('patient:p1', { kind: 'custom', id: `m${i}` });
        const deadline = Date.now() + 500;
        while (!clients.every((c) => c.got.some((n) => n.id === `m${i}`)) && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 10));
        if (clients.every((c) => c.got.some((n) => n.id === `m${i}`))) break;
        if (i > 30) throw new Error('the clients never subscribed');
      }
      const before = await a.hub.publish('patient:p1', { kind: 'custom', id: 'before' });
      await until(() => clients.every((c) => c.got.some((n) => n.id === 'before')), 'both clients got "before"');

      await redis.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
      await redis.command('CONFIG', 'SET', 'maxmemory', 1);
      const refused = await a.hub
        .publish('patient:p1', { kind: 'custom', id: 'refused' })
        .then(() => undefined)
        .catch((e: unknown) => e);
      const oom = /OOM/.test(String((refused as { cause?: unknown })?.cause ?? ''));
      expect(isWardcastError(refused, 'store_unavailable')).toBe(true);
      await redis.command('CONFIG', 'SET', 'maxmemory', 0);

      const after = await b.hub.publish('patient:p1', { kind: 'custom', id: 'after' });
      expect(after).toMatchObject({ epoch: before.epoch, seq: before.seq + 1, duplicate: false });
      await until(() => clients.every((c) => c.got.some((n) => n.id === 'after')), 'both clients got "after"', 10_000);
      for (const c of clients) {
        expect(c.got.map((n) => n.id)).not.toContain('refused');
        expect(c.gaps).toEqual([]);
        const seqs = c.got.map((n) => n.seq);
        expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] as number) + i));
      }
      console.log(
        `[memory noeviction] publish at maxmemory: ${isWardcastError(refused, 'store_unavailable') ? 'store_unavailable' : String(refused)}` +
          `${oom ? ' (OOM from Redis)' : ''}, delivered to ${clients.filter((c) => c.got.some((n) => n.id === 'refused')).length}/2 clients; ` +
          `next publish seq ${after.seq} after ${before.seq} (no seq used up), gaps ${clients.reduce((n, c) => n + c.gaps.length, 0)}`,
      );
    }, 30_000);
  },
  { needsBinary: true },
);
