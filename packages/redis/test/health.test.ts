import type { RedisBackplaneOptions } from '@wardcast/redis';
import { createFetchHandler, createNodeHandler } from '@wardcast/server';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { useHarness } from '../../server/test/helpers/harness.js';
import { type ExpressApp, listenExpress } from '../../server/test/http/express-app.js';
import { call } from '../../server/test/http/fixture.js';
import { describeRedis, PrivateRedis, useBackplanes } from './helpers/redis.js';

/** Readiness must turn 503 this soon after Redis dies (the bound). */
const DOWN_BOUND_MS = 2_000;
/** Generous: ioredis reconnects with a backoff of up to 2 s, then the subscriber catches up. */
const UP_DEADLINE_MS = 15_000;

describeRedis(
  'readiness on a Redis backplane (private redis-server)',
  () => {
    const harness = useHarness();
    const backplanes = useBackplanes();
    const apps: ExpressApp[] = [];
    let redis: PrivateRedis;

    beforeAll(async () => {
      redis = await PrivateRedis.start();
    });
    afterEach(async () => {
      redis.resume();
      await Promise.all(apps.splice(0).map((a) => a.stop()));
    });
    afterAll(async () => {
      await redis?.kill();
    });

    /** A hub on a backplane to the private Redis, served by the Node handler, the Fetch handler and Express. */
    async function start(options: Partial<RedisBackplaneOptions> = {}) {
      if (!redis.running) await redis.restart();
      const backplane = backplanes.make({ redis: redis.url, commandTimeoutMs: 500, ...options });
      const f = await harness.start({ history: backplane, broker: backplane, authorize: () => true });
      const node = createNodeHandler(f.hub);
      f.server.removeAllListeners('request');
      f.server.on('request', (req, res) => node(req, res));
      const fetchHandler = createFetchHandler(f.hub);
      const app = await listenExpress(f.hub);
      apps.push(app);
      const nodeBase = `http://127.0.0.1:${f.port}`;
      /** `GET path` through each adapter: the statuses and JSON bodies, in the order node, fetch, express. */
      const probe = async (path: string) => {
        const [viaNode, viaExpress] = await Promise.all([call(nodeBase, 'GET', path), call(app.base, 'GET', path)]);
        const viaFetch = await fetchHandler(new Request(`http://localhost${path}`));
        return [
          { status: viaNode.status, json: viaNode.json },
          { status: viaFetch.status, json: await viaFetch.json() },
          { status: viaExpress.status, json: viaExpress.json },
        ];
      };
      return { f, backplane, probe };
    }

    /** Polls readiness through every adapter until all answer `status`; resolves the ms it took. */
    async function readinessBecomes(
      probe: (path: string) => Promise<{ status: number }[]>,
      status: number,
      since: number,
      deadlineMs: number,
    ): Promise<number> {
      const deadline = since + deadlineMs;
      for (;;) {
        const answers = await probe('/v1/health/ready');
        if (answers.every((a) => a.status === status)) return Date.now() - since;
        if (Date.now() > deadline) {
          throw new Error(`readiness not ${status} within ${deadlineMs} ms: ${answers.map((a) => a.status)}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    }

    it('answers 503 within 2 s of Redis being killed and 200 after it is restarted, through every adapter', async () => {
      const { f, probe } = await start();
      await readinessBecomes(probe, 200, Date.now(), UP_DEADLINE_MS);
      for (const a of await probe('/v1/ws/stats')) expect(a.json.data.status).toBe('active');

      const killedAt = Date.now();
      await redis.kill();
      const downMs = await readinessBecomes(probe, 503, killedAt, DOWN_BOUND_MS);
      for (const a of await probe('/v1/health/ready')) {
        expect(a.json).toMatchObject({
          success: false,
          error: {
            code: 'not_ready',
            status: 'degraded',
            failing: ['broker', 'history'],
            checks: { broker: 'degraded', history: 'degraded' },
          },
        });
      }
      for (const a of await probe('/v1/health/live'))
        expect(a).toEqual({ status: 200, json: { success: true, data: { live: true, status: 'degraded' } } });
      for (const a of await probe('/v1/ws/stats')) expect(a.json.data.status).toBe('degraded');
      // What readiness promises: publishes fail while it is 503.
      await expect(f.hub.publish('user:u1', { kind: 'custom', id: 'during' })).rejects.toMatchObject({
        code: 'store_unavailable',
      });

      const restartedAt = Date.now();
      await redis.restart();
      const upMs = await readinessBecomes(probe, 200, restartedAt, UP_DEADLINE_MS);
      for (const a of await probe('/v1/health/ready')) {
        expect(a.json).toEqual({
          success: true,
          data: { ready: true, status: 'ok', checks: { broker: 'ok', history: 'ok' } },
        });
      }
      for (const a of await probe('/v1/ws/stats')) expect(a.json.data.status).toBe('active');
      console.log(
        `[health] readiness (node, fetch, express): 503 ${downMs} ms after redis was killed (bound ${DOWN_BOUND_MS} ms), 200 ${upMs} ms after it was restarted`,
      );
      expect(downMs).toBeLessThanOrEqual(DOWN_BOUND_MS);
    }, 30_000);

    it('answers 503 when Redis freezes with its connections open, and 200 once it answers again', async () => {
      // Heartbeat every 500 ms, commands time out after 500 ms: no publish is needed to notice.
      const { probe } = await start({ commandTimeoutMs: 500, instanceTtlMs: 1_500 });
      await readinessBecomes(probe, 200, Date.now(), UP_DEADLINE_MS);

      const frozenAt = Date.now();
      redis.pause();
      const downMs = await readinessBecomes(probe, 503, frozenAt, DOWN_BOUND_MS);
      for (const a of await probe('/v1/health/ready')) {
        expect(a.json.error).toMatchObject({ code: 'not_ready', failing: ['broker', 'history'] });
      }
      const resumedAt = Date.now();
      redis.resume();
      const upMs = await readinessBecomes(probe, 200, resumedAt, UP_DEADLINE_MS);
      console.log(
        `[health] readiness (node, fetch, express): 503 ${downMs} ms after redis froze (SIGSTOP; bound ${DOWN_BOUND_MS} ms), 200 ${upMs} ms after it resumed`,
      );
      expect(downMs).toBeLessThanOrEqual(DOWN_BOUND_MS);
    }, 30_000);

    it('answers 503 from hub.close() on while liveness stays 200', async () => {
      const { f, probe } = await start();
      await readinessBecomes(probe, 200, Date.now(), UP_DEADLINE_MS);
      const closing = f.hub.close();
      const during = await probe('/v1/health/ready');
      await closing;
      const after = await probe('/v1/health/ready');
      for (const a of [...during, ...after]) {
        expect(a.status).toBe(503);
        expect(a.json.error).toMatchObject({ code: 'not_ready', status: 'shutting_down' });
        expect(a.json.error.failing[0]).toBe('shutdown');
      }
      for (const a of await probe('/v1/health/live')) expect(a.status).toBe(200);
    }, 30_000);
  },
  { needsBinary: true },
);
