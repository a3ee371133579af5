// Server child: `node server.mjs <variant>`. Listens on 127.0.0.1, then obeys the orchestrator:
//   count              -> { subscribers }
//   run {run, messages, intervalMs, burst} -> publishes on schedule, replies when all are published
//   stop               -> { cpuUs, userUs, blockMs, blockCpuMs, gc, late } for the phase since `run` (gc:
//                         pauses by kind, { minor: { n, ms }, ... }; late: ticks published without
//                         waiting, in the same event-loop turn as the one before, being behind schedule)
//   publish {run, i}   -> publishes message `i` of run `run` now; replies once it is published
//   noop               -> {} (an IPC round trip and nothing else)
//   memory             -> { rss, heapUsed } after a full GC (run with --expose-gc)
//   cpu                -> { cpuUs, reads, writes }: the process's user+system CPU time so far, µs, and
//                         its read/write system calls so far (Linux)
//   until {subscribers} -> resolves once the variant counts that many subscribers (checked every 10 ms)
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { answerParent } from './children.mjs';
import { benchId, makePayload, now } from './payload.mjs';
import { createVariant } from './variants.mjs';

const name = process.argv[2];
const http = createServer((_req, res) => res.writeHead(404).end());
// wardcast-base: the NotificationHub of another build (BENCH_BASE_SERVER=<its dist/index.js>).
const base = process.env.BENCH_BASE_SERVER;
const Hub = name === 'wardcast-base' && base ? (await import(pathToFileURL(base).href)).NotificationHub : undefined;
const variant = createVariant(name, http, Hub);
let phase;

/** Garbage-collection pauses during the phase, by kind (minor, major, ...): observed for BENCH_TRACE=1 only. */
const gcKinds = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
const gcObserver = new PerformanceObserver((list) => {
  if (!phase) return;
  for (const e of list.getEntries()) {
    const kind = gcKinds[e.detail?.kind] ?? 'other';
    phase.gc[kind] ??= { n: 0, ms: 0 };
    phase.gc[kind].n++;
    phase.gc[kind].ms += e.duration;
  }
});
if (process.env.BENCH_TRACE === '1') gcObserver.observe({ entryTypes: ['gc'] });

async function run({ run, messages, intervalMs, burst }) {
  phase = { cpu: process.cpuUsage(), blocks: [], blockCpus: [], firstTs: 0, lastTs: 0, gc: {}, late: 0 };
  const start = now();
  for (let i = 0, tick = 0; i < messages; tick++) {
    const wait = start + tick * intervalMs - now();
    if (wait > 0) await sleep(wait);
    else if (tick > 0) phase.late++; // behind schedule: published in the turn of the one before
    for (let b = 0; b < burst && i < messages; b++, i++) {
      const cpu = process.cpuUsage();
      const ts = now();
      if (i === 0) phase.firstTs = ts;
      // For wardcast this awaits the publish promise: it settles in the same macrotask, after the
      // synchronous fan-out, so the elapsed time is how long the event loop was blocked.
      await variant.publish(makePayload(), benchId(run, i, ts));
      phase.blocks.push(now() - ts);
      const used = process.cpuUsage(cpu);
      phase.blockCpus.push((used.user + used.system) / 1000);
    }
  }
  phase.lastTs = now();
  return { firstTs: phase.firstTs, publishSpanMs: phase.lastTs - phase.firstTs };
}

/** One message, published at once (instructions.mjs paces them itself). */
async function publish({ run, i }) {
  await variant.publish(makePayload(), benchId(run, i, now()));
  return {};
}

function stop() {
  const cpu = process.cpuUsage(phase.cpu);
  const blocks = phase.blocks.sort((a, b) => a - b);
  const blockCpus = phase.blockCpus.sort((a, b) => a - b);
  return {
    cpuUs: cpu.user + cpu.system,
    userUs: cpu.user,
    blockMs: { median: blocks[blocks.length >> 1], max: blocks.at(-1) },
    blockCpuMs: { median: blockCpus[blockCpus.length >> 1], max: blockCpus.at(-1) },
    gc: phase.gc,
    late: phase.late,
  };
}

function memory() {
  for (let i = 0; i < 3; i++) globalThis.gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

/** Read and write system calls so far (`syscr`/`syscw` of /proc/self/io), where Linux has them. */
function syscalls() {
  try {
    const io = readFileSync('/proc/self/io', 'utf8');
    return { reads: Number(/syscr: (\d+)/.exec(io)?.[1]), writes: Number(/syscw: (\d+)/.exec(io)?.[1]) };
  } catch {
    return {};
  }
}

/** Waits, in this process (no IPC per check), until the variant counts `subscribers`; 15 s at most. */
async function until({ subscribers }) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const now = variant.subscribers();
    if (now === subscribers) return { subscribers: now };
    if (Date.now() > deadline) throw new Error(`${name}: ${now}/${subscribers} subscribers`);
    await sleep(10);
  }
}

const handlers = {
  count: () => ({ subscribers: variant.subscribers() }),
  cpu: () => {
    const { user, system } = process.cpuUsage();
    return { cpuUs: user + system, ...syscalls() };
  },
  until,
  memory,
  run,
  publish,
  noop: () => ({}),
  stop,
  exit: () => setImmediate(() => process.exit(0)),
};

answerParent(handlers);

http.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
  process.send({ event: 'listening', port: http.address().port });
});
