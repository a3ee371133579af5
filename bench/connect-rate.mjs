// Connect cost: `pnpm bench:connect` builds, then runs `node bench/connect-rate.mjs`.
// One server child per variant (pinned to CPU 0 when taskset exists) with BENCH_SUBS idle
// subscribers each, two client children (pinned to CPU 1). Every rep runs, for each variant in
// turn (order rotated per rep), BENCH_CONNS new connections (half from each client process, 100
// in flight each) that connect and subscribe, are held while the server's CPU time is read, then
// are dropped (see connect-phase.mjs). For Wardcast a connect is upgrade + `hello` (token and
// topic) + `ready`, protocol 2 as @wardcast/client connects; for wardcast-cookie (a session cookie
// authenticates the upgrade, as with a client created without a token) the same with no token in
// the `hello`; wardcast-v1 and wardcast-cookie-v1 are the same hub with protocol 1's connect
// (`auth` + `subscribe`, three replies); for ws-frame-once an upgrade and one frame each way; for Socket.IO its handshake
// and a room join. Printed: connects/s (wall clock), server CPU µs per connect and connects per
// server CPU-second, each ratio against ws-frame-once computed within the rep, medians over reps.
// The first BENCH_WARMUP reps warm the JIT of both sides and are not counted.
//
// Options, as env or CLI (`node bench/connect-rate.mjs --reps=9`):
//   BENCH_REPS=7  BENCH_WARMUP=1  BENCH_CONNS=1000  BENCH_SUBS=1000
//   BENCH_VARIANTS=wardcast,wardcast-cookie,ws-frame-once,socket.io (also: wardcast-v1, wardcast-cookie-v1,
//   ws-wardcast-shape, bare ws answering
//   Wardcast's connect frames with no hub behind it: the floor under Wardcast's connect)
//   BENCH_BASE_SERVER=<path to another build's packages/server/dist/index.js>: adds `wardcast-base`
//   BENCH_SERVER_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"
import os from 'node:os';
import { allExited, canPin, guardRun, killAll, spawnChild } from './children.mjs';
import { connectRep, connectTable, summarizeConnects } from './connect-phase.mjs';

const SERVER_CPU = 0;
const CLIENT_CPU = 1;
const CLIENT_PROCESSES = 2;
const BASELINE = 'ws-frame-once';
const WATCHDOG_MS = 280_000;

for (const arg of process.argv.slice(2)) {
  const m = /^--([a-z-]+)=(.*)$/.exec(arg);
  if (!m) throw new Error(`unknown argument ${arg} (expected --name=value)`);
  process.env[`BENCH_${m[1].toUpperCase().replaceAll('-', '_')}`] = m[2];
}
const num = (name, fallback) => Number(process.env[name] ?? fallback);
const reps = num('BENCH_REPS', 7);
const warmup = num('BENCH_WARMUP', 1);
const conns = num('BENCH_CONNS', 1000);
const subs = num('BENCH_SUBS', 1000);
const variants = (process.env.BENCH_VARIANTS ?? 'wardcast,wardcast-cookie,ws-frame-once,socket.io')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
if (process.env.BENCH_BASE_SERVER && !variants.includes('wardcast-base')) variants.splice(1, 0, 'wardcast-base');

guardRun('connect benchmark', WATCHDOG_MS);

async function startServer(variant) {
  const args = ['--expose-gc', ...(process.env.BENCH_SERVER_ARGS?.split(' ').filter(Boolean) ?? [])];
  const ctl = spawnChild('server.mjs', [variant], args, SERVER_CPU);
  const { port } = await ctl.once('listening');
  return { variant, port, ctl };
}

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

console.log(
  `Wardcast connect bench: node ${process.version}, ${os.cpus().length} CPUs, ` +
    `${canPin ? `server on CPU ${SERVER_CPU}, clients on CPU ${CLIENT_CPU}` : 'not pinned'}; ` +
    `${conns} new connections per rep next to ${subs} idle, ${reps} reps (+${warmup} warm-up), ` +
    `variants ${variants.join(', ')}; load average ${load()}`,
);

let failed = false;
try {
  const servers = await Promise.all(variants.map(startServer));
  const clients = Array.from({ length: CLIENT_PROCESSES }, () => spawnChild('clients.mjs', [], [], CLIENT_CPU));
  const per = subs / CLIENT_PROCESSES;
  for (const s of servers) {
    if (per === 0) break;
    const target = [{ variant: s.variant, port: s.port }];
    await Promise.all(clients.map((c, k) => c.request('setup', { servers: target, conns: per, tag: `idle${k}` })));
    await s.ctl.request('until', { subscribers: subs });
  }
  const results = new Map(variants.map((v) => [v, []]));
  let run = 0;
  for (let rep = 0; rep < warmup + reps; rep++) {
    for (let k = 0; k < servers.length; k++) {
      const s = servers[(k + rep) % servers.length];
      const r = await connectRep(s, clients, { conns, idle: subs, tag: `s${++run}` });
      if (rep >= warmup) results.get(s.variant).push(r);
    }
  }
  await Promise.all([...servers.map((s) => s.ctl), ...clients].map((c) => c.request('exit').catch(() => {})));
  await allExited(5_000); // lets --cpu-prof write its profile
  console.log(
    `\n=== connect: upgrade + authenticate + subscribe (Wardcast: protocol 2, one "hello", one "ready"), ${conns} per rep, median of ${reps} reps; ` +
      'ratios within each rep ===',
  );
  console.log(connectTable(summarizeConnects(results, BASELINE), BASELINE));
  console.log(
    'connects/s = wall clock, bounded by the clients (one core) as much as the server; server CPU = server ' +
      'process user+system from the first connect to the last reply; +close = until the server dropped them again',
  );
  console.log(`(load average now ${load()})`);
} catch (err) {
  console.error('FAIL:', err);
  failed = true;
} finally {
  killAll();
}
process.exit(failed ? 1 : 0);
