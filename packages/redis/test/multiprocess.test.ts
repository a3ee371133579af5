import { afterEach, beforeAll, expect, it } from 'vitest';
import { type Received, Subscriber } from '../../../conformance/subscriber.js';
import { assertBuilt, type HubProcess, type PublishReply, startInstance } from './helpers/instances.js';
import { deletePrefix, describeRedis, PrivateRedis, REDIS_URL, uniquePrefix, until } from './helpers/redis.js';

/** Publishes through a random live instance, moving on to another one when the chosen one died. */
async function publish(instances: readonly HubProcess[], topic: string, id: string): Promise<PublishReply> {
  for (;;) {
    const alive = instances.filter((i) => i.alive);
    const target = alive[Math.floor(Math.random() * alive.length)] as HubProcess;
    const reply = await target.publish(topic, id);
    if (reply.ok || reply.code !== 'instance_exited') return reply;
  }
}

/** Publishes markers until every subscriber has seen one on each of its topics (so all are subscribed). */
async function warmUp(instances: readonly HubProcess[], subscribers: readonly Subscriber[], topics: string[]) {
  for (let round = 0; round < 50; round++) {
    await Promise.all(topics.map((t) => publish(instances, t, `warm-${round}-${t}`)));
    await new Promise((r) => setTimeout(r, 100));
    if (subscribers.every((s) => s.topics.every((t) => (s.got.get(t)?.length ?? 0) > 0))) return;
  }
  const waiting = subscribers
    .filter((s) => s.topics.some((t) => (s.got.get(t)?.length ?? 0) === 0))
    .map((s) => `${s.topics.join('+')} ${s.client.status.state} denied=[${s.denied.join(',')}]`);
  throw new Error(`subscribers never all subscribed: ${waiting.join('; ')}`);
}

/** Runs `count` jobs with at most `width` in flight. */
async function pool(count: number, width: number, job: (k: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await job(next++);
    }),
  );
}

/** Checks one subscriber's notifications on `topic`: once each, in seq order, nothing missing after its first. */
function expectComplete(s: Subscriber, topic: string, acked: ReadonlyMap<string, Received>): void {
  const got = s.got.get(topic) ?? [];
  expect(new Set(got.map((n) => n.id)).size).toBe(got.length);
  const first = got[0] as Received;
  const expected = [...acked.values()]
    .filter((n) => n.epoch === first.epoch && n.seq >= first.seq)
    .sort((a, b) => a.seq - b.seq);
  expect(got.map((n) => n.seq)).toEqual(expected.map((n) => n.seq));
  expect(got.map((n) => n.id)).toEqual(expected.map((n) => n.id));
}

describeRedis(
  'hub instances in separate processes on one Redis',
  () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
    });
    beforeAll(() => assertBuilt());

    async function cluster(redisUrl: string, count: number): Promise<HubProcess[]> {
      const prefix = uniquePrefix();
      cleanups.push(() => deletePrefix(redisUrl, prefix));
      const instances = await Promise.all(
        Array.from({ length: count }, (_, i) => startInstance(`proc-${i}`, redisUrl, prefix)),
      );
      cleanups.push(() => Promise.all(instances.map((i) => i.close())).then(() => {}));
      return instances;
    }

    function subscribers(instances: HubProcess[], count: number, topics: string[]): Subscriber[] {
      const list = Array.from(
        { length: count },
        (_, i) =>
          new Subscriber(
            `u${i}`,
            [topics[i % topics.length], topics[(i + 1) % topics.length]] as string[],
            instances,
            i,
          ),
      );
      cleanups.push(async () => {
        for (const s of list) s.client.close();
      });
      return list;
    }

    it('3 instances, 30 subscribers, 1,000 notifications from random instances, one instance killed -9 mid-stream', async () => {
      const instances = await cluster(REDIS_URL, 3);
      const topics = Array.from({ length: 6 }, (_, i) => `patient:t${i}`);
      const subs = subscribers(instances, 30, topics);
      await warmUp(instances, subs, topics);

      const acked = new Map<string, Map<string, Received>>(topics.map((t) => [t, new Map()]));
      await pool(1000, 8, async (k) => {
        if (k === 400) await (instances[2] as HubProcess).kill();
        const topic = topics[k % topics.length] as string;
        const id = `n${k}`;
        const reply = await publish(instances, topic, id);
        if (!reply.ok) throw new Error(`publish ${id} failed: ${reply.code}`);
        acked.get(topic)?.set(id, { id, epoch: reply.epoch, seq: reply.seq });
      });
      expect(instances[2]?.alive).toBe(false);
      // The ten subscribers that started on the killed instance moved to the others.
      expect(subs.filter((s) => s.reconnects > 0).length).toBeGreaterThanOrEqual(10);
      for (const topic of topics) {
        const end = Math.max(...[...(acked.get(topic)?.values() ?? [])].map((n) => n.seq));
        await until(
          () => subs.every((s) => !s.topics.includes(topic) || s.last(topic)?.seq === end),
          `all at ${end} on ${topic}`,
          10_000,
        );
      }
      for (const s of subs) {
        for (const topic of s.topics) {
          const all = new Map(acked.get(topic));
          for (const n of s.got.get(topic) ?? []) if (n.id.startsWith('warm-')) all.set(n.id, n);
          expectComplete(s, topic, all);
        }
        expect(s.gaps).toEqual([]);
      }
    }, 30_000);

    it('a Redis restart mid-stream: publishes fail loudly meanwhile, then delivery resumes with an explicit gap', async () => {
      const redis = await PrivateRedis.start();
      cleanups.push(() => redis.kill());
      const instances = await cluster(redis.url, 2);
      const topics = ['patient:r0', 'patient:r1', 'patient:r2', 'patient:r3'];
      const subs = subscribers(instances, 10, topics);
      await warmUp(instances, subs, topics);

      const acked = new Map<string, Map<string, Received>>(topics.map((t) => [t, new Map()]));
      const failures: string[] = [];
      for (let k = 0; k < 300; k++) {
        if (k === 100) await redis.kill();
        if (k === 150) await redis.restart();
        const topic = topics[k % topics.length] as string;
        const id = `x${k}`;
        let reply = await publish(instances, topic, id);
        if (!reply.ok) failures.push(reply.code);
        // After the restart, retry until the instances have reconnected; during the outage, give up.
        for (let tries = 0; !reply.ok && k >= 150 && tries < 100; tries++) {
          await new Promise((r) => setTimeout(r, 50));
          reply = await publish(instances, topic, id);
        }
        if (reply.ok) acked.get(topic)?.set(id, { id, epoch: reply.epoch, seq: reply.seq });
      }
      expect(failures.length).toBeGreaterThanOrEqual(50);
      expect(new Set(failures)).toEqual(new Set(['store_unavailable']));

      for (const topic of topics) {
        const latest = [...(acked.get(topic)?.values() ?? [])].at(-1) as Received;
        await until(
          () => subs.every((s) => !s.topics.includes(topic) || s.last(topic)?.id === latest.id),
          `all got ${latest.id}`,
          10_000,
        );
      }
      for (const s of subs) {
        for (const topic of s.topics) {
          const got = s.got.get(topic) ?? [];
          expect(new Set(got.map((n) => n.id)).size).toBe(got.length);
          const newEpoch = (got.at(-1) as Received).epoch;
          const afterRestart = [...(acked.get(topic)?.values() ?? [])].filter((n) => n.epoch === newEpoch);
          expect(afterRestart.length).toBeGreaterThan(0);
          // Everything acknowledged after the restart arrived, in order, once.
          expect(got.filter((n) => n.epoch === newEpoch).map((n) => n.id)).toEqual(afterRestart.map((n) => n.id));
          // What was acknowledged before the crash arrived too, or the subscriber was told of a gap.
          const before = [...(acked.get(topic)?.values() ?? [])].filter((n) => n.epoch !== newEpoch);
          const missing = before.filter((n) => !got.some((g) => g.id === n.id));
          const gapped = s.gaps.some((g) => g.topic === topic);
          expect(missing.length === 0 || gapped).toBe(true);
          // The stream changed under the subscriber: it must have been told.
          expect(gapped).toBe(true);
        }
      }
    }, 30_000);
  },
  { needsBinary: true },
);
