// Server cost of a publish to one user, counted by callgrind (deterministic, unlike wall-clock or
// CPU time on a shared machine): the server child of publish-one.mjs runs under
// `valgrind --tool=callgrind` with instrumentation off while N users connect (the client child,
// not under valgrind) and while BENCH_FILL publishes fill history as the timed bench's earlier
// runs do; then a full GC and BENCH_SETTLE publishes (the JIT settles again), instrumentation
// goes on, BENCH_WARM publishes warm the simulated caches, the counters are zeroed, and
// BENCH_COUNT publishes are counted. Printed per user count
// and variant: instructions, data reads + writes, simulated L1d misses and last-level misses (the
// LL modelled as this machine's 2 MB L2 per core: what misses it is what goes to the shared L3 or
// memory) per publish, the part of those in V8's garbage collector (by function name: scavenges
// in the window; the rare mark-compact is kept out by the GC before counting), and the growth of
// each from the smallest to the largest user count. User space only: kernel work (the TCP sends)
// is not counted; publish-one.mjs prints it as the kernel part of the CPU time.
//
//   pnpm bench:publish-cost  (node bench/publish-cost.mjs after a build; needs valgrind; 1-2 min per size and variant)
//   BENCH_USERS=100,1000,10000 BENCH_VARIANTS=wardcast,ws-map BENCH_COUNT=10000
//   BENCH_FILL=100000 BENCH_SETTLE=20000 BENCH_WARM=2000
//   BENCH_WARDCAST_ALT=/path/to/other/build/dist/index.js with BENCH_VARIANTS=...,wardcast-alt (A/B)
//   BENCH_CALLGRIND_DIR=<dir>   keeps the callgrind dumps there (callgrind_annotate them)
//   BENCH_SERVER_ARGS="--perf-basic-prof" BENCH_VALGRIND_FLAGS="--dump-instr=yes": per JavaScript
//     function, with `node bench/callgrind-jit.mjs <dump> <map> [rows] [events]` (events: e.g. DLmr,DLmw)
// Only 127.0.0.1; every child is killed at the end.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { guardRun, killAll, spawnChild } from './children.mjs';

const SERVER_CPU = 0;
const CLIENT_CPU = 1;
const BATCH = 64;
const SEED = 0x9e3779b9;
const CACHE = ['--cache-sim=yes', '--D1=49152,12,64', '--LL=2097152,16,64'];

const envList = (name, fallback) =>
  (process.env[name] ?? fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const envNumber = (name, fallback) => Number(process.env[name] ?? fallback);

/** Sends a callgrind_control command (`-i on`, `-z`, `-d`) to the server child and waits for its answer. */
const control = (pid, ...args) => execFileSync('callgrind_control', [...args, String(pid)], { stdio: 'ignore' });

/** The newest dump of `outFile`: { file, events: [name], totals: { event: total } }. */
function lastDump(outFile) {
  const dir = path.dirname(outFile);
  const base = path.basename(outFile);
  const dumps = readdirSync(dir)
    .filter((f) => f.startsWith(`${base}.`))
    .sort((a, b) => Number(a.slice(base.length + 1)) - Number(b.slice(base.length + 1)));
  const file = path.join(dir, dumps.at(-1));
  const text = readFileSync(file, 'utf8');
  const events = /^events: (.*)$/m.exec(text)[1].split(' ');
  const totals = /^totals: (.*)$/m.exec(text)[1].split(' ').map(Number);
  return { file, events, totals: Object.fromEntries(events.map((e, i) => [e, totals[i] ?? 0])) };
}

/** V8's garbage collector (scavenges, marking, sweeping, compaction), by function name. */
const GC_FUNCTION =
  /v8::internal::(\w+::)*(\w*(Scaveng|Marking|Marker|Sweep|Evacuat|Compact|RememberedSet|SlotSet|GlobalHandles)\w*|Heap::\w+|HeapObject::SizeFromMap)|MemoryChunk|IterateObjectCache/;

/** The part of a dump's counters spent in GC functions, as { event: total }, from callgrind_annotate. */
function gcPart(file, events) {
  const text = execFileSync('callgrind_annotate', ['--inclusive=no', '--threshold=100', file], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const sums = Object.fromEntries(events.map((e) => [e, 0]));
  for (const line of text.split('\n')) {
    const tokens = line
      .replace(/\(\s*[\d.]+%\)/g, '')
      .trim()
      .split(/\s+/);
    if (tokens.length <= events.length || !/^[\d,.]+$/.test(tokens[0])) continue;
    const fn = tokens.slice(events.length).join(' ');
    if (!GC_FUNCTION.test(fn)) continue;
    events.forEach((e, i) => {
      sums[e] += Number(tokens[i].replaceAll(',', '')) || 0;
    });
  }
  return sums;
}

/** Publishes `count` notifications to random users and waits until the clients received them all. */
async function publishAll(server, client, users, count, seed) {
  await client.request('arm', { expected: count });
  const done = client.once('done');
  await server.request('run', { users, publishes: count, batch: BATCH, seed });
  await done;
  const r = await client.request('report');
  if (r.count !== count || r.bad !== 0) throw new Error(`received ${r.count}/${count}, misrouted ${r.bad}`);
}

async function measure(variant, users, dir, counts) {
  const outFile = path.join(dir, `callgrind.${variant}.${users}`);
  const valgrind = [
    'valgrind',
    '--tool=callgrind',
    '--instr-atstart=no',
    '--smc-check=all-non-file',
    ...CACHE,
    `--callgrind-out-file=${outFile}`,
    ...(process.env.BENCH_VALGRIND_FLAGS?.split(' ').filter(Boolean) ?? []),
  ];
  const serverArgs = ['--expose-gc', ...(process.env.BENCH_SERVER_ARGS?.split(' ').filter(Boolean) ?? [])];
  const server = spawnChild('publish-one.mjs', ['server', variant], serverArgs, SERVER_CPU, valgrind);
  const { port } = await server.once('listening');
  const client = spawnChild('publish-one.mjs', ['clients', variant], [], CLIENT_CPU);
  try {
    await client.request('setup', { port, users });
    const { users: subscribed } = await server.request('count');
    if (subscribed !== users) throw new Error(`${variant}: ${subscribed} of ${users} users subscribed`);
    await publishAll(server, client, users, counts.fill, SEED);
    // A full collection first: whether a mark-compact (its cost grows with the heap, it runs once
    // in ~100k publishes here) falls in the counted window would otherwise be luck.
    // Then publishes enough for the JIT to settle again (the GC may drop optimised code) before counting.
    await server.request('gc');
    await publishAll(server, client, users, counts.settle, SEED + 3);
    const pid = server.child.pid;
    control(pid, '-i', 'on');
    await publishAll(server, client, users, counts.warm, SEED + 1);
    control(pid, '-z');
    if (process.env.BENCH_VERBOSE) console.log('counting from here');
    await publishAll(server, client, users, counts.count, SEED + 2);
    control(pid, '-d');
    if (process.env.BENCH_VERBOSE) console.log('counted until here');
    const dump = lastDump(outFile);
    const c = dump.totals;
    const gc = gcPart(dump.file, dump.events);
    const per = (x) => x / counts.count;
    return {
      ir: per(c.Ir),
      data: per(c.Dr + c.Dw),
      l1: per(c.D1mr + c.D1mw),
      ll: per(c.DLmr + c.DLmw + c.ILmr),
      gcIr: per(gc.Ir),
      gcLl: per(gc.DLmr + gc.DLmw + gc.ILmr),
    };
  } finally {
    server.child.kill('SIGKILL');
    client.child.kill('SIGKILL');
  }
}

async function main() {
  const users = envList('BENCH_USERS', '100,1000,10000').map(Number);
  const variants = envList('BENCH_VARIANTS', 'wardcast,ws-map');
  const counts = {
    fill: envNumber('BENCH_FILL', 100_000),
    settle: envNumber('BENCH_SETTLE', 20_000),
    warm: envNumber('BENCH_WARM', 2_000),
    count: envNumber('BENCH_COUNT', 10_000),
  };
  const keep = process.env.BENCH_CALLGRIND_DIR;
  const dir = keep ?? mkdtempSync(path.join(os.tmpdir(), 'publish-cost-'));
  mkdirSync(dir, { recursive: true });
  guardRun('publish-cost', 60 * 60_000);
  console.log(
    `publish-cost (callgrind): users ${users.join(', ')}; ${variants.join(' / ')}; history filled by ` +
      `${counts.fill.toLocaleString('en-US')} publishes, ${counts.warm.toLocaleString('en-US')} to warm the caches, ` +
      `${counts.count.toLocaleString('en-US')} counted; L1d 48 KB, LL 2 MB`,
  );
  const results = {};
  for (const n of users) {
    for (const variant of variants) {
      results[`${variant}@${n}`] = await measure(variant, n, dir, counts);
      const r = results[`${variant}@${n}`];
      console.log(
        `  ${String(n).padStart(6)}  ${variant.padEnd(12)}  instructions ${Math.round(r.ir).toLocaleString('en-US').padStart(7)}` +
          `  data refs ${Math.round(r.data).toLocaleString('en-US').padStart(7)}` +
          `  L1d misses ${r.l1.toFixed(0).padStart(5)}  LL misses ${r.ll.toFixed(1).padStart(6)}` +
          `   of which GC: instructions ${Math.round(r.gcIr).toLocaleString('en-US').padStart(7)}` +
          `  LL misses ${r.gcLl.toFixed(1).padStart(6)}   per publish`,
      );
    }
  }
  const lo = Math.min(...users);
  const hi = Math.max(...users);
  if (lo !== hi) {
    for (const variant of variants) {
      const a = results[`${variant}@${lo}`];
      const b = results[`${variant}@${hi}`];
      console.log(
        `growth ${variant} (${hi} users / ${lo} users): instructions ${(b.ir / a.ir).toFixed(2)}x ` +
          `(outside GC ${((b.ir - b.gcIr) / (a.ir - a.gcIr)).toFixed(2)}x), L1d misses ${(b.l1 / a.l1).toFixed(2)}x, ` +
          `LL misses ${(b.ll / a.ll).toFixed(2)}x (outside GC ${((b.ll - b.gcLl) / (a.ll - a.gcLl)).toFixed(2)}x)`,
      );
    }
  }
  if (!keep) rmSync(dir, { recursive: true, force: true });
  killAll();
}

await main().catch((err) => {
  console.error(err);
  killAll();
  process.exit(1);
});
