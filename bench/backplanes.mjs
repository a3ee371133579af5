// Backplane benchmark (`node bench/backplanes.mjs`, after `pnpm build`): in one run, variants
// alternated, the same two measurements on three setups:
//
//   1 instance, in memory      one hub process, the in-memory history and broker (the baseline)
//   2 instances + Redis        two hub processes on @wardcast/redis (REDIS_URL, default
//                              redis://127.0.0.1:6379; keys under a unique prefix, gone a minute later)
//   2 instances + PostgreSQL   two hub processes on createPostgresBackplane (DATABASE_URL, default
//                              postgres://127.0.0.1:5432/test; a schema of its own, dropped at the end)
//
//   fan-out   deliveries/s of a burst: BENCH_BP_MESSAGES notifications to one topic, each published
//             as soon as the previous one resolved, alternately on each instance, to BENCH_BP_SUBS
//             subscribers spread over the instances (bench/cluster-clients.mjs); deliveries / (first
//             publish -> last delivery). Every subscriber must get every message, in order.
//   publish   publishes/s to distinct topics (round robin over 1,000 per instance, no subscribers),
//             BENCH_BP_CONC publishes in flight in total (split over the instances), for BENCH_BP_MS.
//
// Hubs and clients are separate processes; with taskset (and 2+ CPUs) the hubs run on CPU 0 and the
// clients on CPU 1, so one instance and two instances get the same server CPU. Redis and
// PostgreSQL are the machine's own servers (not pinned). Medians over BENCH_BP_REPS reps; ratios
// against 1 instance in memory. A setup whose server is unreachable is left out (said so).
// Bounded by a watchdog; every child is killed at the end.
//
// Env: BENCH_BP_SUBS=1000  BENCH_BP_MESSAGES=200  BENCH_BP_REPS=5  BENCH_BP_MS=1500  BENCH_BP_CONC=16
//      BENCH_BP_PG_POOL=12 (pool max per PostgreSQL instance; the backplane keeps half for publishes)
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import { allExited, answerParent, canPin, guardRun, killAll, spawnChild } from './children.mjs';
import { benchId, KIND, makePayload, now, PRIORITY, TOPIC } from './payload.mjs';
import { redisReachable } from './redis-probe.mjs';
import { median } from './stats.mjs';

const SUBS = Number(process.env.BENCH_BP_SUBS ?? 1000);
const MESSAGES = Number(process.env.BENCH_BP_MESSAGES ?? 200);
const REPS = Number(process.env.BENCH_BP_REPS ?? 5);
const LOAD_MS = Number(process.env.BENCH_BP_MS ?? 1500);
const CONC = Number(process.env.BENCH_BP_CONC ?? 16);
const PG_POOL = Number(process.env.BENCH_BP_PG_POOL ?? 12);
const LOAD_TOPICS = 1000;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/test';
const WATCHDOG_MS = 175_000;

/** pg settings for DATABASE_URL; without a user in it, PGUSER or the OS user (as psql does). */
function pgConfig(extra) {
  const url = new URL(DATABASE_URL);
  if (url.username === '') url.username = encodeURIComponent(process.env.PGUSER ?? os.userInfo().username);
  return { connectionString: url.toString(), ...extra };
}
const SERVER_CPU = 0;
const CLIENT_CPU = 1;

// @wardcast/postgres and pg are not dependencies of the bench package: taken from the workspace.
const postgresDist = new URL('../packages/postgres/dist/index.js', import.meta.url);
const requireFromPostgres = createRequire(new URL('../packages/postgres/package.json', import.meta.url));

// ---- hub child: `backplanes.mjs hub <memory|redis|postgres> <instanceId> <prefix or schema>` ----

async function hubMain(mode, instanceId, where) {
  const { NotificationHub } = await import('@wardcast/server');
  let backplane;
  let pool;
  if (mode === 'redis') {
    const { createRedisBackplane } = await import('@wardcast/redis');
    backplane = createRedisBackplane({
      redis: REDIS_URL,
      keyPrefix: where,
      instanceId,
      maxAgeMs: 60_000,
      topicTtlMs: 60_000,
    });
  } else if (mode === 'postgres') {
    const { createPostgresBackplane } = await import(postgresDist.href);
    const pg = requireFromPostgres('pg');
    pool = new pg.Pool(pgConfig({ max: PG_POOL }));
    pool.on('error', () => {});
    backplane = createPostgresBackplane({ pool, schema: where, instanceId });
  }
  const hub = new NotificationHub({
    authenticate: ({ token }) => (token ? { userId: token } : null),
    authorize: () => true,
    ...(backplane && { history: backplane, broker: backplane }),
    closeTimeoutMs: 500,
    // Every bench client connects from 127.0.0.1: lift the per-address admission limits.
    maxUpgradesPerSecondPerAddress: 1_000_000,
    maxUnauthenticatedPerAddress: 1_000_000,
  });
  const http = createServer((_req, res) => res.writeHead(404).end());
  hub.attach(http);
  http.listen(0, '127.0.0.1', () => process.send({ event: 'listening', port: http.address().port }));

  const payload = makePayload();
  const handlers = {
    async publish({ run, i }) {
      const ts = now();
      await hub.publish(TOPIC, { kind: KIND, priority: PRIORITY, id: benchId(run, i, ts), payload: makePayload() });
      return {};
    },
    /** `conc` publishes in flight for `ms`, each to the next of this instance's LOAD_TOPICS topics. */
    async load({ run, ms, conc }) {
      let next = 0;
      let count = 0;
      let errors = 0;
      let firstError;
      const start = now();
      const end = start + ms;
      const worker = async () => {
        while (now() < end) {
          const k = next++;
          try {
            await hub.publish(`patient:load-${instanceId}-${k % LOAD_TOPICS}`, {
              kind: KIND,
              priority: 'routine',
              id: `load-${run}-${k}`,
              payload,
            });
            count++;
          } catch (err) {
            errors++;
            firstError ??= String(err?.message ?? err);
          }
        }
      };
      await Promise.all(Array.from({ length: conc }, worker));
      return { count, errors, firstError, elapsedMs: now() - start };
    },
    async exit() {
      await hub.close();
      await pool?.end().catch(() => {});
      setImmediate(() => process.exit(0));
      return {};
    },
  };
  answerParent(handlers);
}

// ---- main --------------------------------------------------------------------------------------

/** A migrated schema of its own on DATABASE_URL, or undefined (with the reason) when unreachable. */
async function postgresSchema() {
  const pg = requireFromPostgres('pg');
  const { migrate } = await import(postgresDist.href);
  const pool = new pg.Pool(pgConfig({ max: 2, connectionTimeoutMillis: 2_000 }));
  pool.on('error', () => {});
  const schema = `wardcast_bench_${randomBytes(4).toString('hex')}`;
  try {
    await migrate(pool, { schema });
    return {
      schema,
      async drop() {
        await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
        await pool.end().catch(() => {});
      },
    };
  } catch (err) {
    await pool.end().catch(() => {});
    return { error: String(err?.message ?? err) };
  }
}

async function startSetup(name, label, mode, instances, where) {
  const hubs = [];
  for (let i = 0; i < instances; i++) {
    const hub = spawnChild('backplanes.mjs', ['hub', mode, `bp-${name}-${i}-${process.pid}`, where], [], SERVER_CPU);
    const { port } = await hub.once('listening');
    hubs.push({ hub, port });
  }
  const clients = spawnChild('cluster-clients.mjs', [], [], CLIENT_CPU);
  await clients.request('setup', { ports: hubs.map((h) => h.port), conns: SUBS });
  return { name, label, hubs, clients };
}

let runCounter = 0;

/** One burst: `messages` back to back, alternately on each instance. */
async function fanout(setup, messages) {
  const run = ++runCounter;
  await setup.clients.request('arm', { run, messages });
  let timer;
  const done = setup.clients.once('done');
  const first = now();
  for (let i = 0; i < messages; i++) await setup.hubs[i % setup.hubs.length].hub.request('publish', { run, i });
  await Promise.race([done, new Promise((resolve) => (timer = setTimeout(resolve, 20_000)))]);
  clearTimeout(timer);
  const r = await setup.clients.request('report');
  return {
    complete: r.received === r.expected && r.misordered === 0,
    detail: `${r.received}/${r.expected}${r.misordered ? `, ${r.misordered} out of order` : ''}`,
    deliveriesPerSec: r.received / ((r.lastRecv - first) / 1000),
  };
}

/** Publishes/s to distinct topics with CONC in flight over the whole setup. */
async function publishRate(setup, ms) {
  const run = ++runCounter;
  const per = Math.max(1, Math.round(CONC / setup.hubs.length));
  const results = await Promise.all(setup.hubs.map(({ hub }) => hub.request('load', { run, ms, conc: per })));
  const count = results.reduce((n, r) => n + r.count, 0);
  const errors = results.reduce((n, r) => n + r.errors, 0);
  const elapsed = Math.max(...results.map((r) => r.elapsedMs));
  return { perSec: count / (elapsed / 1000), errors, firstError: results.find((r) => r.firstError)?.firstError };
}

const thousands = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');
const ratio = (x, base) => (Number.isFinite(x) && base > 0 ? `${(x / base).toFixed(2)}x` : '-');
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');

async function main() {
  guardRun('backplane benchmark', WATCHDOG_MS);

  const cpus = os.cpus();
  console.log('backplane benchmark: `node bench/backplanes.mjs`');
  console.log(
    `machine: ${cpus[0]?.model.trim() ?? '?'}, ${cpus.length} CPUs, Node ${process.version}; ` +
      (canPin ? `hubs on CPU ${SERVER_CPU}, clients on CPU ${CLIENT_CPU} (taskset)` : 'not pinned (no taskset)'),
  );
  console.log(`load average (1/5/15 min) at start: ${load()}`);
  console.log(
    `fan-out: ${SUBS} subscribers, ${MESSAGES} messages (~${KIND === 'lab_result' ? 510 : '?'} bytes) back to back; ` +
      `publish: ${CONC} in flight to distinct topics for ${LOAD_MS} ms; ${REPS} reps, medians, variants alternated`,
  );

  const started = now();
  const prefix = `wardcast-bench-bp:${process.pid}:${Date.now().toString(36)}:`;
  const setups = [await startSetup('memory', '1 instance, in memory', 'memory', 1, '-')];
  if (await redisReachable(REDIS_URL))
    setups.push(await startSetup('redis', '2 instances + Redis', 'redis', 2, prefix));
  else console.log(`(Redis not reachable at ${REDIS_URL}: left out)`);
  const pg = await postgresSchema();
  if (pg.schema) setups.push(await startSetup('postgres', '2 instances + PostgreSQL', 'postgres', 2, pg.schema));
  else console.log(`(PostgreSQL not usable at ${DATABASE_URL}: ${pg.error}; left out)`);

  try {
    for (const s of setups) {
      // Warm-up (JIT, pools, topic rows), not counted.
      await fanout(s, 50);
      await publishRate(s, 500);
    }
    const fan = new Map(setups.map((s) => [s.name, []]));
    const pub = new Map(setups.map((s) => [s.name, []]));
    for (let rep = 0; rep < REPS; rep++) {
      const order = rep % 2 === 0 ? setups : [...setups].reverse();
      for (const s of order) fan.get(s.name).push(await fanout(s, MESSAGES));
      for (const s of order) pub.get(s.name).push(await publishRate(s, LOAD_MS));
    }

    const baseFan = median(fan.get('memory').map((r) => r.deliveriesPerSec));
    const basePub = median(pub.get('memory').map((r) => r.perSec));
    const rows = setups.map((s) => {
      const f = fan.get(s.name);
      const p = pub.get(s.name);
      const fm = median(f.map((r) => r.deliveriesPerSec));
      const pm = median(p.map((r) => r.perSec));
      const errors = p.reduce((n, r) => n + r.errors, 0);
      return {
        name: s.name,
        fanRatio: fm / baseFan,
        ok: f.every((r) => r.complete) && errors === 0,
        cells: [
          s.label,
          thousands(fm),
          ratio(fm, baseFan),
          f.map((r) => thousands(r.deliveriesPerSec)).join(' '),
          thousands(pm),
          ratio(pm, basePub),
          p.map((r) => thousands(r.perSec)).join(' '),
          f.every((r) => r.complete) ? 'yes' : `NO (${f.map((r) => r.detail).join(', ')})`,
          errors === 0 ? '0' : `${errors} (${p.find((r) => r.firstError)?.firstError})`,
        ],
      };
    });
    const head = [
      'setup',
      'fan-out deliveries/s',
      'x memory',
      'per rep',
      'publishes/s',
      'x memory',
      'per rep',
      'all delivered in order',
      'publish errors',
    ];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r.cells[i].length)));
    const left = new Set([0, 3, 6, 7, 8]);
    const line = (cells) => cells.map((c, i) => (left.has(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
    console.log('');
    console.log(line(head));
    console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const r of rows) console.log(line(r.cells));
    console.log('');
    const pgRow = rows.find((r) => r.name === 'postgres');
    if (pgRow) {
      console.log(
        `target (issue 13): 2 instances + PostgreSQL fan-out >= 0.50x 1 instance in memory: ` +
          `${pgRow.fanRatio.toFixed(2)}x, ${pgRow.fanRatio >= 0.5 ? 'met' : 'MISSED'}`,
      );
    }
    console.log(`load average at end: ${load()}; took ${((now() - started) / 1000).toFixed(0)} s`);
    if (rows.some((r) => !r.ok)) process.exitCode = 1;
  } finally {
    for (const s of setups) {
      for (const { hub } of s.hubs) await hub.request('exit').catch(() => {});
      await s.clients.request('exit').catch(() => {});
    }
    await allExited(3_000);
    killAll();
    await pg.drop?.();
  }
}

// Last, so that every constant above is initialized before either role runs.
if (process.argv[2] === 'hub') await hubMain(process.argv[3], process.argv[4], process.argv[5]);
else await main();
