// The hub's own work per connect, without sockets: `node bench/hub-connect-cost.mjs` (after
// `pnpm build`; needs valgrind). A hub configured as bench/variants.mjs's `wardcast` is driven
// through `hub.open` (the custom-transport entry point) with a socket object that writes nothing:
// each storm opens BENCH_CONNS sessions next to BENCH_IDLE kept open, gives each one protocol 2
// `hello` (token and one topic, the bench clients' frame, as a Buffer as `ws` delivers it)
// answered by `ready`, and then closes them. The hub runs in a child under callgrind
// (instrumentation on after the warm-up storms); each counted storm is one window, after a full
// collection outside it, and V8's compiler and mark-compact work are left out as in
// bench/connect-instructions.mjs. Printed: instructions per connect + close of the hub alone (the
// session, admission, authentication, subscription, `ready`'s encoding, the close, and the V8
// work they cause), median and minimum over the windows. With no socket, `ws` or kernel in the
// window, it repeats to within about 1%, where the socket benchmark moves by several percent
// from window to window: the measure for changes to the hub's connect path. What `ws` and the
// kernel add is in bench/connect-instructions.mjs.
//
// Options (env or CLI `--name=value`): BENCH_CONNS=1000  BENCH_IDLE=100  BENCH_WARMUP=30
//   BENCH_REPS=9  BENCH_HUB_MODULE=<path to another build's dist/index.js>  BENCH_V1=1 (protocol 1: `auth` and `subscribe` instead of `hello`)
//   BENCH_SHIFT=1 (before each window, outside it, allocate a different amount of short-lived garbage,
//     the same sequence for every build: young-generation collections then fall at different points
//     of the storms, where otherwise they recur at the same point, so that the mean over many windows
//     is the expected cost of those collections rather than the cost at one point of the cycle)
//   BENCH_ALLOC=1 (see allocated() below)  BENCH_RECOMPILES=1 (see recompiles() below)  BENCH_NODE_FLAGS, BENCH_VALGRIND_FLAGS (e.g. "--perf-basic-prof" and "--dump-instr=yes" to
//   read one window per function with bench/callgrind-jit.mjs; BENCH_VALGRIND_OUT keeps the dumps)
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readDump } from './callgrind.mjs';
import { answerParent, guardRun, killAll, spawnChild } from './children.mjs';
import { median } from './stats.mjs';

for (const arg of process.argv.slice(2)) {
  const m = /^--([a-z0-9-]+)=(.*)$/.exec(arg);
  if (m) process.env[`BENCH_${m[1].toUpperCase().replaceAll('-', '_')}`] = m[2];
}
const num = (name, fallback) => Number(process.env[name] ?? fallback);
const conns = num('BENCH_CONNS', 1000);
const idle = num('BENCH_IDLE', 100);
const warmup = num('BENCH_WARMUP', 30);
const reps = num('BENCH_REPS', 9);
const v1 = process.env.BENCH_V1 === '1';
const alloc = process.env.BENCH_ALLOC === '1';

if (process.argv[2] === '--hub') await serve();
else if (process.env.BENCH_RECOMPILES === '1') await recompiles();
else if (alloc) await allocated();
else await main();

/**
 * BENCH_RECOMPILES=1: no valgrind; the hub's child runs with `--trace-opt`, and after the warm-up
 * each of BENCH_REPS storms follows a full collection. Printed: how many optimized compilations V8
 * completed during them. A hub whose hidden classes survive a full collection compiles almost
 * nothing once warm; one whose classes are dropped recompiles its connect path after each.
 */
async function recompiles() {
  guardRun('hub recompile count', 600_000);
  const hub = spawnChild(
    'hub-connect-cost.mjs',
    ['--hub'],
    ['--expose-gc', '--trace-opt'],
    undefined,
    undefined,
    'pipe',
  );
  let counting = false;
  let compiled = 0;
  let rest = '';
  hub.child.stdout.setEncoding('utf8').on('data', (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    if (counting) compiled += lines.filter((line) => line.includes('completed')).length;
  });
  await hub.once('ready');
  for (let i = 0; i < warmup; i++) await hub.request('storm');
  await hub.request('gc');
  await hub.request('storm');
  counting = true;
  for (let rep = 0; rep < reps; rep++) {
    await hub.request('gc');
    await hub.request('storm');
  }
  const exited = new Promise((resolve) => hub.child.once('exit', resolve));
  await hub.request('exit').catch(() => {});
  await exited;
  console.log(
    `hub-connect-cost recompiles: ${compiled} optimized compilations in ${reps} storms of ${conns} connects, ` +
      `each after a full collection (protocol ${v1 ? 1 : 2}, ${warmup} warm-up storms)`,
  );
}

/**
 * BENCH_ALLOC=1: no valgrind; the hub's child runs with a 64 MiB young generation, so that no
 * collection falls in a storm, and after the warm-up each of BENCH_REPS storms follows a full
 * collection. Printed: the heap's growth over a storm of connects and closes per connect (what
 * one allocates, garbage included: how often it makes V8 collect), median over the storms.
 */
async function allocated() {
  guardRun('hub allocation count', 600_000);
  const hub = spawnChild(
    'hub-connect-cost.mjs',
    ['--hub'],
    ['--expose-gc', '--max-semi-space-size=64', '--min-semi-space-size=64'],
  );
  await hub.once('ready');
  for (let i = 0; i < warmup; i++) await hub.request('storm');
  const bytes = [];
  for (let rep = 0; rep < reps; rep++) {
    await hub.request('gc');
    const { heapUsed } = await hub.request('storm');
    bytes.push(heapUsed / conns);
  }
  const exited = new Promise((resolve) => hub.child.once('exit', resolve));
  await hub.request('exit').catch(() => {});
  await exited;
  console.log(
    `hub-connect-cost allocation: ${Math.round(median(bytes)).toLocaleString('en-US')} bytes per connect + close ` +
      `(median of ${reps} storms of ${conns}, from ${bytes.map((b) => Math.round(b)).join(' ')}; protocol ${v1 ? 1 : 2})`,
  );
}

async function main() {
  guardRun('hub connect count', 1_800_000);
  const outDir = process.env.BENCH_VALGRIND_OUT ?? '/tmp/wardcast-hub-connect';
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `hub.${process.pid}.out`);
  const valgrindFlags = process.env.BENCH_VALGRIND_FLAGS?.split(' ').filter(Boolean) ?? [];
  const nodeFlags = ['--expose-gc', ...(process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [])];
  const valgrind = ['valgrind', '-q', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${file}`];
  const hub = spawnChild('hub-connect-cost.mjs', ['--hub'], nodeFlags, undefined, [...valgrind, ...valgrindFlags]);
  await hub.once('ready');
  const pid = hub.child.pid;
  const control = (...args) => execFileSync('callgrind_control', [...args, String(pid)], { stdio: 'ignore' });
  for (let i = 0; i < warmup; i++) await hub.request('storm');
  control('-i', 'on');
  await hub.request('storm');
  const work = [];
  const left = [];
  for (let rep = 1; rep <= reps; rep++) {
    if (process.env.BENCH_GC === '1') await hub.request('gc');
    // Up to 16 MiB, the young generation's largest semi-space on 64-bit Node; golden-ratio steps.
    if (process.env.BENCH_SHIFT === '1')
      await hub.request('shift', { bytes: Math.round(((rep * 0.618034) % 1) * 16 * 2 ** 20) });
    control('-z');
    await hub.request('storm');
    control('-d');
    const w = readDump(`${file}.${rep}`);
    work.push((w.total - w.compiler - w.majorGc) / conns);
    left.push((w.compiler + w.majorGc) / conns);
  }
  await hub.request('exit').catch(() => {});
  killAll();
  const k = (x) => Math.round(x).toLocaleString('en-US');
  console.log(
    `hub-connect-cost (callgrind Ir, hub alone, no sockets): protocol ${v1 ? 1 : 2}, ${conns} connects + closes per ` +
      `window next to ${idle} idle sessions, ${warmup} warm-up storms, ${reps} windows`,
  );
  const mean = work.reduce((a, b) => a + b, 0) / work.length;
  console.log(`per connect + close: mean ${k(mean)}, median ${k(median(work))}, min ${k(Math.min(...work))}`);
  console.log(`windows: ${work.map(k).join(' ')}; left out (compiler + mark-compact): ${left.map(k).join(' ')}`);
}

/** The child: a hub, and storms on request. */
async function serve() {
  // BENCH_HUB_MODULE: another build's entry point (e.g. a worktree's packages/server/dist/index.js), for an A/B count.
  const { NotificationHub } = await import(process.env.BENCH_HUB_MODULE ?? '@wardcast/server');
  const { BENCH_HUB_OPTIONS } = await import('./variants.mjs');
  const hub = new NotificationHub({
    authenticate: ({ token }) => (token ? { userId: token } : null),
    ...BENCH_HUB_OPTIONS,
  });
  const topics = [{ topic: 'patient:p1' }];
  const url = v1 ? '/v1/ws/notifications' : '/v1/ws/notifications?protocol=2';
  // The clients' frames, made before anything is counted: 5,000 users, cycled through.
  const users = 5000;
  const frames = Array.from({ length: users }, (_, i) =>
    v1
      ? [
          { type: 'auth', token: `u${i}` },
          { type: 'subscribe', topics },
        ]
      : [{ type: 'hello', token: `u${i}`, topics }],
  ).map((list) => list.map((frame) => Buffer.from(JSON.stringify(frame))));
  const answer = v1 ? '{"type":"subscribed"' : '{"type":"ready"';
  let next = 0;
  let answered = 0;
  const connect = () => {
    const socket = {
      bufferedAmount: 0,
      send(text) {
        if (text.startsWith(answer)) answered++;
      },
      sendEncoded() {},
      close(code, reason) {
        queueMicrotask(() => handlers.closed(code, reason));
      },
      terminate() {
        queueMicrotask(() => handlers.closed(1006, ''));
      },
      ping() {},
    };
    const request = { url, headers: { host: '127.0.0.1' }, remoteAddress: '127.0.0.1' };
    const handlers = hub.open(socket, request);
    for (const frame of frames[next++ % users]) handlers.message(frame, false);
    return handlers;
  };
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  for (let i = 0; i < idle; i++) connect();
  answerParent({
    async storm() {
      // Read only for BENCH_ALLOC=1: a callgrind window counts no heap reading.
      const heapBefore = alloc ? process.memoryUsage().heapUsed : 0;
      const before = answered;
      const open = [];
      for (let i = 0; i < conns; i++) open.push(connect());
      await turn();
      if (answered - before !== conns) throw new Error(`${answered - before} of ${conns} answered`);
      for (const h of open) h.closed(1000, '');
      await turn();
      const { subscriptions } = hub.stats();
      if (subscriptions !== idle)
        throw new Error(`expected ${idle} subscriptions after the storm, got ${subscriptions}`);
      return { heapUsed: alloc ? process.memoryUsage().heapUsed - heapBefore : 0 };
    },
    gc() {
      for (let i = 0; i < 3; i++) globalThis.gc();
      return {};
    },
    /** About `bytes` of garbage (arrays of 126 slots, 1 KiB each), none of it kept. */
    shift({ bytes }) {
      let kept;
      for (let i = 0; i < bytes / 1024; i++) kept = new Array(126);
      return { made: kept === undefined ? 0 : bytes };
    },
    async exit() {
      await hub.close();
      setImmediate(() => process.exit(0));
      return {};
    },
  });
  process.send({ event: 'ready' });
}
