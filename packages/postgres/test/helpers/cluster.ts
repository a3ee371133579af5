/**
 * The production topology, for tests: hub processes (fixtures/cluster-hub.mjs, the BUILT packages)
 * sharing one Redis (history + broker) and one PostgreSQL schema (inbox + escalation store),
 * behind a round-robin TCP load balancer on loopback.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { migrate } from '@wardcast/postgres';
import type pg from 'pg';
import { describe, it } from 'vitest';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../../../redis/test/helpers/redis.js';
import { database, newPool } from './db.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/cluster-hub.mjs', import.meta.url));
const DISTS = [
  '../../dist/index.js',
  '../../../redis/dist/index.js',
  '../../../server/dist/index.js',
  '../../../protocol/dist/index.js',
].map((p) => fileURLToPath(new URL(p, import.meta.url)));

/** Whether a Redis answers PING at `url` (a raw RESP exchange: this package does not depend on ioredis). */
function pingRedis(url: string, timeoutMs = 1_500): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(u.port || 6379), u.hostname || '127.0.0.1');
    let answer = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => {
      const password = decodeURIComponent(u.password);
      const user = decodeURIComponent(u.username);
      const auth = password ? `AUTH ${user ? `${user} ` : ''}${password}\r\n` : '';
      socket.write(`${auth}PING\r\n`);
    });
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      if (answer.includes('+PONG')) done(true);
      else if (answer.startsWith('-') || /\r\n-/.test(answer)) done(false);
    });
    socket.on('error', () => done(false));
  });
}

const redisReachable = await pingRedis(REDIS_URL);

/**
 * `describe` for the cluster suites: they need PostgreSQL (`DATABASE_URL`) and Redis (`REDIS_URL`).
 * Without them the suite is skipped with a message, except under CI (`process.env.CI`), where it
 * fails. (An unreachable PostgreSQL already fails under CI when helpers/db.ts is imported.) The
 * packages must be built: child processes run `dist`.
 */
export function describeCluster(name: string, fn: () => void): void {
  const missing = !database
    ? 'PostgreSQL is not reachable (set DATABASE_URL)'
    : !redisReachable
      ? `Redis is not reachable at ${REDIS_URL.replace(/\/\/[^@/]*@/, '//***@')} (set REDIS_URL)`
      : undefined;
  if (missing === undefined) {
    describe(name, fn);
    return;
  }
  if (process.env.CI) {
    describe(name, () => {
      it('has Redis and PostgreSQL to test against', () => {
        throw new Error(`${missing}: required under CI`);
      });
    });
    return;
  }
  console.warn(`[@wardcast/postgres] skipping "${name}": ${missing}`);
  describe.skip(name, fn);
}

/** Throws when a package the child processes import was not built. */
export function assertBuilt(): void {
  const missing = DISTS.filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new Error(`build the packages first (npx -y pnpm@10 build): missing ${missing.join(', ')}`);
  }
}

/** A migrated schema of its own for one test, and a pool on it. */
export interface ClusterSchema {
  readonly name: string;
  readonly pool: pg.Pool;
  drop(): Promise<void>;
}

/** Creates and migrates `wardcast_cluster_<random>`; `drop()` removes it and ends the pool. */
export async function createSchema(): Promise<ClusterSchema> {
  const name = `wardcast_cluster_${randomBytes(5).toString('hex')}`;
  const pool = newPool(4);
  await migrate(pool, { schema: name });
  return {
    name,
    pool,
    async drop() {
      try {
        await pool.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
      } finally {
        await pool.end().catch(() => {});
      }
    },
  };
}

/** A hub event reported by a child (`info` as the hub emitted it, serialised). */
export interface HubEvent {
  readonly instance: string;
  readonly name: string;
  // biome-ignore lint/suspicious/noExplicitAny: event payloads differ per name; tests read known fields.
  readonly info: any;
  /** `Date.now()` in the child when the event was emitted. */
  readonly at: number;
}

/** What a publish through a child returned. */
export type PublishReply =
  | {
      readonly ok: true;
      readonly id: string;
      readonly epoch: string;
      readonly seq: number;
      readonly duplicate: boolean;
    }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** Options of {@link ClusterHub.start}. */
export interface HubEnv {
  readonly redisUrl: string;
  readonly keyPrefix: string;
  readonly schema: string;
  readonly leaseMs?: number;
  readonly resumeIntervalMs?: number;
}

/** One hub instance in its own `node` process, driven over IPC. */
export class ClusterHub {
  readonly name: string;
  port = 0;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (reply: PublishReply) => void>();
  #next = 0;
  #exited = false;
  #paused = false;

  private constructor(name: string, env: HubEnv, onEvent: (event: HubEvent) => void) {
    this.name = name;
    this.#child = spawn(process.execPath, [FIXTURE], {
      env: {
        ...process.env,
        INSTANCE_ID: name,
        REDIS_URL: env.redisUrl,
        KEY_PREFIX: env.keyPrefix,
        PG_CONFIG: JSON.stringify(database ?? {}),
        PG_SCHEMA: env.schema,
        LEASE_MS: env.leaseMs === undefined ? '' : String(env.leaseMs),
        RESUME_INTERVAL_MS: env.resumeIntervalMs === undefined ? '' : String(env.resumeIntervalMs),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    // Writing to a process that just died fails with EPIPE: reported through the send callbacks.
    this.#child.on('error', () => {});
    this.#child.on('message', (m: { type: string; req?: number; name?: string; info?: unknown; at?: number }) => {
      if (m.type === 'published' && m.req !== undefined) {
        this.#pending.get(m.req)?.(m as unknown as PublishReply);
        this.#pending.delete(m.req);
      } else if (m.type === 'event') {
        onEvent({ instance: this.name, name: String(m.name), info: m.info, at: Number(m.at) });
      }
    });
    this.#child.once('exit', () => {
      this.#exited = true;
      for (const resolve of this.#pending.values()) {
        resolve({ ok: false, code: 'instance_exited', message: `${name} exited` });
      }
      this.#pending.clear();
    });
  }

  /** Spawns the process; resolves once its server listens. */
  static async start(name: string, env: HubEnv, onEvent: (event: HubEvent) => void): Promise<ClusterHub> {
    const hub = new ClusterHub(name, env, onEvent);
    hub.port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start within 20 s`)), 20_000);
      hub.#child.on('message', (m: { type: string; port?: number }) => {
        if (m.type !== 'listening') return;
        clearTimeout(timer);
        resolve(Number(m.port));
      });
      hub.#child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code ?? signal}) before listening`));
      });
    });
    return hub;
  }

  get alive(): boolean {
    return !this.#exited;
  }

  /** `hub.publish(topic, input)` in the child. Never rejects: failures are `{ ok: false, code }`. */
  publish(topic: string, input: Record<string, unknown>): Promise<PublishReply> {
    if (this.#exited) return Promise.resolve({ ok: false, code: 'instance_exited', message: `${this.name} exited` });
    const req = ++this.#next;
    return new Promise((resolve) => {
      this.#pending.set(req, resolve);
      this.#child.send({ type: 'publish', req, topic, input }, (error) => {
        if (!error) return;
        this.#pending.delete(req);
        resolve({ ok: false, code: 'instance_exited', message: String(error) });
      });
    });
  }

  /**
   * `kill -STOP`: the process freezes (a long GC pause, a stalled VM, a partition) with its timers,
   * sockets and leases as they were, until {@link ClusterHub.resume}.
   */
  pause(): void {
    if (this.#exited || this.#paused) return;
    this.#paused = true;
    this.#child.kill('SIGSTOP');
  }

  /** `kill -CONT`: the frozen process runs on (its overdue timers fire at once). */
  resume(): void {
    if (this.#exited || !this.#paused) return;
    this.#paused = false;
    this.#child.kill('SIGCONT');
  }

  /** `kill -9`: no goodbye to Redis, PostgreSQL or the clients. */
  async kill(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise((r) => this.#child.once('exit', r));
    this.#child.kill('SIGKILL');
    await exited;
  }

  /** Graceful `hub.close()`, killed if it takes longer than 5 s. */
  async close(): Promise<void> {
    if (this.#exited) return;
    this.resume();
    const exited = new Promise((r) => this.#child.once('exit', r));
    this.#child.send({ type: 'close' }, (error) => {
      if (error) this.#child.kill('SIGKILL');
    });
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * A round-robin TCP load balancer on 127.0.0.1: each new connection is piped to the next live
 * instance (skipping ones that refuse). A connection ends when either side does, so the clients of
 * an instance that dies see their socket close and reconnect through the balancer.
 */
export class Balancer {
  readonly #server: net.Server;
  readonly #backends: () => readonly ClusterHub[];
  readonly #sockets = new Set<net.Socket>();
  #turn = 0;
  port = 0;
  /** Instance chosen for each accepted connection, in order. */
  readonly routes: string[] = [];

  private constructor(backends: () => readonly ClusterHub[]) {
    this.#backends = backends;
    this.#server = net.createServer((client) => this.#accept(client));
  }

  static async start(backends: () => readonly ClusterHub[]): Promise<Balancer> {
    const balancer = new Balancer(backends);
    await new Promise<void>((resolve, reject) => {
      balancer.#server.once('error', reject);
      balancer.#server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = balancer.#server.address();
    balancer.port = typeof address === 'object' && address ? address.port : 0;
    return balancer;
  }

  #accept(client: net.Socket): void {
    this.#track(client);
    client.on('error', () => client.destroy());
    this.#route(client, 0);
  }

  #route(client: net.Socket, attempt: number): void {
    const alive = this.#backends().filter((h) => h.alive);
    if (client.destroyed || alive.length === 0 || attempt >= alive.length + 1) {
      client.destroy();
      return;
    }
    const target = alive[this.#turn++ % alive.length] as ClusterHub;
    const upstream = net.connect(target.port, '127.0.0.1');
    this.#track(upstream);
    let connected = false;
    upstream.once('connect', () => {
      if (client.destroyed) {
        upstream.destroy();
        return;
      }
      connected = true;
      this.routes.push(target.name);
      client.pipe(upstream);
      upstream.pipe(client);
      client.once('close', () => upstream.destroy());
    });
    upstream.on('error', () => {
      upstream.destroy();
      if (!connected) this.#route(client, attempt + 1);
    });
    upstream.once('close', () => {
      if (connected) client.destroy();
    });
  }

  #track(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** Options of {@link Cluster.start}. */
export interface ClusterOptions {
  readonly schema: string;
  /** Hub processes. @default 3 */
  readonly size?: number;
  /** Escalation lease (PostgresEscalationStore `leaseMs`). @default the store's */
  readonly leaseMs?: number;
  /** How often instances look for escalations to take over. @default the store's */
  readonly resumeIntervalMs?: number;
}

let clusters = 0;

/** `size` hub processes (named `h0`, `h1`, ...) on one Redis prefix and one schema, behind a {@link Balancer}. */
export class Cluster {
  readonly hubs: readonly ClusterHub[];
  readonly balancer: Balancer;
  readonly keyPrefix: string;
  /** Every event every instance reported, in arrival order. */
  readonly events: HubEvent[];

  private constructor(hubs: ClusterHub[], balancer: Balancer, keyPrefix: string, events: HubEvent[]) {
    this.hubs = hubs;
    this.balancer = balancer;
    this.keyPrefix = keyPrefix;
    this.events = events;
  }

  static async start(options: ClusterOptions): Promise<Cluster> {
    assertBuilt();
    const keyPrefix = uniquePrefix();
    const events: HubEvent[] = [];
    const tag = `c${process.pid}-${++clusters}`;
    const env: HubEnv = {
      redisUrl: REDIS_URL,
      keyPrefix,
      schema: options.schema,
      ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
      ...(options.resumeIntervalMs === undefined ? {} : { resumeIntervalMs: options.resumeIntervalMs }),
    };
    const started = await Promise.allSettled(
      Array.from({ length: options.size ?? 3 }, (_, i) => ClusterHub.start(`${tag}-h${i}`, env, (e) => events.push(e))),
    );
    const hubs = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(hubs.map((h) => h.kill()));
      await deletePrefix(REDIS_URL, keyPrefix).catch(() => {});
      throw failed.reason;
    }
    const balancer = await Balancer.start(() => hubs);
    return new Cluster(hubs, balancer, keyPrefix, events);
  }

  /** The WebSocket URL, through the balancer. */
  get url(): string {
    return `ws://127.0.0.1:${this.balancer.port}/v1/ws/notifications`;
  }

  /** The HTTP base URL, through the balancer. */
  get httpUrl(): string {
    return `http://127.0.0.1:${this.balancer.port}`;
  }

  /** Short name of an instance (`h0`) for summaries. */
  short(instance: string | undefined): string {
    return instance === undefined ? '?' : instance.slice(instance.lastIndexOf('-') + 1);
  }

  hub(name: string): ClusterHub {
    const hub = this.hubs.find((h) => h.name === name);
    if (!hub) throw new Error(`no instance ${name}`);
    return hub;
  }

  /** Events named `name` (optionally filtered). */
  eventsNamed(name: string, filter: (e: HubEvent) => boolean = () => true): HubEvent[] {
    return this.events.filter((e) => e.name === name && filter(e));
  }

  /** The instance a connection authenticated on, by the session id the client got. */
  instanceOf(sessionId: string | undefined): string | undefined {
    if (sessionId === undefined) return undefined;
    return this.events.find((e) => e.name === 'authenticated' && e.info?.sessionId === sessionId)?.instance;
  }

  /** Gracefully closes the instances still alive, the balancer, and deletes the Redis keys. */
  async close(): Promise<void> {
    await Promise.all(this.hubs.map((h) => h.close()));
    await this.balancer.close();
    await deletePrefix(REDIS_URL, this.keyPrefix).catch(() => {});
  }
}

/** Polls `condition` every `intervalMs` until it holds (`true`) or `timeoutMs` passed (`false`). */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 20,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Like {@link waitFor}, but throws `timed out waiting until <what>` (with `detail()`) on timeout. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs: number,
  detail?: () => unknown,
): Promise<void> {
  if (await waitFor(condition, timeoutMs)) return;
  const more = detail ? `: ${JSON.stringify(detail())}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}${more}`);
}

/**
 * Waits until the wall clock reaches `time` (ms since epoch). Only for waiting out a deadline
 * after which something must NOT have happened (an escalation that was acknowledged).
 */
export async function passDeadline(time: number): Promise<void> {
  const left = time - Date.now();
  if (left > 0) await new Promise((r) => setTimeout(r, left));
}

/** Runs `count` jobs with at most `width` in flight. */
export async function inParallel(count: number, width: number, job: (k: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, count) }, async () => {
      while (next < count) await job(next++);
    }),
  );
}
