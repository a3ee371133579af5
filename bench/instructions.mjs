// Instructions per delivery, counted rather than timed: `node bench/instructions.mjs` (after
// `pnpm build`) runs each variant's server child (server.mjs) under `valgrind --tool=callgrind`,
// connects BENCH_SUBS subscribers from one client child (clients.mjs, not under valgrind) and
// publishes paced fan-outs one at a time: a publish waits until every subscriber got the one
// before, so each is one frame fanned out to every socket, as in the paced phase of fanout.mjs.
// callgrind_control zeroes the server's counters before a window of BENCH_MESSAGES publishes and
// dumps them after it; a window of as many `noop` requests (the same IPC round trips, nothing
// published) is subtracted. BENCH_REPS pairs of windows; the median is shown, and every window.
// Instructions V8's optimizing compilers ran in a window (late warm-up, at times after hundreds of
// publishes) are left out of the per-delivery figure and shown apart; garbage collection stays in. Instruction counts repeat from run to run on a busy shared machine,
// where wall-clock timings do not. Counted: user-space instructions of every thread of the server
// process (its JavaScript, V8, libuv, the system call stubs); not counted: the kernel's work,
// which is one `write` per socket per publish for every variant here.
//
// Options, as env or CLI (`node bench/instructions.mjs --subs=2000`):
//   BENCH_WARMUP_BURSTS=0 (bursts of 20 messages after the paced warm-up: what a socket's write
//   path looks like after coalesced bursts, as in `pnpm bench`, where the burst phase comes first)
//   BENCH_SUBS=1000  BENCH_MESSAGES=100  BENCH_WARMUP=300  BENCH_REPS=3 (the warm-up fills each
//   connection's recent-deliveries ring, 256 by default, so that what is counted is the steady
//   state of a long-lived connection, and lets V8 optimise the fan-out code)
//   BENCH_VARIANTS=wardcast,ws-frame-once
//   BENCH_VALGRIND_OUT=/tmp/wardcast-callgrind (directory of the callgrind files, kept for
//   callgrind_annotate)  BENCH_NODE_FLAGS="--perf-basic-prof" (more flags for the server's node;
//   that one names the JIT code's addresses in /tmp/perf-<pid>.map)  BENCH_VALGRIND_FLAGS="--dump-instr=yes"
//   (more flags for callgrind)
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readDump } from './callgrind.mjs';
import { guardRun, killAll, spawnChild } from './children.mjs';
import { median } from './stats.mjs';

for (const arg of process.argv.slice(2)) {
  const m = /^--([a-z-]+)=(.*)$/.exec(arg);
  if (!m) throw new Error(`unknown argument ${arg} (expected --name=value)`);
  process.env[`BENCH_${m[1].toUpperCase().replaceAll('-', '_')}`] = m[2];
}
const subscribers = Number(process.env.BENCH_SUBS ?? 1000);
const messages = Number(process.env.BENCH_MESSAGES ?? 100);
const warmup = Number(process.env.BENCH_WARMUP ?? 300);
const reps = Number(process.env.BENCH_REPS ?? 3);
/** Bursts of BURST_SIZE messages published back to back after the paced warm-up (as `pnpm bench` runs a burst phase before its paced one). */
const warmupBursts = Number(process.env.BENCH_WARMUP_BURSTS ?? 0);
const BURST_SIZE = 20;
const variants = process.env.BENCH_VARIANTS?.split(',').map((s) => s.trim()) ?? ['wardcast', 'ws-frame-once'];
const outDir = process.env.BENCH_VALGRIND_OUT ?? '/tmp/wardcast-callgrind';
// Node as it runs in production: no --single-threaded, under which V8 (compiling on the main
// thread) never moves long-lived literals to the old generation at allocation, as it does here.
const NODE_FLAGS = process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
const VALGRIND_FLAGS = process.env.BENCH_VALGRIND_FLAGS?.split(' ').filter(Boolean) ?? [];

guardRun('instruction count', 3_600_000);
mkdirSync(outDir, { recursive: true });

let runCounter = 0;

/** Zeroes (`-z`) or dumps (`-d`) the callgrind counters of process `pid`. */
const callgrind = (flag, pid) => execFileSync('callgrind_control', [flag, String(pid)], { stdio: 'ignore' });

/** Publishes message `i` of `run` and waits until every subscriber got it. */
async function publishOne(server, client, run, i) {
  await client.request('arm', { variant: server.variant, run, messages: 1, conns: subscribers });
  const done = client.once('done');
  await server.ctl.request('publish', { run, i });
  await done;
  const report = await client.request('report');
  if (report.received !== subscribers) throw new Error(`${server.variant}: ${report.received}/${subscribers} got it`);
}

/** Publishes BURST_SIZE messages of `run` back to back and waits until every subscriber got them all. */
async function publishBurst(server, client, run) {
  await client.request('arm', { variant: server.variant, run, messages: BURST_SIZE, conns: subscribers });
  const done = client.once('done');
  await server.ctl.request('run', { run, messages: BURST_SIZE, intervalMs: 0, burst: BURST_SIZE });
  await done;
  const report = await client.request('report');
  const expected = subscribers * BURST_SIZE;
  if (report.received !== expected)
    throw new Error(`${server.variant}: ${report.received}/${expected} burst deliveries`);
}

/** Counts one variant: instructions per delivery of each rep, and of the IPC round trips subtracted. */
async function count(variant) {
  const file = join(outDir, `${variant}.${process.pid}.out`);
  const valgrind = ['valgrind', '--tool=callgrind', `--callgrind-out-file=${file}`, ...VALGRIND_FLAGS];
  const ctl = spawnChild('server.mjs', [variant], NODE_FLAGS, undefined, valgrind);
  const { port } = await ctl.once('listening');
  const server = { variant, ctl };
  const client = spawnChild('clients.mjs');
  await client.request('setup', { servers: [{ variant, port }], conns: subscribers, tag: 'i' });
  await ctl.request('until', { subscribers });
  for (let i = 0; i < warmup; i++) await publishOne(server, client, ++runCounter, i);
  for (let b = 0; b < warmupBursts; b++) await publishBurst(server, client, ++runCounter);

  let parts = 0;
  const window = async (body) => {
    callgrind('-z', ctl.child.pid);
    for (let i = 0; i < messages; i++) await body(i);
    callgrind('-d', ctl.child.pid);
    return readDump(`${file}.${++parts}`);
  };
  const perDelivery = [];
  const compiler = [];
  const perRequest = [];
  for (let rep = 0; rep < reps; rep++) {
    const idle = await window(() => ctl.request('noop'));
    const run = ++runCounter;
    const busy = await window((i) => publishOne(server, client, run, i));
    const deliveries = messages * subscribers;
    const work = (w) => w.total - w.compiler;
    perDelivery.push((work(busy) - work(idle)) / deliveries);
    compiler.push((busy.compiler + idle.compiler) / deliveries);
    perRequest.push(work(idle) / messages);
  }
  await Promise.all([ctl, client].map((c) => c.request('exit').catch(() => {})));
  return { variant, perDelivery, compiler, perRequest };
}

// Side by side: what callgrind counts does not depend on how long each step takes.
const results = await Promise.all(variants.map(count));
killAll();

const base = results.find((r) => r.variant === 'ws-frame-once');
const line = `${subscribers} subscribers, ${reps} reps of ${messages} paced publishes after ${warmup} warm-up`;
console.log(`\n${line} (callgrind Ir, user space)`);
for (const r of results) {
  const m = median(r.perDelivery);
  const ratio = base ? ` (${(m / median(base.perDelivery)).toFixed(3)}x ws-frame-once)` : '';
  const each = r.perDelivery.map((x) => x.toFixed(0)).join(' ');
  const ipc = Math.round(median(r.perRequest));
  const jit = r.compiler.map((x) => x.toFixed(0)).join(' ');
  console.log(
    `${r.variant.padEnd(20)} ${m.toFixed(0).padStart(6)} per delivery${ratio}  [reps: ${each}; ` +
      `compiler per delivery, left out: ${jit}; IPC round trip, subtracted: ${ipc}]`,
  );
}
