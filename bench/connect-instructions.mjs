// Server instructions per connect, counted rather than timed: `pnpm bench:connect-cost`
// (`node bench/connect-instructions.mjs` after `pnpm build`; needs valgrind). Each variant's server
// child (server.mjs) runs under `valgrind --tool=callgrind --instr-atstart=no` next to one client
// child (clients.mjs, not under valgrind) that holds BENCH_SUBS idle subscribers. BENCH_WARMUP
// storms of BENCH_CONNS connects (each held, then dropped, as in connect-phase.mjs) warm the JIT
// with instrumentation off; then instrumentation goes on, one more storm warms the simulated
// state, and BENCH_REPS counted storms follow. Each storm is counted in two windows
// (callgrind_control -z before, -d after): `connect` (upgrade + `hello` + `ready` for wardcast,
// protocol 2; the same with a session cookie and no token for wardcast-cookie; protocol 1's
// `auth` + `subscribe` for wardcast-v1, `subscribe` with the cookie for wardcast-cookie-v1; upgrade + one frame each way
// for ws-frame-once; the shape of Wardcast's connect on bare ws for ws-wardcast-shape), from the
// storm's start until every connection got its reply, and `close`, from the drop until the
// server counts the idle subscribers again (the close frames and the session teardown, plus the
// server's 10 ms polling in `until`). Printed per variant: median and minimum instructions per connect and per
// close (and the mean), and the ratio of connect (and connect + close) to ws-frame-once, then the `settled` median
// of connect (windows with little compiler and no mark-compact work). Left out and shown
// apart: instructions of V8's optimizing compilers (late warm-up) and of its mark-compact
// collector (one costs as much as ~100 connects, and whether it falls in a window is luck).
// Scavenges stay in. User space only
// (JavaScript, V8, libuv, system call stubs); the kernel's work is not counted.
//
// Options, as env or CLI (`node bench/connect-instructions.mjs --conns=500`):
//   BENCH_CONNS=1000  BENCH_SUBS=100  BENCH_WARMUP=6  BENCH_REPS=7
//   BENCH_VARIANTS=wardcast,wardcast-cookie,ws-frame-once (also wardcast-v1, wardcast-cookie-v1, ws-wardcast-shape, and
//     ws-merged-shape: that shape with one frame each way, see variants.mjs)
//   BENCH_VALGRIND_OUT=/tmp/wardcast-connect-callgrind (the dumps, kept for callgrind_annotate)
//   BENCH_NODE_FLAGS="--perf-basic-prof"  BENCH_VALGRIND_FLAGS="--dump-instr=yes" (with both, one
//     window's dump and the server's /tmp/perf-<pid>.map give instructions per JavaScript
//     function: `node bench/callgrind-jit.mjs <dump> <map>`)
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
const num = (name, fallback) => Number(process.env[name] ?? fallback);
const conns = num('BENCH_CONNS', 1000);
const subs = num('BENCH_SUBS', 100);
const warmup = num('BENCH_WARMUP', 6);
const reps = num('BENCH_REPS', 7);
const variants = (process.env.BENCH_VARIANTS ?? 'wardcast,wardcast-cookie,ws-frame-once')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const BASELINE = 'ws-frame-once';
const outDir = process.env.BENCH_VALGRIND_OUT ?? '/tmp/wardcast-connect-callgrind';
const NODE_FLAGS = process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
const VALGRIND_FLAGS = process.env.BENCH_VALGRIND_FLAGS?.split(' ').filter(Boolean) ?? [];

guardRun('connect instruction count', 3_600_000);
mkdirSync(outDir, { recursive: true });

/** Runs a callgrind_control command (`-i on`, `-z`, `-d`) against process `pid`. */
const control = (pid, ...args) => execFileSync('callgrind_control', [...args, String(pid)], { stdio: 'ignore' });

/** Counts one variant: per counted storm, instructions of its connect and its close windows. */
async function count(variant) {
  const file = join(outDir, `${variant}.${process.pid}.out`);
  const valgrind = [
    'valgrind',
    '-q',
    '--tool=callgrind',
    '--instr-atstart=no',
    `--callgrind-out-file=${file}`,
    ...VALGRIND_FLAGS,
  ];
  const ctl = spawnChild('server.mjs', [variant], NODE_FLAGS, undefined, valgrind);
  const { port } = await ctl.once('listening');
  const pid = ctl.child.pid;
  const client = spawnChild('clients.mjs');
  if (subs > 0) await client.request('setup', { servers: [{ variant, port }], conns: subs, tag: 'idle' });
  await ctl.request('until', { subscribers: subs });
  let run = 0;
  let parts = 0;
  const connectStorm = () => client.request('storm', { variant, port, conns, tag: `s${++run}`, keep: true });
  const close = async () => {
    await client.request('drop');
    await ctl.request('until', { subscribers: subs });
  };
  /** Zeroes the counters, runs `body`, dumps them: the window's { total, compiler }. */
  const window = async (body) => {
    control(pid, '-z');
    await body();
    control(pid, '-d');
    return readDump(`${file}.${++parts}`);
  };
  for (let i = 0; i < warmup; i++) {
    await connectStorm();
    await close();
  }
  control(pid, '-i', 'on');
  await connectStorm();
  await close();
  const connect = [];
  const closing = [];
  const compiler = [];
  const majorGc = [];
  /** Whether the connect window ran little compiler and no mark-compact work (see `settled` below). */
  const clean = [];
  for (let rep = 0; rep < reps; rep++) {
    const c = await window(connectStorm);
    const d = await window(close);
    const work = (w) => w.total - w.compiler - w.majorGc;
    connect.push(work(c) / conns);
    clean.push(c.compiler + c.majorGc < 0.1 * work(c));
    closing.push(work(d) / conns);
    compiler.push((c.compiler + d.compiler) / conns);
    majorGc.push((c.majorGc + d.majorGc) / conns);
  }
  await Promise.all([ctl, client].map((c) => c.request('exit').catch(() => {})));
  return { variant, connect, closing, compiler, majorGc, clean };
}

console.log(
  `connect-instructions (callgrind Ir, server user space): ${conns} connects per storm next to ${subs} idle, ` +
    `${warmup} warm-up storms, ${reps} counted; variants ${variants.join(', ')}`,
);
// Side by side: what callgrind counts does not depend on how long each step takes.
const results = await Promise.all(variants.map(count));
killAll();

const base = results.find((r) => r.variant === BASELINE);
const k = (x) => Math.round(x).toLocaleString('en-US');
const cycles = (r) => r.connect.map((c, i) => c + r.closing[i]);
// Late JIT work and the after-effects of a collection only ever add: the minimum is the settled
// cost, the median the typical one.
const row = (label, pick) => {
  for (const r of results) {
    const connect = pick(r.connect);
    const both = pick(cycles(r));
    const ratio = (mine, theirs) => (base ? `${(theirs / mine).toFixed(3)}x` : '-');
    console.log(
      `${label} ${r.variant.padEnd(18)} connect ${k(connect).padStart(8)}  close ${k(pick(r.closing)).padStart(8)}  ` +
        `connect+close ${k(both).padStart(8)}  per connect; rate vs ${BASELINE}: ` +
        `connect ${ratio(connect, base && pick(base.connect))}, connect+close ${ratio(both, base && pick(cycles(base)))}`,
    );
  }
};
row('median', median);
row('min   ', (xs) => Math.min(...xs));
// A window holds a young-generation collection or not (about 25k instructions per connect apart),
// so the median of a few windows is one mode or the other: the mean counts how often they come.
row('mean  ', (xs) => xs.reduce((a, b) => a + b, 0) / xs.length);
// Settled: the median over windows with under 10% of compiler plus mark-compact work (after a
// mark-compact V8 recompiles for a while, and the code runs unoptimized meanwhile).
for (const r of results) r.settled = r.connect.filter((_, i) => r.clean[i]);
const settledOf = (r) => (r.settled.length > 0 ? r.settled : r.connect);
for (const r of results) {
  const mine = median(settledOf(r));
  const ratio = base ? `${(median(settledOf(base)) / mine).toFixed(3)}x` : '-';
  console.log(
    `settled ${r.variant.padEnd(18)} connect ${k(mine).padStart(8)} per connect (median of ${r.settled.length} of ` +
      `${r.connect.length} windows); rate vs ${BASELINE}: ${ratio}`,
  );
}
for (const r of results) {
  console.log(
    `${r.variant}: connect reps ${r.connect.map(k).join(' ')}; close reps ${r.closing.map(k).join(' ')}; left out: ` +
      `compiler ${r.compiler.map(k).join(' ')}, mark-compact ${r.majorGc.map(k).join(' ')}`,
  );
}
console.log(`rate vs ${BASELINE} = its instructions / the variant's (>= 0.85x is the target for connect)`);
