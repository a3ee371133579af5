import { type ClientStatus, createNotificationClient, type NotificationClient } from '@wardcast/client';
import { DEFAULT_REDIS_BACKPLANE } from '@wardcast/redis';
import { afterEach, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { assertBuilt, startInstance } from './helpers/instances.js';
import { deletePrefix, describeRedis, REDIS_URL, rawClient, uniquePrefix, until } from './helpers/redis.js';

type Reconnecting = Extract<ClientStatus, { state: 'reconnecting' }>;

/** Redis server time, ms: the clock slot deadlines are on. */
async function redisNow(raw: ReturnType<typeof rawClient>): Promise<number> {
  const [seconds, micros] = await raw.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

describeRedis('no lockout after a crash (hub instances in separate processes)', () => {
  const raw = rawClient();
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
  });
  beforeAll(() => assertBuilt());

  it('a user at maxConnectionsPerUser whose instance is killed -9 is back through another instance within the bound', async () => {
    const ttl = DEFAULT_REDIS_BACKPLANE.instanceTtlMs;
    /** docs/redis.md: instanceTtlMs + the client's first reconnect delay (< 500 ms) + connection setup. */
    const bound = 10_000;
    const prefix = uniquePrefix();
    cleanups.push(() => deletePrefix(REDIS_URL, prefix));
    const env = { MAX_CONNECTIONS_PER_USER: '2' };
    const [a, b] = await Promise.all([
      startInstance('lock-a', REDIS_URL, prefix, env),
      startInstance('lock-b', REDIS_URL, prefix, env),
    ]);
    if (!a || !b) throw new Error('no instances');
    cleanups.push(() => Promise.all([a.close(), b.close()]).then(() => {}));

    // A load balancer that sends new connections to b once a is gone; default backoff and hint handling.
    let target = a.url;
    const clients: NotificationClient[] = [];
    const client = (url: () => string) => {
      const c = createNotificationClient({
        url,
        token: 'tok_u1',
        topics: ['patient:lock'],
        WebSocket: WebSocket as never,
        unread: false,
      });
      c.on('error', () => {});
      clients.push(c);
      return c;
    };
    cleanups.push(() => {
      for (const c of clients) c.close();
    });
    const onA = client(() => target);
    const statuses: ClientStatus[] = [];
    onA.on('status', (s) => statuses.push(s));
    const got: string[] = [];
    onA.on('notification', (n) => got.push(n.id));
    const onB = client(() => b.url);
    await until(() => onA.status.state === 'open' && onB.status.state === 'open', 'both tabs are open', 10_000);
    const slots = `${prefix}connections:u1`;
    expect(await raw.zcard(slots)).toBe(2);

    target = b.url;
    const killedAt = Date.now();
    const killedAtRedis = await redisNow(raw);
    await a.kill();
    // Nothing refreshes a's slot any more: its deadline is when it stops counting.
    const scores = await raw.zrange(slots, 0, -1, 'WITHSCORES');
    const deadlines = scores.flatMap((v, i) =>
      i % 2 === 0 && v.startsWith('lock-a\n') ? [Number(scores[i + 1])] : [],
    );
    expect(deadlines).toHaveLength(1);
    const releasedAfter = Math.max(...deadlines) - killedAtRedis;

    await until(() => onA.status.state === 'open', 'the tab of the killed instance is back', 15_000);
    const reconnectedAfter = Date.now() - killedAt;
    const refusals = statuses.filter((s): s is Reconnecting => s.state === 'reconnecting' && s.lastClose.code === 4430);
    console.log(
      `lockout: slot of the killed instance stops counting ${releasedAfter} ms after SIGKILL (bound ${ttl}); ` +
        `${refusals.length} refusal(s) with 4430, retry hint ${refusals.map((r) => r.delayMs).join('/')} ms; ` +
        `reconnected through b ${reconnectedAfter} ms after SIGKILL (bound ${bound})`,
    );
    expect(releasedAfter).toBeLessThanOrEqual(ttl + 250);
    // The dead slot counted for a while (its heartbeat was at most a third of the TTL ago): refused first.
    expect(refusals.length).toBeGreaterThanOrEqual(1);
    for (const r of refusals) expect(r.delayMs).toBeGreaterThanOrEqual(ttl);
    expect(statuses.some((s) => s.state === 'closed')).toBe(false);
    expect(reconnectedAfter).toBeLessThanOrEqual(bound);
    expect(onB.status.state).toBe('open');

    // Two live slots again (the dead one dropped), and the reconnected tab gets notifications.
    expect(await raw.zcard(slots)).toBe(2);
    const reply = await b.publish('patient:lock', 'after-crash');
    expect(reply.ok).toBe(true);
    await until(() => got.includes('after-crash'), 'the reconnected tab got a notification', 5_000);
  }, 30_000);
});
