// Fan-out benchmark entry point (`pnpm bench` builds, then runs `node bench/fanout.mjs`).
// For each subscriber count: one server child per variant, two client children holding half the
// connections each, then every variant publishes the same schedule REPS times (order rotated per
// rep); the table shows medians over the reps. Only 127.0.0.1; everything is killed at the end.
//
// Env overrides: BENCH_SUBS=1000,5000  BENCH_REPS=5  BENCH_VARIANTS=wardcast,ws-frame-once
//   BENCH_SERVER_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"  (node flags for the server children only)
import { execSync } from 'node:child_process';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { allExited, killAll, spawnChild } from './children.mjs';
import { median, mergeSorted, quantile, table } from './stats.mjs';
import { VARIANTS } from './variants.mjs';

// One message every `intervalMs`. On this 2-core machine one fan-out to 1,000 loopback sockets
// costs the server ~13 ms of CPU (mostly the kernel's TCP path), ~70 ms for 5,000, and the two
// clients together a little more; the intervals leave the machine idle between fan-outs, so
// latency is that of one fan-out and not of a growing queue (deliveries/s is then bounded by the
// offered rate).
const SCENARIOS = [
  { subscribers: 1000, messages: 40, intervalMs: 40, burst: 1, warmup: 10 },
  { subscribers: 5000, messages: 10, intervalMs: 200, burst: 1, warmup: 4 },
];
const CLIENT_PROCESSES = 2;
const DRAIN_TIMEOUT_MS = 10_000;
const WATCHDOG_MS = 175_000;
const BASELINE = 'ws-frame-once';

const envList = (name) =>
  process.env[name]
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const subsFilter = envList('BENCH_SUBS')?.map(Number);
const variants = envList('BENCH_VARIANTS') ?? VARIANTS;
const reps = Number(process.env.BENCH_REPS ?? 5);
const scenarios = SCENARIOS.filter((s) => !subsFilter || subsFilter.includes(s.subscribers));

const watchdog = setTimeout(() => {
  console.error(`FAIL: benchmark still running after ${WATCHDOG_MS / 1000}s; killing it`);
  killAll();
  process.exit(2);
}, WATCHDOG_MS);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}
process.on('exit', killAll);

let runCounter = 0;

async function startServer(variant) {
  const ctl = spawnChild('server.mjs', [variant], process.env.BENCH_SERVER_ARGS?.split(' ').filter(Boolean));
  const { port } = await ctl.once('listening');
  return { variant, port, ctl };
}

async function waitForSubscribers(server, expected) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { subscribers } = await server.ctl.request('count');
    if (subscribers === expected) return;
    if (Date.now() > deadline) throw new Error(`${server.variant}: ${subscribers}/${expected} subscribers`);
    await sleep(50);
  }
}

/** One publish phase of one variant. */
async function measure(server, clients, scenario, messages) {
  const run = ++runCounter;
  const conns = scenario.subscribers / clients.length;
  await Promise.all(clients.map((c) => c.request('arm', { variant: server.variant, run, messages, conns })));
  const done = Promise.all(clients.map((c) => c.once('done')));
  const published = await server.ctl.request('run', {
    run,
    messages,
    intervalMs: scenario.intervalMs,
    burst: scenario.burst,
  });
  const drained = await Promise.race([done.then(() => true), sleep(DRAIN_TIMEOUT_MS).then(() => false)]);
  const cpu = await server.ctl.request('stop');
  const reports = await Promise.all(clients.map((c) => c.request('report')));
  const received = reports.reduce((n, r) => n + r.received, 0);
  const expected = scenario.subscribers * messages;
  const lastRecv = Math.max(...reports.map((r) => r.lastRecv));
  const lat = mergeSorted(reports.map((r) => r.lat));
  const problems = [];
  if (!drained || received !== expected) problems.push(`received ${received}/${expected} deliveries`);
  const incomplete = reports.reduce((n, r) => n + r.incomplete, 0);
  if (incomplete) problems.push(`${incomplete} connections missed messages`);
  const misordered = reports.reduce((n, r) => n + r.misordered, 0);
  if (misordered) problems.push(`${misordered} out-of-order deliveries`);
  return {
    deliveriesPerSec: (received / (lastRecv - published.firstTs)) * 1000,
    p50: quantile(lat, 0.5),
    p99: quantile(lat, 0.99),
    cpuUs: cpu.cpuUs / received,
    clientCpuUs: reports.reduce((n, r) => n + r.cpuUs, 0) / received,
    blockMs: cpu.blockMs,
    blockCpuMs: cpu.blockCpuMs,
    problems,
  };
}

async function runScenario(scenario) {
  const started = Date.now();
  const servers = await Promise.all(variants.map(startServer));
  const clients = Array.from({ length: CLIENT_PROCESSES }, () => spawnChild('clients.mjs'));
  const conns = scenario.subscribers / CLIENT_PROCESSES;
  const targets = servers.map(({ variant, port }) => ({ variant, port }));
  await Promise.all(clients.map((c, k) => c.request('setup', { servers: targets, conns, tag: `c${k}` })));
  for (const s of servers) await waitForSubscribers(s, scenario.subscribers);
  const connectedS = (Date.now() - started) / 1000;

  for (const s of servers) await measure(s, clients, scenario, scenario.warmup); // JIT and buffers warm
  const results = new Map(servers.map((s) => [s.variant, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (let k = 0; k < servers.length; k++) {
      const s = servers[(k + rep) % servers.length];
      results.get(s.variant).push(await measure(s, clients, scenario, scenario.messages));
    }
  }
  await Promise.all([...servers.map((s) => s.ctl), ...clients].map((c) => c.request('exit').catch(() => {})));
  await allExited(5_000); // lets --cpu-prof write its profile; whatever is left is killed
  killAll();

  const { subscribers, messages, intervalMs, burst } = scenario;
  console.log(
    `\n=== ${subscribers.toLocaleString('en-US')} subscribers: ${messages} messages, ${burst} every ${intervalMs} ms ` +
      `(offered ${Math.round((subscribers * burst * 1000) / intervalMs).toLocaleString('en-US')} deliveries/s), ` +
      `${CLIENT_PROCESSES} client processes, median of ${reps} reps ===`,
  );
  const rows = servers.map(({ variant }) => {
    const rs = results.get(variant);
    return {
      variant,
      deliveriesPerSec: median(rs.map((r) => r.deliveriesPerSec)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      cpuUs: median(rs.map((r) => r.cpuUs)),
      cpuRuns: rs.map((r) => r.cpuUs),
      clientCpuUs: median(rs.map((r) => r.clientCpuUs)),
      ok: rs.every((r) => r.problems.length === 0),
    };
  });
  console.log(table(rows, BASELINE));
  console.log(
    'event-loop block of one publish (its synchronous part; wall time includes time the server was ' +
      'preempted by the clients on this 2-core machine, CPU time does not; median of medians, max of maxima;\n' +
      ' socket.io defers most writes to later ticks, so its synchronous part is not its whole cost):',
  );
  for (const { variant } of servers) {
    const rs = results.get(variant);
    const stat = (key, q) => (q === 'max' ? Math.max : median)(...rs.map((r) => r[key][q])).toFixed(1);
    console.log(
      `  ${variant.padEnd(14)} wall median ${stat('blockMs', 'median')} ms, max ${stat('blockMs', 'max')} ms; ` +
        `CPU median ${stat('blockCpuMs', 'median')} ms, max ${stat('blockCpuMs', 'max')} ms`,
    );
  }
  let failed = false;
  for (const { variant } of servers) {
    results.get(variant).forEach((r, rep) => {
      for (const p of r.problems) {
        failed = true;
        console.log(`FAIL ${variant} rep ${rep + 1}: ${p}`);
      }
    });
  }
  const ratio = rows.find((r) => r.variant === 'wardcast')?.cpuUs / rows.find((r) => r.variant === BASELINE)?.cpuUs;
  if (Number.isFinite(ratio)) {
    console.log(
      `wardcast CPU/delivery = ${ratio.toFixed(3)}x ${BASELINE} (target <= 1.10x): ${ratio <= 1.1 ? 'OK' : 'ABOVE TARGET'}`,
    );
  }
  console.log(
    `(connect ${connectedS.toFixed(1)} s, scenario ${((Date.now() - started) / 1000).toFixed(1)} s, ` +
      `load average now ${os.loadavg()[0].toFixed(2)})`,
  );
  return failed;
}

let limit = '?';
try {
  limit = execSync('ulimit -n', { shell: '/bin/sh', encoding: 'utf8' }).trim();
} catch {}
console.log(
  `Wardcast fan-out bench: node ${process.version}, ${os.cpus().length} CPUs, ulimit -n ${limit}; ` +
    `variants: ${variants.join(', ')}; load average ${os.loadavg()[0].toFixed(2)} (other work on the machine adds noise)`,
);
console.log(
  'latency = client receive time - server publish time (machine-wide monotonic clock); ' +
    'deliveries/s = deliveries / (first publish -> last delivery); CPU = server process user+system during the phase / deliveries ' +
    '(mostly kernel time: the loopback TCP path is charged to the writer)',
);
const need = (Math.max(...scenarios.map((s) => s.subscribers)) * variants.length) / CLIENT_PROCESSES + 64;
if (Number(limit) < need) console.log(`WARNING: ulimit -n ${limit} < ${need} sockets per client process; raise it`);

let failed = false;
try {
  for (const scenario of scenarios) failed = (await runScenario(scenario)) || failed;
} catch (err) {
  console.error('FAIL:', err);
  failed = true;
} finally {
  killAll();
}
process.exit(failed ? 1 : 0);
