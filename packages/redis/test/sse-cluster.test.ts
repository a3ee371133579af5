import { createNotificationClient, type NotificationClient } from '@wardcast/client';
import { SseSocket } from '@wardcast/client/sse';
import { afterEach, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { assertBuilt, type HubProcess, startInstance } from './helpers/instances.js';
import { deletePrefix, describeRedis, REDIS_URL, uniquePrefix, until } from './helpers/redis.js';
import { SseProxy } from './helpers/sse-proxy.js';

interface Received {
  readonly id: string;
  readonly seq: number;
}

/** A @wardcast/client on the SSE transport only, through the proxy. */
function sseClient(user: string, url: string, topics: readonly string[], presence: readonly string[] = []) {
  const got: Received[] = [];
  const receipts: string[] = [];
  let reconnects = 0;
  const client = createNotificationClient({
    url,
    token: `tok_${user}`,
    topics,
    presence,
    SSE: SseSocket,
    transports: ['sse'],
    backoff: { initialDelayMs: 50, maxDelayMs: 300 },
    unread: false,
  });
  client.on('notification', (n) => got.push({ id: n.id, seq: n.seq }));
  client.on('receipt', (r) => receipts.push(`${r.action}:${r.id}`));
  client.on('status', (s) => {
    if (s.state === 'reconnecting') reconnects++;
  });
  return {
    client,
    got,
    receipts,
    get reconnects() {
      return reconnects;
    },
  };
}

describeRedis('the SSE transport across hub processes on one Redis, behind a load balancer', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
  });
  beforeAll(() => assertBuilt());

  async function cluster(count: number): Promise<HubProcess[]> {
    const prefix = uniquePrefix();
    cleanups.push(() => deletePrefix(REDIS_URL, prefix));
    const instances = await Promise.all(
      Array.from({ length: count }, (_, i) => startInstance(`sse-${i}`, REDIS_URL, prefix)),
    );
    cleanups.push(() => Promise.all(instances.map((i) => i.close())).then(() => {}));
    return instances;
  }

  async function proxy(instances: readonly HubProcess[], sticky: boolean): Promise<SseProxy> {
    const p = await SseProxy.start(() => instances.filter((i) => i.alive).map((i) => i.port), sticky);
    cleanups.push(() => p.close());
    return p;
  }

  function track<T extends { readonly client: NotificationClient }>(c: T): T {
    cleanups.push(() => c.client.close());
    return c;
  }

  it('sticky routing: streams on both instances get every acked notification once, in order, through a kill -9', async () => {
    const instances = await cluster(2);
    const lb = await proxy(instances, true);
    const topic = 'patient:sse1';
    const subs = Array.from({ length: 6 }, (_, i) => track(sseClient(`u${i}`, lb.url, [topic])));
    await until(() => subs.every((s) => s.client.status.state === 'open'), 'every stream open', 15_000);
    // Both instances hold streams (round-robin), so the kill below cuts some of them.
    expect(new Set(lb.routes.values()).size).toBe(2);

    // Warm-up until every subscriber is live (its subscribe POST reached its instance).
    for (let w = 0; !subs.every((s) => s.got.length > 0); w++) {
      if (w >= 100) throw new Error('subscribers never all subscribed');
      await (instances[w % 2] as HubProcess).publish(topic, `warm-${w}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const victim = instances[1] as HubProcess;
    const onVictim = [...lb.routes.values()].filter((port) => port === victim.port).length;
    expect(onVictim).toBeGreaterThan(0);

    const acked: Received[] = [];
    for (let k = 0; k < 300; k++) {
      if (k === 100) await victim.kill();
      const alive = instances.filter((i) => i.alive);
      const from = alive[k % alive.length] as HubProcess;
      const reply = await from.publish(topic, `n${k}`);
      if (reply.ok) acked.push({ id: `n${k}`, seq: reply.seq });
      else expect(reply.code).toBe('instance_exited');
    }
    expect(victim.alive).toBe(false);
    expect(acked.length).toBeGreaterThanOrEqual(250);
    const last = acked.at(-1) as Received;
    await until(() => subs.every((s) => s.got.at(-1)?.id === last.id), `every stream got ${last.id}`, 15_000);

    for (const s of subs) {
      const live = s.got.filter((n) => !n.id.startsWith('warm-'));
      // Once each, in seq order, and every acked notification is there.
      expect(new Set(s.got.map((n) => n.id)).size).toBe(s.got.length);
      expect(s.got.map((n) => n.seq)).toEqual([...s.got.map((n) => n.seq)].sort((a, b) => a - b));
      expect(live.map((n) => n.id)).toEqual(acked.map((n) => n.id));
    }
    // The streams the kill cut reconnected, through the balancer, to the survivor.
    expect(subs.filter((s) => s.reconnects > 0).length).toBeGreaterThanOrEqual(onVictim);
    // With sticky routing no POST was refused as unknown.
    expect(lb.posts.filter((p) => p.status === 404)).toEqual([]);
  }, 60_000);

  it('sticky routing: presence and reads over SSE work with the other screens on the other instance', async () => {
    const instances = await cluster(2);
    const lb = await proxy(instances, true);
    const topic = 'patient:sse2';
    const sse = track(sseClient('nurse', lb.url, [topic], [topic]));
    await until(() => sse.client.status.state === 'open' && lb.routes.size === 1, 'the stream is open', 15_000);
    const streamPort = [...lb.routes.values()][0];
    const other = instances.find((i) => i.port !== streamPort) as HubProcess;
    // A doctor's screen on the same patient, over WebSocket straight to the other instance.
    const doctor = track({
      client: createNotificationClient({
        url: other.url,
        token: 'tok_doctor',
        topics: [topic],
        presence: [topic],
        WebSocket: WebSocket as never,
        unread: false,
      }),
    });
    // Presence crosses instances both ways.
    await until(() => sse.client.presence[topic]?.includes('doctor') === true, 'the nurse sees the doctor', 15_000);
    await until(() => doctor.client.presence[topic]?.includes('nurse') === true, 'the doctor sees the nurse', 15_000);

    // A notification from the doctor's instance reaches the nurse's stream; her read (a POST
    // routed to her stream's instance) is confirmed to her.
    for (let w = 0; sse.got.length === 0; w++) {
      if (w >= 100) throw new Error('the nurse never received a notification');
      await other.publish(topic, `r${w}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const id = sse.got[0]?.id as string;
    sse.client.markRead(id);
    await until(() => sse.receipts.includes(`read:${id}`), 'the hub confirmed the read', 15_000);

    // The nurse leaves: the doctor's instance learns it.
    sse.client.close();
    await until(() => doctor.client.presence[topic]?.includes('nurse') === false, 'the doctor sees her leave', 15_000);
  }, 60_000);

  it('without sticky routing, a POST that reaches the other instance gets 404 and the client reconnects', async () => {
    const instances = await cluster(2);
    const lb = await proxy(instances, false);
    const s = track(sseClient('u1', lb.url, ['patient:sse3']));
    await until(() => lb.posts.some((p) => p.status === 404), 'a POST reached an instance without its stream', 15_000);
    await until(() => s.reconnects > 0, 'the client reconnected', 15_000);
    // The refusal is a documented answer, not a crash: both instances still serve.
    expect(instances.every((i) => i.alive)).toBe(true);
  }, 60_000);
});
