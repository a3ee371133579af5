// Burst fan-out across instances (`node bench/cluster-burst.mjs`): the children of cluster.mjs
// (cluster-hub.mjs, cluster-clients.mjs), but each message is published as soon as the previous
// publish resolved, without pacing, so fan-out (not the publish rate) is the limit. Compares one
// hub instance in memory with two instances sharing a Redis backplane (REDIS_URL; keys under a
// unique prefix that expire a minute later), subscribers spread over the instances, each message
// published on a random instance. Prints deliveries/s per setup (medians over alternating reps)
// and the ratio; exits 1 when a delivery is missing or out of order.
//
// Env: BENCH_BURST_SUBS=1000  BENCH_BURST_MESSAGES=200  BENCH_BURST_REPS=3
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { allExited, guardRun, killAll, spawnChild } from './children.mjs';
import { now } from './payload.mjs';

const SUBS = Number(process.env.BENCH_BURST_SUBS ?? 1000);
const MESSAGES = Number(process.env.BENCH_BURST_MESSAGES ?? 200);
const REPS = Number(process.env.BENCH_BURST_REPS ?? 3);
const WATCHDOG_MS = 120_000;

guardRun('burst benchmark', WATCHDOG_MS);

const median = (xs) => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length === 0 ? Number.NaN : v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

async function startSetup(name, mode, instances, prefix) {
  const hubs = [];
  for (let i = 0; i < instances; i++) {
    process.env.BENCH_PREFIX = prefix;
    process.env.BENCH_INSTANCE = `burst-${name}-${i}`;
    const hub = spawnChild('cluster-hub.mjs', [mode]);
    const { port } = await hub.once('listening');
    hubs.push({ hub, port });
  }
  const clients = spawnChild('cluster-clients.mjs');
  await clients.request('setup', { ports: hubs.map((h) => h.port), conns: SUBS });
  return { name, hubs, clients };
}

let runCounter = 0;
async function burst(setup, messages) {
  const run = ++runCounter;
  await setup.clients.request('arm', { run, messages });
  const done = setup.clients.once('done');
  const first = now();
  for (let i = 0; i < messages; i++) {
    const target = setup.hubs[Math.floor(Math.random() * setup.hubs.length)];
    await target.hub.request('publish', { run, i });
  }
  await Promise.race([done, sleep(20_000)]);
  const r = await setup.clients.request('report');
  return {
    complete: r.received === r.expected && r.misordered === 0,
    deliveriesPerSec: r.received / ((r.lastRecv - first) / 1000),
  };
}

async function main() {
  const load = () =>
    loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
  console.log(`burst fan-out: ${SUBS} subscribers, ${MESSAGES} messages back to back, ${REPS} reps; load ${load()}`);
  const prefix = `wardcast-bench-burst:${process.pid}:${Date.now().toString(36)}:`;
  const setups = [await startSetup('memory', 'memory', 1, prefix), await startSetup('redis', 'redis', 2, prefix)];
  for (const s of setups) await burst(s, 10);
  const results = new Map(setups.map((s) => [s.name, []]));
  for (let rep = 0; rep < REPS; rep++) {
    for (const s of rep % 2 === 0 ? setups : [...setups].reverse()) results.get(s.name).push(await burst(s, MESSAGES));
  }
  const mem = median(results.get('memory').map((x) => x.deliveriesPerSec));
  const red = median(results.get('redis').map((x) => x.deliveriesPerSec));
  const ok = [...results.values()].flat().every((x) => x.complete);
  console.log(`1 instance, in memory   ${Math.round(mem).toLocaleString('en-US')} deliveries/s`);
  console.log(
    `2 instances + Redis     ${Math.round(red).toLocaleString('en-US')} deliveries/s  (${(red / mem).toFixed(2)}x)`,
  );
  console.log(`all delivered in order: ${ok ? 'yes' : 'NO'}; load after ${load()}`);
  for (const s of setups) {
    for (const { hub } of s.hubs) await hub.request('exit').catch(() => {});
    await s.clients.request('exit').catch(() => {});
  }
  await allExited(3_000);
  killAll();
  if (!ok) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  killAll();
  process.exit(1);
});
