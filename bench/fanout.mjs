// Fan-out benchmark entry point (`pnpm bench` builds, then runs `node bench/fanout.mjs`).
// For each subscriber count: one server child per variant (pinned to CPU 0 when taskset exists),
// two client children holding half the connections each (pinned to CPU 1). Connecting measures
// the idle memory per connection; then every rep runs, for each variant in turn (order rotated
// per rep: A B C, B C A, ...), a burst (BENCH_BURST messages published back to back) and a paced
// phase (one message every subscribers/BENCH_RATE s); last, reps of 1,000 new connections per
// variant, alternated (BENCH_CONNECT_REPS of them: a storm lasts under a second, and its rate moves by
// up to 2x from one to the next, so the connect medians take more reps than the publish phases),
// measure connects/s and the server's CPU time per connect (connect-phase.mjs;
// `pnpm bench:connect` runs that phase alone, with more reps). The summary shows medians
// over the reps, each ratio against ws-frame-once computed in this run, but for latencies: p50 and
// p99 are taken over the deliveries of all the reps together (a rep's p99 moves by up to 2x with
// what else runs on the machine); it is also written to docs/benchmarks.md with an SVG chart
// (docs/benchmarks.svg). Only 127.0.0.1; everything is killed.
//
// Options, as env or CLI (`node bench/fanout.mjs --subs=1000 --reps=3`):
//   BENCH_SUBS=1000,5000  BENCH_REPS=3  BENCH_CONNECT_REPS=9  BENCH_VARIANTS=wardcast,ws-frame-once
//   BENCH_BURST=20 (messages per burst)  BENCH_RATE=50000 (paced deliveries/s)
//   BENCH_PACED_SECONDS=6 (length of a paced phase; 20 messages at least: at 5,000 subscribers 60
//     fan-outs per rep, so that the p99 is not set by the one or two the machine slowed down)
//   BENCH_SETTLE_GC=1 (a full GC, not measured, between a variant's burst and its paced phase)
//   BENCH_TRACE=1 (per phase, on stderr: CPU and its user part, GC pauses, slowest delivery per message)
//   BENCH_SIZE=<bytes> (pad messages to about that size; default ~510-byte lab_result)
//   BENCH_DOCS=0 (do not write docs/)  BENCH_SERVER_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"
import { execSync } from 'node:child_process';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { allExited, canPin, guardRun, killAll, spawnChild } from './children.mjs';
import { connectRep, connectTable, summarizeConnects } from './connect-phase.mjs';
import { printSummary, writeDocs } from './report.mjs';
import { median, mergeSorted, quantile, table } from './stats.mjs';
import { VARIANTS } from './variants.mjs';

const CLIENT_PROCESSES = 2;
const DRAIN_TIMEOUT_MS = 10_000;
// The whole run: with 9 connect storms per variant and subscriber count, about 6 minutes here.
const WATCHDOG_MS = 900_000;
const BASELINE = 'ws-frame-once';
const SERVER_CPU = 0;
const STORM_CONNS = 1000;
/** The connect phase's row for the hub with cookie-session clients (no `auth` frame). */
const COOKIE = 'wardcast-cookie';
const CLIENT_CPU = 1;

// CLI options are the env options: --subs=1000 is BENCH_SUBS=1000 (the children inherit them).
for (const arg of process.argv.slice(2)) {
  const m = /^--([a-z-]+)=(.*)$/.exec(arg);
  if (!m) throw new Error(`unknown argument ${arg} (expected --name=value)`);
  process.env[`BENCH_${m[1].toUpperCase().replaceAll('-', '_')}`] = m[2];
}
const envList = (name) =>
  process.env[name]
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const variants = envList('BENCH_VARIANTS') ?? VARIANTS;
const reps = Number(process.env.BENCH_REPS ?? 3);
const connectReps = Number(process.env.BENCH_CONNECT_REPS ?? 9);
const burstSize = Number(process.env.BENCH_BURST ?? 20);
const rate = Number(process.env.BENCH_RATE ?? 50_000);
const size = Number(process.env.BENCH_SIZE ?? 0);
const pacedSeconds = Number(process.env.BENCH_PACED_SECONDS ?? 6);
const settleGc = process.env.BENCH_SETTLE_GC === '1';
const trace = process.env.BENCH_TRACE === '1';

/**
 * Burst: `burstSize` messages at once. Paced: `pacedSeconds` at `rate` deliveries/s, one message
 * per tick, and 20 messages at least: a p99 taken over a few fan-outs is set by the one the
 * machine happened to slow down (at 5,000 subscribers, the slowest 1% of deliveries is the tail
 * of one or two fan-outs out of 20 per 2-second rep).
 */
const scenarios = (envList('BENCH_SUBS')?.map(Number) ?? [1000, 5000]).map((subscribers) => {
  const intervalMs = (subscribers * 1000) / rate;
  const pacedMessages = Math.max(20, Math.round((rate * pacedSeconds) / subscribers));
  return {
    subscribers,
    burst: { messages: burstSize, intervalMs: 0, burst: burstSize },
    paced: { messages: pacedMessages, intervalMs, burst: 1 },
  };
});

guardRun('benchmark', WATCHDOG_MS);

let runCounter = 0;

async function startServer(variant) {
  const args = ['--expose-gc', ...(process.env.BENCH_SERVER_ARGS?.split(' ').filter(Boolean) ?? [])];
  const ctl = spawnChild('server.mjs', [variant], args, SERVER_CPU);
  const { port } = await ctl.once('listening');
  return { variant, port, ctl };
}

async function waitForSubscribers(server, expected) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { subscribers } = await server.ctl.request('count');
    if (subscribers === expected) return;
    if (Date.now() > deadline) throw new Error(`${server.variant}: ${subscribers}/${expected} subscribers`);
    await sleep(10);
  }
}

/**
 * Connects the subscribers to `server` in two halves (both client processes at once); the idle
 * memory per connection is the growth over the second half (one-time allocations excluded).
 */
async function connectAll(server, clients, subscribers) {
  const per = subscribers / clients.length / 2;
  const target = [{ variant: server.variant, port: server.port }];
  const half = (offset) =>
    Promise.all(clients.map((c, k) => c.request('setup', { servers: target, conns: per, tag: `c${k}`, offset })));
  await half(0);
  await waitForSubscribers(server, subscribers / 2);
  const before = await server.ctl.request('memory');
  await half(per);
  await waitForSubscribers(server, subscribers);
  const after = await server.ctl.request('memory');
  const n = subscribers / 2;
  return { rssKiB: (after.rss - before.rss) / n / 1024, heapKiB: (after.heapUsed - before.heapUsed) / n / 1024 };
}

/**
 * One connect rep: both client processes open and subscribe STORM_CONNS new connections next to
 * the `subscribers` already connected, then drop them (see connect-phase.mjs).
 */
function storm(server, clients, subscribers) {
  return connectRep(server, clients, { conns: STORM_CONNS, idle: subscribers, tag: `storm${++runCounter}` });
}

/**
 * BENCH_TRACE=1: one line per measured phase on stderr: server CPU per delivery (and its user
 * part), the median event-loop block of one publish, the collector's pauses, and the slowest
 * delivery of each message (with few fan-outs per phase, p99 is set by the slowest ones).
 */
function traceLine(variant, phase, cpu, received, reports) {
  const worst = reports[0].worst.map((_, i) => Math.max(...reports.map((r) => r.worst[i])));
  const gc = Object.entries(cpu.gc).map(([kind, g]) => `${kind} ${g.n}/${g.ms.toFixed(1)} ms`);
  console.error(
    `${variant}, ${phase.messages} messages (burst ${phase.burst}): CPU ${(cpu.cpuUs / received).toFixed(2)} µs/delivery ` +
      `(user ${(cpu.userUs / received).toFixed(2)}), block ${cpu.blockCpuMs.median.toFixed(1)} ms, ${cpu.late} late ticks, ` +
      `GC pauses ${gc.join(', ') || 'none'}; slowest delivery per message, ms: ${worst.map((w) => w.toFixed(0)).join(' ')}`,
  );
}

/** One publish phase of one variant. */
async function measure(server, clients, subscribers, phase) {
  const run = ++runCounter;
  const conns = subscribers / clients.length;
  const { messages, intervalMs, burst } = phase;
  await Promise.all(clients.map((c) => c.request('arm', { variant: server.variant, run, messages, conns })));
  const done = Promise.all(clients.map((c) => c.once('done')));
  const published = await server.ctl.request('run', { run, messages, intervalMs, burst });
  const drained = await Promise.race([done.then(() => true), sleep(DRAIN_TIMEOUT_MS).then(() => false)]);
  const cpu = await server.ctl.request('stop');
  const reports = await Promise.all(clients.map((c) => c.request('report')));
  const received = reports.reduce((n, r) => n + r.received, 0);
  const expected = subscribers * messages;
  const lastRecv = Math.max(...reports.map((r) => r.lastRecv));
  const lat = mergeSorted(reports.map((r) => r.lat));
  const problems = [];
  if (!drained || received !== expected) problems.push(`received ${received}/${expected} deliveries`);
  const incomplete = reports.reduce((n, r) => n + r.incomplete, 0);
  if (incomplete) problems.push(`${incomplete} connections missed messages`);
  const misordered = reports.reduce((n, r) => n + r.misordered, 0);
  if (misordered) problems.push(`${misordered} out-of-order deliveries`);
  if (trace) traceLine(server.variant, phase, cpu, received, reports);
  return {
    deliveriesPerSec: (received / (lastRecv - published.firstTs)) * 1000,
    lat,
    cpuUs: cpu.cpuUs / received,
    clientCpuUs: reports.reduce((n, r) => n + r.cpuUs, 0) / received,
    blockMs: cpu.blockMs,
    blockCpuMs: cpu.blockCpuMs,
    problems,
  };
}

/** Medians over the reps of one phase of one variant; latency percentiles over all their deliveries. */
function summarize(variant, rs) {
  const m = (key) => median(rs.map((r) => r[key]));
  const lat = mergeSorted(rs.map((r) => r.lat));
  return {
    variant,
    deliveriesPerSec: m('deliveriesPerSec'),
    dpsRuns: rs.map((r) => r.deliveriesPerSec),
    p50: quantile(lat, 0.5),
    p99: quantile(lat, 0.99),
    p99Runs: rs.map((r) => quantile(r.lat, 0.99)),
    cpuUs: m('cpuUs'),
    cpuRuns: rs.map((r) => r.cpuUs),
    clientCpuUs: m('clientCpuUs'),
    ok: rs.every((r) => r.problems.length === 0),
  };
}

async function runScenario(scenario) {
  const started = Date.now();
  const { subscribers } = scenario;
  const servers = await Promise.all(variants.map(startServer));
  const clients = Array.from({ length: CLIENT_PROCESSES }, () => spawnChild('clients.mjs', [], [], CLIENT_CPU));
  const idle = new Map();
  for (const s of servers) idle.set(s.variant, await connectAll(s, clients, subscribers));
  const connectedS = (Date.now() - started) / 1000;

  const warmup = { ...scenario.paced, messages: Math.min(10, scenario.paced.messages) };
  for (const s of servers) {
    await measure(s, clients, subscribers, warmup); // JIT and buffers warm
    await measure(s, clients, subscribers, scenario.burst);
  }
  const results = new Map(servers.map((s) => [s.variant, { burst: [], paced: [] }]));
  for (let rep = 0; rep < reps; rep++) {
    for (let k = 0; k < servers.length; k++) {
      const s = servers[(k + rep) % servers.length];
      const r = results.get(s.variant);
      r.burst.push(await measure(s, clients, subscribers, scenario.burst));
      // BENCH_SETTLE_GC=1: a full collection (not measured) before the paced phase, so that the
      // burst's garbage is not collected, and counted, in it.
      if (settleGc) await s.ctl.request('memory');
      r.paced.push(await measure(s, clients, subscribers, scenario.paced));
    }
  }
  // Connects last, so the connections they drop cannot weigh on the publish phases.
  // The hub's server is also measured with cookie-session clients (the session cookie
  // authenticates the upgrade, then only `subscribe`: `@wardcast/client` without a `token`).
  const connects = new Map(servers.map((s) => [s.variant, []]));
  const cookie = servers.find((s) => s.variant === 'wardcast');
  if (cookie) connects.set(COOKIE, []);
  for (let rep = 0; rep < connectReps; rep++) {
    for (let k = 0; k < servers.length; k++) {
      const s = servers[(k + rep) % servers.length];
      connects.get(s.variant).push(await storm(s, clients, subscribers));
      if (s === cookie) connects.get(COOKIE).push(await storm({ ...s, variant: COOKIE }, clients, subscribers));
    }
  }
  await Promise.all([...servers.map((s) => s.ctl), ...clients].map((c) => c.request('exit').catch(() => {})));
  await allExited(5_000); // lets --cpu-prof write its profile; whatever is left is killed
  killAll();

  const subs = subscribers.toLocaleString('en-US');
  const { paced } = scenario;
  const phases = {
    burst: `${subs} subscribers, burst: ${burstSize} messages at once`,
    paced: `${subs} subscribers, paced: 1 message every ${paced.intervalMs} ms (${rate.toLocaleString('en-US')} deliveries/s)`,
  };
  const summary = { subscribers, variants: new Map() };
  for (const phase of ['burst', 'paced']) {
    console.log(
      `\n=== ${phases[phase]}, ${CLIENT_PROCESSES} client processes, median of ${reps} reps ` +
        '(p50, p99: over the deliveries of all reps) ===',
    );
    const rows = servers.map(({ variant }) => summarize(variant, results.get(variant)[phase]));
    console.log(table(rows, BASELINE));
    for (const row of rows) {
      const cookieRuns = row.variant === 'wardcast' ? connects.get(COOKIE) : undefined;
      const entry = summary.variants.get(row.variant) ?? {
        ...idle.get(row.variant),
        connectsPerSec: median(connects.get(row.variant).map((r) => r.connectsPerSec)),
        connectCpuUs: median(connects.get(row.variant).map((r) => r.serverCpuUs)),
        cookieConnectsPerSec: cookieRuns && median(cookieRuns.map((r) => r.connectsPerSec)),
        cookieConnectCpuUs: cookieRuns && median(cookieRuns.map((r) => r.serverCpuUs)),
        // Per rep, for the targets' per-rep ratios (rep k of every variant ran in the same round).
        connectRuns: connects.get(row.variant).map((r) => r.connectsPerSec),
        connectCpuRuns: connects.get(row.variant).map((r) => r.serverCpuUs),
        cookieConnectRuns: cookieRuns?.map((r) => r.connectsPerSec),
        cookieConnectCpuRuns: cookieRuns?.map((r) => r.serverCpuUs),
      };
      entry[phase] = row;
      summary.variants.set(row.variant, entry);
    }
  }
  console.log(
    `\n=== ${subs} subscribers, connect: ${STORM_CONNS.toLocaleString('en-US')} new connections per rep ` +
      `(upgrade + "hello" with token and topic + "ready" for Wardcast, protocol 2; ${COOKIE}: the same with a session cookie on the upgrade and no token), ` +
      `median of ${connectReps} reps, ratios within each rep ===`,
  );
  console.log(connectTable(summarizeConnects(connects, BASELINE), BASELINE));
  console.log(
    'event-loop block of one paced publish, CPU time (median of medians, max of maxima; wardcast writes at the ' +
      'end of the turn and socket.io in later ticks, so for them this is not the whole cost):',
  );
  for (const { variant } of servers) {
    const rs = results.get(variant).paced;
    const stat = (q) => (q === 'max' ? Math.max : median)(...rs.map((r) => r.blockCpuMs[q])).toFixed(1);
    console.log(`  ${variant.padEnd(20)} median ${stat('median')} ms, max ${stat('max')} ms`);
  }
  let failed = false;
  for (const { variant } of servers) {
    for (const phase of ['burst', 'paced']) {
      results.get(variant)[phase].forEach((r, rep) => {
        for (const p of r.problems) {
          failed = true;
          console.log(`FAIL ${variant} ${phase} rep ${rep + 1}: ${p}`);
        }
      });
    }
  }
  console.log(
    `(connect ${connectedS.toFixed(1)} s, scenario ${((Date.now() - started) / 1000).toFixed(1)} s, ` +
      `load average now ${os.loadavg()[0].toFixed(2)})`,
  );
  return { failed, summary };
}

let limit = '?';
try {
  limit = execSync('ulimit -n', { shell: '/bin/sh', encoding: 'utf8' }).trim();
} catch {}
const machine = {
  cpu: os.cpus()[0]?.model ?? '?',
  cores: os.cpus().length,
  node: process.version,
  loadStart: os.loadavg().map((x) => x.toFixed(2)),
  pinned: canPin ? `server on CPU ${SERVER_CPU}, clients on CPU ${CLIENT_CPU} (taskset)` : 'not pinned',
};
const settings = {
  command: `node bench/fanout.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  variants,
  reps,
  connectReps,
  burst: burstSize,
  rate,
  pacedSeconds,
  size: size > 0 ? `~${size} bytes (custom kind, padded)` : '~510 bytes (lab_result)',
};
console.log(
  `Wardcast fan-out bench: node ${machine.node}, ${machine.cores} CPUs (${machine.cpu}), ${machine.pinned}, ` +
    `ulimit -n ${limit}; variants: ${variants.join(', ')}; load average ${machine.loadStart.join(' ')} ` +
    '(other work on the machine adds noise)',
);
console.log(
  'latency = client receive time - server publish time (machine-wide monotonic clock); ' +
    'deliveries/s = deliveries / (first publish -> last delivery); CPU = server process user+system during the phase / deliveries ' +
    '(mostly kernel time: the loopback TCP path is charged to the writer)',
);
const need = (Math.max(...scenarios.map((s) => s.subscribers)) * variants.length) / CLIENT_PROCESSES + 64;
if (Number(limit) < need) console.log(`WARNING: ulimit -n ${limit} < ${need} sockets per client process; raise it`);

let failed = false;
const summaries = [];
try {
  for (const scenario of scenarios) {
    const result = await runScenario(scenario);
    failed = result.failed || failed;
    summaries.push(result.summary);
  }
  machine.loadEnd = os.loadavg().map((x) => x.toFixed(2));
  printSummary(summaries, variants, BASELINE, settings);
  if (process.env.BENCH_DOCS !== '0') writeDocs(summaries, variants, BASELINE, settings, machine);
} catch (err) {
  console.error('FAIL:', err);
  failed = true;
} finally {
  killAll();
}
process.exit(failed ? 1 : 0);
