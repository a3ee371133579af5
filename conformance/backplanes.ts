/**
 * The backplanes the conformance suite runs against, each behind one {@link BackplaneDriver}.
 * Adding a backplane = adding a driver to {@link drivers}: every case of `suite.test.ts` then
 * runs against it, and a case it cannot take part in must be declared in its
 * {@link Capabilities} with the reason (printed, and shown as a skipped test with that reason).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { userInfo } from 'node:os';
import { createPostgresBackplane, migrate, type PostgresBackplane } from '@wardcast/postgres';
import { createRedisBackplane, type RedisBackplane } from '@wardcast/redis';
import { MemoryHistoryStore, NotificationHub, type NotificationHubOptions, type PublishStage } from '@wardcast/server';
import { Redis } from 'ioredis';
import pg from 'pg';
import { TcpProxy } from './proxy.js';

/** `true`, or why the case does not apply to this backplane. */
export type Capability = true | { readonly notApplicable: string };

/** What a backplane can be held to beyond the cases every backplane runs. */
export interface Capabilities {
  /**
   * Hubs in several instances (processes) share it. Without it the cross-instance cases run
   * with one instance (two concurrent publishers in it) and the kill -9 case does not apply.
   */
  readonly multiInstance: Capability;
  /** It lives in a server that can become unreachable: the outage case applies. */
  readonly outage: Capability;
  /**
   * How many notifications beyond `retention` a topic may keep (trimming is approximate, e.g.
   * Redis `XADD MAXLEN ~` trims whole stream nodes of 100 entries). 0 = exact.
   */
  readonly retentionSlack: number;
  /**
   * A publish that failed part-way (its answer lost) and is not retried leaves no hole: its seq
   * is taken by the next publish. Without it, its reservation is skipped later and subscribers
   * see an explicit gap (a seq jump: `gap` event `seq_jump` in `@wardcast/client`).
   */
  readonly gapFreeWithoutRetry: Capability;
}

/** One hub instance in this process, on a real HTTP server. */
export interface InProcessHub {
  readonly name: string;
  readonly hub: NotificationHub;
  /** `ws://127.0.0.1:<port>/v1/ws/notifications` */
  readonly url: string;
}

/** Options of {@link BackplaneDriver.cluster}. */
export interface ClusterOptions {
  /** Hub instances sharing the backplane (more than 1 needs `multiInstance`). */
  readonly instances: number;
  /** Notifications kept per topic (`maxLen` / `maxPerTopic`). @default the backplane's default */
  readonly retention?: number;
  /** Reach the backplane through a {@link TcpProxy}, so {@link Cluster.outage} can cut it off. */
  readonly outage?: boolean;
  /**
   * Give every publish a durable stage (a no-op `publishStages` entry, as an inbox row or an
   * escalation would be): the store then appends and commits in two steps, instead of in one
   * where it can (`append(draft, { commit: true })`).
   */
  readonly durableStage?: boolean;
}

/** Hubs sharing one backplane (one key prefix / schema of their own). */
export interface Cluster {
  readonly hubs: readonly InProcessHub[];
  /** The backplane becomes unreachable (open connections cut, new ones refused). Needs `outage`. */
  outage(): void;
  /** Requests reach the backplane (and run there) but no answer comes back. Needs `outage`. */
  partition(): void;
  /** The backplane is reachable again (its data untouched; after a partition, connections are cut). */
  recover(): void;
}

/** What a hub process (conformance/fixtures/hub.mjs) needs to join a cluster. */
export interface ProcessCluster {
  /** Environment of fixtures/hub.mjs: `BACKPLANE` and its settings. */
  readonly env: Record<string, string>;
}

/** A backplane the suite runs against. */
export interface BackplaneDriver {
  readonly name: string;
  readonly capabilities: Capabilities;
  /** `true`, or why it cannot run here (the server is not reachable). */
  available(): Promise<true | string>;
  /** Starts `instances` in-process hubs on a fresh key prefix / schema. */
  cluster(options: ClusterOptions): Promise<Cluster>;
  /** A fresh key prefix / schema for hub processes (needs `multiInstance`). */
  processCluster(): Promise<ProcessCluster>;
  /** Closes every hub, backplane, pool and proxy this driver made, and deletes their data. */
  cleanup(): Promise<void>;
}

/** Token of `userId` (what in-process hubs and fixtures/hub.mjs accept). */
export function tokenFor(userId: string): string {
  return `tok_${userId}`;
}

const principal = (token: string | undefined) =>
  typeof token === 'string' && token.startsWith('tok_') && token.length > 4 ? { userId: token.slice(4) } : null;

/** A publish stage with work for every publish (and nothing to do): forces the two-step publish. */
const DURABLE_STAGE: PublishStage = { name: 'conformance-durable-stage', run: () => undefined };

/** Hub options for `options` of a cluster. */
function hubOptions(options: ClusterOptions): Pick<NotificationHubOptions, 'publishStages'> {
  return options.durableStage ? { publishStages: [DURABLE_STAGE] } : {};
}

/** Starts a hub with `options` on an HTTP server on an ephemeral port. */
async function startHub(
  name: string,
  options: Pick<NotificationHubOptions, 'history' | 'broker' | 'publishStages'>,
): Promise<InProcessHub & { stop(): Promise<void> }> {
  const hub = new NotificationHub({
    authenticate: ({ token, request }) =>
      principal(token ?? String(request.headers.authorization ?? '').replace(/^Bearer /, '')),
    authorize: () => true,
    closeTimeoutMs: 500,
    ...options,
  });
  const server: Server = createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  hub.attach(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    name,
    hub,
    url: `ws://127.0.0.1:${port}/v1/ws/notifications`,
    async stop() {
      await hub.close().catch(() => {});
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Cleanups run in reverse order, each failure ignored. */
class Cleanups {
  readonly #list: (() => Promise<unknown> | unknown)[] = [];
  add(fn: () => Promise<unknown> | unknown): void {
    this.#list.push(fn);
  }
  async run(): Promise<void> {
    for (const fn of this.#list.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        // best effort
      }
    }
  }
}

function unique(): string {
  return `${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}

/** How a missing server is reported: under CI (`process.env.CI`) the suite fails instead of skipping. */
export const REQUIRED = Boolean(process.env.CI);

// ---------------------------------------------------------------------------------------------
// memory

/** MemoryHistoryStore + MemoryBroker: one process, nothing to lose but the process itself. */
export const memoryDriver: BackplaneDriver = (() => {
  const cleanups = new Cleanups();
  return {
    name: 'memory',
    capabilities: {
      multiInstance: {
        notApplicable: 'the in-memory store and broker live in one process: they cannot span instances',
      },
      outage: { notApplicable: 'the in-memory store has no server that could become unreachable' },
      retentionSlack: 0,
      gapFreeWithoutRetry: true,
    },
    available: async () => true,
    async cluster(options) {
      if (options.instances !== 1) throw new Error('memory: one instance only');
      if (options.outage) throw new Error('memory: no outage');
      const hub = await startHub('memory-0', {
        history: new MemoryHistoryStore(options.retention ? { maxPerTopic: options.retention } : {}),
        ...hubOptions(options),
      });
      cleanups.add(() => hub.stop());
      return {
        hubs: [hub],
        outage: () => {
          throw new Error('memory: no outage');
        },
        partition: () => {
          throw new Error('memory: no outage');
        },
        recover: () => {},
      };
    },
    async processCluster() {
      throw new Error('memory: no hub processes (not multi-instance)');
    },
    cleanup: () => cleanups.run(),
  };
})();

// ---------------------------------------------------------------------------------------------
// Redis

/** The shared Redis (never flushed: every cluster has a key prefix of its own, deleted after). */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function pingRedis(url: string): Promise<true | string> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_500,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG' ? true : `Redis at ${url} did not answer PING`;
  } catch (cause) {
    return `Redis is not reachable at ${url} (${(cause as Error).message}; set REDIS_URL)`;
  } finally {
    client.disconnect();
  }
}

async function deletePrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

/** `createRedisBackplane` on the shared Redis, one key prefix per cluster. */
export const redisDriver: BackplaneDriver = (() => {
  const cleanups = new Cleanups();
  let probed: Promise<true | string> | undefined;
  return {
    name: 'redis',
    capabilities: {
      multiInstance: true,
      outage: true,
      retentionSlack: 100,
      gapFreeWithoutRetry: {
        notApplicable:
          'with a durable stage (two-step publish), a reservation whose publisher lost the answer stays in Redis ' +
          'until skipped at 1.5 x reservationTtlMs (no transaction to roll back): without a retry of the same id, ' +
          'subscribers get an explicit gap',
      },
    },
    available: () => {
      probed ??= pingRedis(REDIS_URL);
      return probed;
    },
    async cluster(options) {
      const prefix = `wardcast-conformance:${unique()}:`;
      cleanups.add(() => deletePrefix(REDIS_URL, prefix));
      const target = new URL(REDIS_URL);
      let url = REDIS_URL;
      let proxy: TcpProxy | undefined;
      if (options.outage) {
        proxy = await TcpProxy.start(target.hostname, Number(target.port || 6379));
        const viaProxy = new URL(REDIS_URL);
        viaProxy.hostname = '127.0.0.1';
        viaProxy.port = String(proxy.port);
        url = viaProxy.toString();
        const p = proxy;
        cleanups.add(() => p.close());
      }
      const hubs: InProcessHub[] = [];
      for (let i = 0; i < options.instances; i++) {
        const backplane: RedisBackplane = createRedisBackplane({
          redis: url,
          keyPrefix: prefix,
          instanceId: `redis-${i}-${unique()}`,
          commandTimeoutMs: 1_000,
          reservationTtlMs: 2_000,
          ...(options.retention ? { maxLen: options.retention } : {}),
        });
        cleanups.add(() => backplane.close());
        const hub = await startHub(`redis-${i}`, {
          history: backplane,
          broker: backplane,
          ...hubOptions(options),
        });
        cleanups.add(() => hub.stop());
        hubs.push(hub);
      }
      return {
        hubs,
        ...proxyControls(proxy),
      };
    },
    async processCluster() {
      const prefix = `wardcast-conformance:${unique()}:`;
      cleanups.add(() => deletePrefix(REDIS_URL, prefix));
      return { env: { BACKPLANE: 'redis', REDIS_URL, KEY_PREFIX: prefix } };
    },
    cleanup: () => cleanups.run(),
  };
})();

function proxyOf(proxy: TcpProxy | undefined): TcpProxy {
  if (!proxy) throw new Error('start the cluster with { outage: true } to cause an outage');
  return proxy;
}

/** A cluster's outage controls, through its proxy (they throw when it was started without one). */
function proxyControls(proxy: TcpProxy | undefined): Pick<Cluster, 'outage' | 'partition' | 'recover'> {
  return {
    outage: () => proxyOf(proxy).down(),
    partition: () => proxyOf(proxy).partition(),
    recover: () => proxyOf(proxy).up(),
  };
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/** Where the suite looks for PostgreSQL unless `DATABASE_URL` says otherwise (trust auth). */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/test';

function pgCandidates(): string[] {
  if (new URL(DATABASE_URL).username !== '') return [DATABASE_URL];
  let osUser: string | undefined;
  try {
    osUser = userInfo().username;
  } catch {
    osUser = undefined;
  }
  const users = [process.env.PGUSER, osUser, 'root', 'postgres'].filter(
    (u, i, all): u is string => typeof u === 'string' && u !== '' && all.indexOf(u) === i,
  );
  return users.map((user) => {
    const withUser = new URL(DATABASE_URL);
    withUser.username = encodeURIComponent(user);
    return withUser.toString();
  });
}

/** The connection string that reaches the test database, or why none does. */
async function probePostgres(): Promise<string | { readonly missing: string }> {
  const errors: string[] = [];
  for (const connectionString of pgCandidates()) {
    const client = new pg.Client({ connectionString, connectionTimeoutMillis: 2_000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      return connectionString;
    } catch (cause) {
      errors.push((cause as Error).message);
    } finally {
      await client.end().catch(() => {});
    }
  }
  const where = DATABASE_URL.replace(/\/\/[^@/]*@/, '//***@');
  return { missing: `PostgreSQL is not reachable at ${where} (${errors.join('; ')}; set DATABASE_URL)` };
}

/** `url` with its host and port replaced (to go through a proxy). */
function throughPort(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

/** `createPostgresBackplane` on the test database, one migrated schema per cluster. */
export const postgresDriver: BackplaneDriver = (() => {
  const cleanups = new Cleanups();
  let probed: Promise<string | { readonly missing: string }> | undefined;
  const probe = () => {
    probed ??= probePostgres();
    return probed;
  };
  async function connectionString(): Promise<string> {
    const found = await probe();
    if (typeof found !== 'string') throw new Error(found.missing);
    return found;
  }
  /** A migrated schema of its own, dropped at cleanup. */
  async function schema(): Promise<string> {
    const name = `wardcast_conformance_${unique()}`;
    const admin = new pg.Pool({ connectionString: await connectionString(), max: 2 });
    admin.on('error', () => {});
    cleanups.add(() => admin.end());
    cleanups.add(() => admin.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`));
    await migrate(admin, { schema: name });
    return name;
  }
  return {
    name: 'postgres',
    capabilities: { multiInstance: true, outage: true, retentionSlack: 0, gapFreeWithoutRetry: true },
    available: async () => {
      const found = await probe();
      return typeof found === 'string' ? true : found.missing;
    },
    async cluster(options) {
      const direct = await connectionString();
      const name = await schema();
      let url = direct;
      let proxy: TcpProxy | undefined;
      if (options.outage) {
        const target = new URL(direct);
        proxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
        url = throughPort(direct, proxy.port);
        const p = proxy;
        cleanups.add(() => p.close());
      }
      const hubs: InProcessHub[] = [];
      for (let i = 0; i < options.instances; i++) {
        const instanceId = `pg-${i}-${unique()}`;
        const pool = new pg.Pool({ connectionString: url, max: 8, connectionTimeoutMillis: 2_000 });
        pool.on('error', () => {});
        cleanups.add(() => pool.end());
        const backplane: PostgresBackplane = createPostgresBackplane({
          pool,
          schema: name,
          instanceId,
          listener: { connectionString: url, application_name: `wcl-${instanceId}`.slice(0, 60) },
          commandTimeoutMs: 3_000,
          reservationTtlMs: 3_000,
          ...(options.retention ? { maxLen: options.retention } : {}),
        });
        cleanups.add(() => backplane.close());
        const hub = await startHub(`postgres-${i}`, {
          history: backplane,
          broker: backplane,
          ...hubOptions(options),
        });
        cleanups.add(() => hub.stop());
        hubs.push(hub);
      }
      return {
        hubs,
        ...proxyControls(proxy),
      };
    },
    async processCluster() {
      return { env: { BACKPLANE: 'postgres', DATABASE_URL: await connectionString(), PG_SCHEMA: await schema() } };
    },
    cleanup: () => cleanups.run(),
  };
})();

/** Every backplane the suite runs against. A new backplane adds its driver here. */
export const drivers: readonly BackplaneDriver[] = [memoryDriver, redisDriver, postgresDriver];
