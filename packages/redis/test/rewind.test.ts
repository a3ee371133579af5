// Redis coming back older than it was (an RDB snapshot, an AOF whose tail was never fsynced, a
// promoted replica that missed the last writes) must never make a client lose notifications
// silently: no (epoch, seq) is ever handed out twice, and every client either gets everything or
// an explicit gap. Real redis-server processes (private ports and directories), real hubs on real
// sockets, real @wardcast/client clients.
import { createNotificationClient, type GapEvent, type NotificationClient } from '@wardcast/client';
import type { StreamPosition } from '@wardcast/protocol';
import { createRedisBackplane, type RedisBackplane } from '@wardcast/redis';
import { isWardcastError, type PublishResult } from '@wardcast/server';
import { afterEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import { useHarness } from '../../server/test/helpers/harness.js';
import type { RedisFixture } from './helpers/hubs.js';
import { describeRedis, uniquePrefix } from './helpers/redis.js';
import { type Persistence, RedisServer, TcpProxy } from './helpers/servers.js';

const TOPICS: readonly string[] = ['patient:p1', 'patient:p2', 'ward:w3'];
/** Publishes per topic: before the checkpoint, after it (lost by the rewind), after the rewind. */
const PHASES = { before: 4, lost: 5, after: 8 } as const;

/** A logical clock shared by publishes and client events, so "before" and "after" are exact. */
let clock = 0;
const tick = () => ++clock;

interface Published {
  readonly topic: string;
  readonly id: string;
  readonly epoch: string;
  readonly seq: number;
  readonly duplicate: boolean;
  /** When the publish resolved. */
  readonly at: number;
}

interface Subscribed {
  readonly topic: string;
  readonly status: string;
  readonly recovered?: boolean;
  readonly position?: StreamPosition;
  readonly at: number;
}

/** A @wardcast/client subscriber that records everything it sees, with the raw `ready` and `subscribed` results. */
class Watcher {
  readonly name: string;
  readonly topics: readonly string[];
  readonly client: NotificationClient;
  readonly received: { topic: string; id: string; epoch: string; seq: number; at: number }[] = [];
  readonly gaps: (GapEvent & { at: number })[] = [];
  readonly subscribed: Subscribed[] = [];

  constructor(name: string, topics: readonly string[], url: string) {
    this.name = name;
    this.topics = topics;
    const subscribed = this.subscribed;
    // The client does not expose `recovered`; read it off the wire as well.
    class RecordingWebSocket extends WebSocket {
      constructor(address: string) {
        super(address);
        this.on('message', (data) => {
          const frame = JSON.parse(String(data)) as { type: string; topics?: Omit<Subscribed, 'at'>[] };
          // Protocol 2's `ready` carries the connect's results, `subscribed` those of a later subscribe.
          if (frame.type !== 'subscribed' && frame.type !== 'ready') return;
          for (const t of frame.topics ?? []) subscribed.push({ ...t, at: tick() });
        });
      }
    }
    this.client = createNotificationClient({
      url,
      token: `tok_SECRET_${name}`,
      topics,
      WebSocket: RecordingWebSocket as never,
      backoff: { initialDelayMs: 50, maxDelayMs: 300 },
      unread: false,
    });
    this.client.on('notification', (n) =>
      this.received.push({ topic: n.topic, id: n.id, epoch: n.epoch, seq: n.seq, at: tick() }),
    );
    this.client.on('gap', (g) => this.gaps.push({ ...g, at: tick() }));
  }

  has(id: string): boolean {
    return this.received.some((r) => r.id === id);
  }

  /** Whether every topic got an `ok` subscribe result after logical time `since`. */
  subscribedSince(since: number): boolean {
    return this.topics.every((t) => this.subscribed.some((s) => s.topic === t && s.status === 'ok' && s.at > since));
  }
}

/** Polls `condition` (generous deadline: the machine may be loaded); returns whether it held. */
async function settle(condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  if (!(await settle(condition, timeoutMs))) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
}

/** What a scenario does to Redis at its two moments. */
interface Rewind {
  readonly name: string;
  /** The Redis the hubs start on (always through a proxy, so their URL never changes). */
  readonly primary: RedisServer;
  /** What Redis comes back with: the checkpoint's state (`older`), or everything (`complete`). */
  readonly restored: 'older' | 'complete';
  /** After the first publishes: remember this state (SAVE, AOF length, replica in sync and cut off). */
  checkpoint(): Promise<void>;
  /** After more publishes: crash and come back; resolves with the server that serves now. */
  rewind(): Promise<RedisServer>;
}

/** Each topic's `{ epoch, seq }` as stored in its meta hash (read before any hub reaches the server). */
async function storedPositions(server: RedisServer): Promise<Map<string, StreamPosition>> {
  const keys = (await server.command('KEYS', '*}:meta')) as string[];
  const positions = new Map<string, StreamPosition>();
  for (const key of keys) {
    const [epoch, seq] = (await server.command('HMGET', key, 'e', 's')) as [string, string];
    const topic = /\{(.+)\}:meta$/.exec(key)?.[1];
    if (topic) positions.set(topic, { epoch, seq: Number(seq) });
  }
  return positions;
}

interface Outcome {
  readonly published: Published[];
  /** Publishes after the rewind of ids first published before it. */
  readonly retries: Published[];
  readonly violations: string[];
}

describeRedis(
  'Redis rewinds (restore from an older snapshot, lost AOF tail, promoted stale replica)',
  () => {
    const harness = useHarness();
    const cleanups: (() => Promise<void> | void)[] = [];
    afterEach(async () => {
      // Clients before hubs (the harness closes hubs after this), servers last.
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    async function server(options: { persistence?: Persistence; replicaOf?: number; name?: string }) {
      const s = await RedisServer.start(options);
      cleanups.unshift(() => s.destroy());
      return s;
    }

    async function proxy(target: number) {
      const p = await TcpProxy.start(target);
      cleanups.unshift(() => p.close());
      return p;
    }

    /** Two in-process hubs on one key prefix of `url`, each with its own backplane. */
    async function hubs(url: string): Promise<RedisFixture[]> {
      const keyPrefix = uniquePrefix();
      const fixtures: RedisFixture[] = [];
      for (const name of ['hub-a', 'hub-b']) {
        const backplane: RedisBackplane = createRedisBackplane({
          redis: url,
          keyPrefix,
          instanceId: name,
          commandTimeoutMs: 1_000,
        });
        const fixture = await harness.start({ history: backplane, broker: backplane, authorize: () => true });
        fixtures.push({ ...fixture, backplane });
      }
      return fixtures;
    }

    function watcher(name: string, topics: readonly string[], url: string): Watcher {
      const w = new Watcher(name, topics, url);
      cleanups.push(() => w.client.close());
      return w;
    }

    /** Publishes, retrying (same id: dedupe makes a retry safe) while the hub cannot reach Redis. */
    async function publish(
      fixtures: readonly RedisFixture[],
      topic: string,
      id: string,
      published: Published[],
    ): Promise<void> {
      const deadline = Date.now() + 15_000;
      for (let attempt = 0; ; attempt++) {
        const hub = (fixtures[(published.length + attempt) % fixtures.length] as RedisFixture).hub;
        let result: PublishResult;
        try {
          result = await hub.publish(topic, { kind: 'custom', id, payload: { id } });
        } catch (error) {
          if (!isWardcastError(error, 'store_unavailable') || Date.now() > deadline) throw error;
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        published.push({ topic, id, epoch: result.epoch, seq: result.seq, duplicate: result.duplicate, at: tick() });
        return;
      }
    }

    async function phase(fixtures: readonly RedisFixture[], name: string, count: number, published: Published[]) {
      for (let i = 0; i < count; i++) {
        for (const topic of TOPICS) await publish(fixtures, topic, `${topic}/${name}-${i}`, published);
      }
    }

    /**
     * The scenario every rewind goes through: 2 hubs; 4 live clients (2 topics each); one client
     * away during the rewind that resumes right after it (`early`), and one away until the
     * publishes after the rewind are done (`late`: by then the reused seqs are past its resume
     * point). Publish, checkpoint, publish more (all delivered), rewind, publish again; audit.
     */
    async function run(r: Rewind): Promise<Outcome> {
      const front = await proxy(r.primary.port);
      const fixtures = await hubs(front.url);
      const live = [0, 1, 2, 3].map((i) =>
        watcher(
          `live${i}`,
          [TOPICS[i % 3], TOPICS[(i + 1) % 3]] as string[],
          (fixtures[i % fixtures.length] as RedisFixture).url,
        ),
      );
      const early = watcher('early-resumer', TOPICS, (fixtures[1] as RedisFixture).url);
      const late = watcher('late-resumer', TOPICS, (fixtures[0] as RedisFixture).url);
      const everyone = [...live, early, late];
      await until(() => everyone.every((w) => w.subscribedSince(0)), 'every client is subscribed');

      const published: Published[] = [];
      const receivedAll = (ws: readonly Watcher[]) =>
        ws.every((w) => published.filter((p) => w.topics.includes(p.topic)).every((p) => w.has(p.id)));

      await phase(fixtures, 'before', PHASES.before, published);
      await until(() => receivedAll(everyone), 'every client has the first publishes');
      await r.checkpoint();
      await phase(fixtures, 'lost', PHASES.lost, published);
      await until(() => receivedAll(everyone), 'every client has the publishes after the checkpoint');
      const positions = new Map(TOPICS.map((t) => [t, published.filter((p) => p.topic === t).at(-1) as Published]));

      // The resumers go away; Redis rewinds. No hub reaches Redis until we have looked at what it
      // came back with.
      early.client.close();
      late.client.close();
      front.refuse(true);
      front.cut();
      const serving = await r.rewind();
      const restored = await storedPositions(serving);
      for (const t of TOPICS) {
        const last = positions.get(t) as Published;
        // The scenario is what it claims: Redis is back on the same epoch, at the checkpoint (an
        // AOF write postponed by a slow fsync can put it a little earlier), or complete.
        expect(restored.get(t)?.epoch).toBe(last.epoch);
        if (r.restored === 'complete') expect(restored.get(t)?.seq).toBe(last.seq);
        else expect(restored.get(t)?.seq).toBeLessThanOrEqual(PHASES.before);
      }
      front.retarget(serving.port);
      front.refuse(false);
      const rewoundAt = tick();
      await until(() => fixtures.every((f) => f.backplane.health() === 'ok'), 'the hubs are connected to Redis again');
      await resume(early);

      const afterFrom = published.length;
      // A publisher retrying a notification it published before the rewind (same id): the rewind
      // forgot the id with the old epoch, so it is stored again; no client may show it twice.
      for (const t of TOPICS) await publish(fixtures, t, `${t}/lost-0`, published);
      const retries = published.slice(afterFrom);
      await phase(fixtures, 'after', PHASES.after, published);
      const after = published.slice(afterFrom);
      const lateFrom = await resume(late);
      // Without rewind detection the first of these reuse seqs the clients already hold and never
      // arrive; the last ones (higher seqs) do. Wait until each client has the last one of each of
      // its topics or reported a gap after it, then audit.
      const lastOf = new Map(TOPICS.map((t) => [t, after.filter((p) => p.topic === t).at(-1) as Published]));
      await settle(() =>
        everyone.every((w) =>
          w.topics.every((t) => {
            const last = lastOf.get(t) as Published;
            return w.has(last.id) || w.gaps.some((g) => g.topic === t && g.at > last.at);
          }),
        ),
      );

      const violations = audit(published, everyone, rewoundAt);
      const resumes = (w: Watcher, since: number) =>
        TOPICS.map((t) => ({ t, s: w.subscribed.find((x) => x.topic === t && x.at > since) }));
      for (const [w, since] of [
        [early, rewoundAt],
        [late, lateFrom],
      ] as const) {
        for (const { t, s } of resumes(w, since)) {
          const from = positions.get(t) as Published;
          if (s?.recovered !== false)
            violations.push(
              `${w.name}: resume of ${t} from (${from.epoch}, ${from.seq}) answered recovered: ${s?.recovered} at (${s?.position?.epoch}, ${s?.position?.seq})`,
            );
        }
      }
      const reused = violations.filter((v) => v.startsWith('seq reused')).length;
      const silent = violations.filter((v) => v.includes('silently missed')).length;
      const before = published.slice(0, afterFrom);
      const epochsAfter = new Set(after.map((p) => p.epoch));
      const recovered = (w: Watcher, since: number) =>
        resumes(w, since)
          .map(({ s }) => s?.recovered)
          .join('/');
      console.log(
        `[rewind ${r.name}] Redis came back at seq ${[...restored.values()].map((p) => p.seq).join('/')} of ${PHASES.before + PHASES.lost} (same epochs); ` +
          `${published.length} publishes on ${TOPICS.length} topics (${after.length} after the rewind, on ${[...epochsAfter].filter((e) => before.some((p) => p.epoch === e)).length} epochs from before it, first seq ${after[0]?.seq}); ` +
          `${everyone.length} clients, ${everyone.filter((w) => w.gaps.some((g) => g.at > rewoundAt)).length} reported a gap ` +
          `(${[...new Set(everyone.flatMap((w) => w.gaps.filter((g) => g.at > rewoundAt).map((g) => g.reason)))].join(', ') || 'none'}); ` +
          `resume recovered: early ${recovered(early, rewoundAt)}, late ${recovered(late, lateFrom)}; ` +
          `retried ids from before it stored again: ${retries.filter((p) => !p.duplicate).length}/${retries.length}; ` +
          `seq reuses ${reused}, silently missed ${silent}`,
      );
      return { published, retries, violations };
    }

    /**
     * Reconnects a closed client (it resumes from its positions) and waits for its subscribe
     * results; returns the logical time it started. A subscribe refused while a hub was still
     * reconnecting to Redis (`store_unavailable`) is resumed again.
     */
    async function resume(w: Watcher): Promise<number> {
      let from = tick();
      w.client.connect();
      await until(() => {
        if (w.subscribedSince(from)) return true;
        if (w.subscribed.some((s) => s.at > from && s.status !== 'ok')) {
          w.client.close();
          from = tick();
          w.client.connect();
        }
        return false;
      }, `${w.name} resumed`);
      return from;
    }

    /**
     * Checks the promise: no (topic, epoch, seq) ever names two ids; each client gets an id at most
     * once, in seq order within an epoch; each id published on a client's topic was received or a
     * gap on that topic was reported after the publish resolved (a resync then fetches it); and
     * every client reported a gap on each of its topics after the rewind.
     */
    function audit(published: readonly Published[], watchers: readonly Watcher[], rewoundAt: number): string[] {
      const violations: string[] = [];
      const owner = new Map<string, string>();
      const claim = (topic: string, epoch: string, seq: number, id: string, by: string) => {
        const key = `${topic} (${epoch}, ${seq})`;
        const had = owner.get(key);
        if (had === undefined) owner.set(key, id);
        else if (had !== id) violations.push(`seq reused: ${key} assigned to ${had} and to ${id} (${by})`);
      };
      for (const p of published) claim(p.topic, p.epoch, p.seq, p.id, 'publish result');
      for (const w of watchers) {
        for (const r of w.received) claim(r.topic, r.epoch, r.seq, r.id, `received by ${w.name}`);
      }
      for (const w of watchers) {
        const ids = w.received.map((r) => r.id);
        for (const id of new Set(ids.filter((id, i) => ids.indexOf(id) !== i)))
          violations.push(`${w.name} received ${id} twice`);
        for (const t of w.topics) {
          const got = w.received.filter((r) => r.topic === t);
          for (let i = 1; i < got.length; i++) {
            const [a, b] = [got[i - 1], got[i]] as [Published, Published];
            if (a.epoch === b.epoch && b.seq <= a.seq)
              violations.push(`${w.name} got ${t} seq ${b.seq} after ${a.seq} in one epoch`);
          }
          if (!w.gaps.some((g) => g.topic === t && g.at > rewoundAt))
            violations.push(`${w.name} reported no gap on ${t} after the rewind`);
        }
        for (const p of published) {
          if (!w.topics.includes(p.topic) || w.has(p.id)) continue;
          if (!w.gaps.some((g) => g.topic === p.topic && g.at > p.at))
            violations.push(`${w.name} silently missed ${p.id} (${p.epoch}, ${p.seq}): no gap on ${p.topic} after it`);
        }
      }
      return violations;
    }

    it('RDB: a restart from an older snapshot (SAVE, more publishes, kill -9, restart) gives every client a gap, never a reused seq', async () => {
      const redis = await server({ persistence: 'rdb', name: 'rdb' });
      const { violations, retries } = await run({
        name: 'rdb',
        primary: redis,
        restored: 'older',
        checkpoint: async () => {
          expect(await redis.command('SAVE')).toBe('OK');
        },
        rewind: async () => {
          await redis.kill();
          await redis.start();
          return redis;
        },
      });
      expect(violations).toEqual([]);
      expect(retries.map((p) => p.duplicate)).toEqual(TOPICS.map(() => false));
    }, 40_000);

    it('AOF everysec: a crash that loses the unsynced tail of the AOF gives every client a gap, never a reused seq', async () => {
      // A kill -9 of redis-server alone loses nothing with everysec (the AOF is written before
      // replies, the page cache survives the process); the loss needs the OS or the disk to go
      // too. Truncating the AOF to its length at the checkpoint is exactly what such a crash
      // leaves behind when the last fsync was at the checkpoint.
      const redis = await server({ persistence: 'aof-everysec', name: 'aof-everysec' });
      let file = '';
      let bytes = 0;
      const { violations, retries } = await run({
        name: 'aof-everysec',
        primary: redis,
        restored: 'older',
        checkpoint: async () => {
          file = await redis.aofIncrementFile();
          bytes = await RedisServer.sizeOf(file);
        },
        rewind: async () => {
          await redis.kill();
          const full = await RedisServer.sizeOf(file);
          console.log(`[rewind aof-everysec] AOF increment ${full} bytes at the crash, cut back to ${bytes}`);
          await RedisServer.truncate(file, bytes);
          await redis.start();
          return redis;
        },
      });
      expect(violations).toEqual([]);
      expect(retries.map((p) => p.duplicate)).toEqual(TOPICS.map(() => false));
    }, 40_000);

    it('replica: a replica that missed the last writes, promoted after the primary is killed, gives every client a gap, never a reused seq', async () => {
      const primary = await server({ name: 'primary' });
      // The replication link goes through a proxy so that it can be partitioned: a stopped
      // (SIGSTOP) replica still gets everything, from its socket buffer, when it resumes.
      const link = await proxy(primary.port);
      const replica = await server({ name: 'replica', replicaOf: link.port });
      await until(
        async () => (await replica.info('replication')).master_link_status === 'up',
        'the replica is in sync',
      );
      let synced = 0;
      const { violations, retries } = await run({
        name: 'replica',
        primary,
        restored: 'older',
        checkpoint: async () => {
          // Everything so far is on the replica, then the link stops delivering.
          expect(await primary.command('WAIT', 1, 10_000)).toBe(1);
          link.partition();
          synced = Number((await primary.info('replication')).master_repl_offset);
        },
        rewind: async () => {
          const written = Number((await primary.info('replication')).master_repl_offset);
          await primary.kill();
          link.cut();
          await replica.promote();
          await until(async () => (await replica.info('replication')).role === 'master', 'the replica is promoted');
          const had = Number((await replica.info('replication')).master_repl_offset);
          console.log(
            `[rewind replica] primary wrote up to replication offset ${written}, in sync up to ${synced}; the promoted replica had ${had}`,
          );
          return replica;
        },
      });
      expect(violations).toEqual([]);
      expect(retries.map((p) => p.duplicate)).toEqual(TOPICS.map(() => false));
    }, 40_000);

    it('AOF always: a restart that lost nothing still rotates the epochs (a gap without a loss), never a reused seq', async () => {
      const redis = await server({ persistence: 'aof-always', name: 'aof-always' });
      const { violations, retries } = await run({
        name: 'aof-always',
        primary: redis,
        restored: 'complete',
        checkpoint: async () => {},
        rewind: async () => {
          await redis.kill();
          await redis.start();
          return redis;
        },
      });
      expect(violations).toEqual([]);
      expect(retries.map((p) => p.duplicate)).toEqual(TOPICS.map(() => false));
    }, 40_000);
  },
  { needsBinary: true },
);
