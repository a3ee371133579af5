// Server child: `node server.mjs <variant>`. Listens on 127.0.0.1, then obeys the orchestrator:
//   count              -> { subscribers }
//   run {run, messages, intervalMs, burst} -> publishes on schedule, replies when all are published
//   stop               -> { cpuUs, blockMs, blockCpuMs } for the phase since `run`
//   memory             -> { rss, heapUsed } after a full GC (run with --expose-gc)
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchId, makePayload, now } from './payload.mjs';
import { createVariant } from './variants.mjs';

const name = process.argv[2];
const http = createServer((_req, res) => res.writeHead(404).end());
const variant = createVariant(name, http);
let phase;

async function run({ run, messages, intervalMs, burst }) {
  phase = { cpu: process.cpuUsage(), blocks: [], blockCpus: [], firstTs: 0, lastTs: 0 };
  const start = now();
  for (let i = 0, tick = 0; i < messages; tick++) {
    const wait = start + tick * intervalMs - now();
    if (wait > 0) await sleep(wait);
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

function stop() {
  const cpu = process.cpuUsage(phase.cpu);
  const blocks = phase.blocks.sort((a, b) => a - b);
  const blockCpus = phase.blockCpus.sort((a, b) => a - b);
  return {
    cpuUs: cpu.user + cpu.system,
    blockMs: { median: blocks[blocks.length >> 1], max: blocks.at(-1) },
    blockCpuMs: { median: blockCpus[blockCpus.length >> 1], max: blockCpus.at(-1) },
  };
}

function memory() {
  for (let i = 0; i < 3; i++) globalThis.gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

const handlers = {
  count: () => ({ subscribers: variant.subscribers() }),
  memory,
  run,
  stop,
  exit: () => setImmediate(() => process.exit(0)),
};

process.on('message', async (msg) => {
  try {
    process.send({ id: msg.id, ok: true, ...(await handlers[msg.type](msg)) });
  } catch (err) {
    process.send({ id: msg.id, ok: false, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));

http.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
  process.send({ event: 'listening', port: http.address().port });
});
