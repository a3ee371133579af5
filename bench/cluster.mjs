// Cluster benchmark (`pnpm bench` runs it after fanout.mjs): the same fan-out measured, in the same
// run, on one hub instance with the in-memory broker and history, and on two hub instances sharing
// a Redis backplane (REDIS_URL, default redis://127.0.0.1:6379; keys under a unique prefix that
// expire a minute later). Subscribers are spread over the instances; with Redis each message is
// published from a random instance. Prints deliveries/s and latency (publish -> receive) per setup,
// medians over alternating reps. Only 127.0.0.1; bounded by a watchdog; every child is killed.
//
// Env overrides: BENCH_CLUSTER_SUBS=1000  BENCH_CLUSTER_MESSAGES=100  BENCH_CLUSTER_REPS=3
import { setTimeout as sleep } from 'node:timers/promises';
import { allExited, guardRun, killAll, spawnChild } from './children.mjs';
import { now } from './payload.mjs';
import { redisReachable } from './redis-probe.mjs';
import { median, quantile } from './stats.mjs';

const SUBS = Number(process.env.BENCH_CLUSTER_SUBS ?? 1000);
const MESSAGES = Number(process.env.BENCH_CLUSTER_MESSAGES ?? 100);
const REPS = Number(process.env.BENCH_CLUSTER_REPS ?? 3);
const INTERVAL_MS = 40;
const WARMUP = 5;
const WATCHDOG_MS = 85_000;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

guardRun('cluster benchmark', WATCHDOG_MS);

async function startSetup(name, mode, instances, prefix) {
  const hubs = [];
  for (let i = 0; i < instances; i++) {
    process.env.BENCH_PREFIX = prefix;
    process.env.BENCH_INSTANCE = `bench-${name}-${i}`;
    const hub = spawnChild('cluster-hub.mjs', [mode]);
    const { port } = await hub.once('listening');
    hubs.push({ hub, port });
  }
  const clients = spawnChild('cluster-clients.mjs');
  await clients.request('setup', { ports: hubs.map((h) => h.port), conns: SUBS });
  return { name, instances, hubs, clients };
}

let runCounter = 0;
async function measure(setup, messages) {
  const run = ++runCounter;
  await setup.clients.request('arm', { run, messages });
  const done = setup.clients.once('done');
  const first = now();
  for (let i = 0; i < messages; i++) {
    const wait = first + i * INTERVAL_MS - now();
    if (wait > 0) await sleep(wait);
    const target = setup.hubs[Math.floor(Math.random() * setup.hubs.length)];
    await target.hub.request('publish', { run, i });
  }
  await Promise.race([done, sleep(10_000)]);
  const r = await setup.clients.request('report');
  const lat = r.lat.sort();
  return {
    complete: r.received === r.expected && r.misordered === 0,
    received: r.received,
    expected: r.expected,
    deliveriesPerSec: r.received / ((r.lastRecv - first) / 1000),
    p50: quantile(lat, 0.5),
    p99: quantile(lat, 0.99),
  };
}

const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const thousands = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');

async function main() {
  console.log(
    `cluster benchmark: ${SUBS} subscribers, ${MESSAGES} messages every ${INTERVAL_MS} ms, ${REPS} reps (medians)`,
  );
  const prefix = `wardcast-bench:${process.pid}:${Date.now().toString(36)}:`;
  const setups = [await startSetup('memory', 'memory', 1, prefix)];
  if (await redisReachable(REDIS_URL)) setups.push(await startSetup('redis', 'redis', 2, prefix));
  else console.log(`(Redis not reachable at ${REDIS_URL}: only the in-memory setup is measured)`);
  for (const s of setups) await measure(s, WARMUP);

  const results = new Map(setups.map((s) => [s.name, []]));
  for (let rep = 0; rep < REPS; rep++) {
    const order = rep % 2 === 0 ? setups : [...setups].reverse();
    for (const s of order) results.get(s.name).push(await measure(s, MESSAGES));
  }

  const rows = setups.map((s) => {
    const r = results.get(s.name);
    return [
      s.name === 'memory' ? '1 instance, in memory' : `${s.instances} instances + Redis`,
      thousands(median(r.map((x) => x.deliveriesPerSec))),
      fmt(median(r.map((x) => x.p50))),
      fmt(median(r.map((x) => x.p99))),
      r.every((x) => x.complete) ? 'yes' : `NO (${r.map((x) => `${x.received}/${x.expected}`).join(', ')})`,
    ];
  });
  const head = ['setup', 'deliveries/s', 'p50 ms', 'p99 ms', 'all delivered in order'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));

  for (const s of setups) {
    for (const { hub } of s.hubs) await hub.request('exit').catch(() => {});
    await s.clients.request('exit').catch(() => {});
  }
  await allExited(3_000);
  killAll();
  if (rows.some((r) => r[4] !== 'yes')) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  killAll();
  process.exit(1);
});
