// The hub over Server-Sent Events vs over WebSocket: `node bench/sse.mjs` (after `pnpm build`).
// One server (a NotificationHub serving both transports: `hub.attach` for upgrades and
// `createSseNodeHandler` for the streams, everything else identical) and one client process, in
// separate children pinned to CPUs 0 and 1 when taskset exists. For each rep, both transports in
// turn (order alternated per rep), each on a fresh server:
//   - memory: N/2 idle authenticated connections with one subscription, then N/2 more; the heap
//     and RSS growth over the second half, after a full GC, divided by N/2;
//   - fan-out: BENCH_BURSTS bursts of BENCH_BURST messages published back to back to the N
//     subscribers; server CPU (user + system) from the first publish until the client received
//     every delivery, divided by the deliveries.
// The summary shows medians over the reps and SSE / WebSocket ratios computed within the run.
//
// The SSE client is minimal (node:http, one connection per stream, frames POSTed without
// keep-alive), as the bench's WebSocket client is (`ws`): the server side is what is measured.
//
// Options, as env or CLI (`node bench/sse.mjs --subs=2000 --reps=3`):
//   BENCH_SUBS=2000  BENCH_REPS=3  BENCH_BURST=20 (messages per burst)  BENCH_BURSTS=3 (per rep)
import { request as httpRequest } from 'node:http';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { answerParent, canPin, guardRun, spawnChild } from './children.mjs';
import { benchId, KIND, makePayload, PRIORITY, parseBenchId, TOPIC } from './payload.mjs';
import { median } from './stats.mjs';

const SERVER_CPU = 0;
const CLIENT_CPU = 1;
const CONCURRENCY = 100;
const WATCHDOG_MS = 175_000;
const LONG = 600_000; // heartbeats far outside the measured phases
const TRANSPORTS = ['sse', 'ws'];
let runs = 0;

const role = process.argv[2];
if (role === '--server') await serve();
else if (role === '--client') clientChild();
else await main();

// ---- server child ----------------------------------------------------------------------------

async function serve() {
  const { createServer } = await import('node:http');
  const { NotificationHub, createSseNodeHandler } = await import('@wardcast/server');
  const hub = new NotificationHub({
    authenticate: ({ token }) => (token ? { userId: token } : null),
    authorize: () => true,
    heartbeatIntervalMs: LONG,
    authTimeoutMs: LONG,
    // Every bench client connects from 127.0.0.1: lift the per-address admission limits.
    maxUpgradesPerSecondPerAddress: 1_000_000,
    maxUnauthenticatedPerAddress: 1_000_000,
  });
  const sse = createSseNodeHandler(hub);
  const http = createServer((req, res) => {
    if (!sse(req, res)) res.writeHead(404).end();
  });
  hub.attach(http);
  let cpu;
  answerParent({
    count: () => ({ subscribers: hub.stats().subscriptions }),
    memory: () => {
      for (let i = 0; i < 4; i++) globalThis.gc?.();
      const { rss, heapUsed } = process.memoryUsage();
      return { rss, heapUsed };
    },
    burst: async ({ run, messages }) => {
      cpu = process.cpuUsage();
      for (let i = 0; i < messages; i++) {
        await hub.publish(TOPIC, { id: benchId(run, i, 0), kind: KIND, priority: PRIORITY, payload: makePayload() });
      }
      return {};
    },
    cpu: () => {
      const used = process.cpuUsage(cpu);
      return { cpuUs: used.user + used.system };
    },
  });
  http.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
    process.send({ event: 'listening', port: http.address().port });
  });
}

// ---- client child ----------------------------------------------------------------------------

function clientChild() {
  const held = [];
  let armed; // { run, expected, n }
  const onFrame = (text) => {
    if (!text.includes('"notification"')) return undefined;
    const frame = JSON.parse(text);
    if (frame.type !== 'notification') return undefined;
    const bench = parseBenchId(frame.id);
    if (armed && bench?.run === armed.run && ++armed.n === armed.expected) process.send({ event: 'done' });
    return frame;
  };
  /** Connects one client over `transport`; resolves once subscribed. */
  const connectOne = async (transport, port, userId) => {
    if (transport === 'ws') {
      const { default: WebSocket } = await import('ws');
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws/notifications`, { perMessageDeflate: false });
        ws.on('open', () => {
          ws.send(JSON.stringify({ type: 'auth', token: userId }));
          ws.send(JSON.stringify({ type: 'subscribe', topics: [{ topic: TOPIC }] }));
        });
        ws.on('message', (data) => {
          const text = data.toString();
          if (text.includes('"subscribed"')) resolve(ws);
          else onFrame(text);
        });
        ws.on('error', reject);
      });
    }
    return new Promise((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        path: '/v1/sse/notifications',
        headers: { accept: 'text/event-stream' },
        agent: false,
      });
      req.on('error', reject);
      req.on('response', (res) => {
        if (res.statusCode !== 200) reject(new Error(`stream answered ${res.statusCode}`));
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk) => {
          buffer += chunk;
          let end = buffer.indexOf('\n\n');
          while (end !== -1) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            end = buffer.indexOf('\n\n');
            if (event.startsWith('event: open\n')) {
              const { id, key } = JSON.parse(event.slice(event.indexOf('data: ') + 6));
              const body = `${JSON.stringify({ type: 'auth', token: userId })}\n${JSON.stringify({ type: 'subscribe', topics: [{ topic: TOPIC }] })}`;
              const post = httpRequest({
                host: '127.0.0.1',
                port,
                method: 'POST',
                path: `/v1/sse/notifications/${id}`,
                headers: { 'content-type': 'text/plain', 'x-wardcast-key': key },
                agent: false,
              });
              post.on('error', reject);
              post.on('response', (r) => {
                r.resume();
                if (r.statusCode !== 204) reject(new Error(`POST answered ${r.statusCode}`));
              });
              post.end(body);
            } else if (event.startsWith('data: ')) {
              const text = event.slice(6);
              if (text.includes('"subscribed"')) resolve(res);
              else onFrame(text);
            }
          }
        });
      });
      req.end();
    });
  };
  answerParent({
    setup: async ({ transport, port, conns, offset }) => {
      let next = offset;
      const worker = async () => {
        while (next < offset + conns) held.push(await connectOne(transport, port, `u${next++}`));
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      return { held: held.length };
    },
    arm: ({ run, expected }) => {
      armed = { run, expected, n: 0 };
      return {};
    },
    received: () => ({ n: armed?.n ?? 0 }),
  });
}

// ---- orchestrator ----------------------------------------------------------------------------

async function waitForSubscribers(server, expected) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { subscribers } = await server.request('count');
    if (subscribers === expected) return;
    if (Date.now() > deadline) throw new Error(`${subscribers}/${expected} subscribers`);
    await sleep(10);
  }
}

/** One transport on a fresh server: idle memory per connection, then server CPU per delivery. */
async function measure(transport, subs, burst, bursts) {
  const server = spawnChild('sse.mjs', ['--server'], ['--expose-gc'], SERVER_CPU);
  const { port } = await server.once('listening');
  const client = spawnChild('sse.mjs', ['--client'], [], CLIENT_CPU);
  try {
    const half = subs / 2;
    await client.request('setup', { transport, port, conns: half, offset: 0 });
    await waitForSubscribers(server, half);
    await sleep(200);
    const before = await server.request('memory');
    await client.request('setup', { transport, port, conns: half, offset: half });
    await waitForSubscribers(server, subs);
    await sleep(200);
    const after = await server.request('memory');
    const cpu = [];
    // One burst to warm up (JIT), then the measured ones.
    for (let b = 0; b <= bursts; b++) {
      const run = ++runs;
      const expected = subs * burst;
      await client.request('arm', { run, expected });
      const done = client.once('done');
      await server.request('burst', { run, messages: burst });
      const timeout = sleep(20_000).then(() => 'timeout');
      if ((await Promise.race([done, timeout])) === 'timeout') {
        const { n } = await client.request('received');
        throw new Error(`${transport}: ${n}/${expected} deliveries within 20 s`);
      }
      const { cpuUs } = await server.request('cpu');
      if (b > 0) cpu.push(cpuUs / expected);
    }
    return {
      heapKiB: (after.heapUsed - before.heapUsed) / half / 1024,
      rssKiB: (after.rss - before.rss) / half / 1024,
      cpuUs: median(cpu),
    };
  } finally {
    server.child.kill('SIGKILL');
    client.child.kill('SIGKILL');
  }
}

async function main() {
  for (const arg of process.argv.slice(2)) {
    const m = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!m) throw new Error(`unknown argument ${arg} (expected --name=value)`);
    process.env[`BENCH_${m[1].toUpperCase().replaceAll('-', '_')}`] = m[2];
  }
  const subs = Number(process.env.BENCH_SUBS ?? 2000);
  const reps = Number(process.env.BENCH_REPS ?? 3);
  const burst = Number(process.env.BENCH_BURST ?? 20);
  const bursts = Number(process.env.BENCH_BURSTS ?? 3);
  guardRun('benchmark', WATCHDOG_MS);
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' / ');
  const command = `node bench/sse.mjs --subs=${subs} --reps=${reps} --burst=${burst} --bursts=${bursts}`;
  console.log(`${command}\nNode ${process.version}, ${os.cpus().length} CPUs, pinned: ${canPin ? 'yes' : 'no'}`);
  console.log(`load average before: ${load()}`);
  const results = { sse: [], ws: [] };
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 2 === 0 ? TRANSPORTS : [...TRANSPORTS].reverse();
    for (const transport of order) {
      const r = await measure(transport, subs, burst, bursts);
      results[transport].push(r);
      console.log(
        `rep ${rep + 1} ${transport.padEnd(3)}: heap ${r.heapKiB.toFixed(2)} KiB/conn, RSS ${r.rssKiB.toFixed(2)} KiB/conn, server CPU ${r.cpuUs.toFixed(3)} µs/delivery`,
      );
    }
  }
  const med = (transport, field) => median(results[transport].map((r) => r[field]));
  const row = (label, field, digits) => {
    const sse = med('sse', field);
    const ws = med('ws', field);
    return `| ${label} | ${ws.toFixed(digits)} | ${sse.toFixed(digits)} | ${(sse / ws).toFixed(2)}x |`;
  };
  console.log(`\n${subs} subscribers, bursts of ${burst}, medians of ${reps} reps:\n`);
  console.log('| per connection / delivery | WebSocket | SSE | SSE / WebSocket |\n|---|---:|---:|---:|');
  console.log(row('heap KiB per idle connection', 'heapKiB', 2));
  console.log(row('RSS KiB per idle connection', 'rssKiB', 2));
  console.log(row('server CPU µs per delivery (burst)', 'cpuUs', 3));
  console.log(`\nload average after: ${load()}`);
  process.exit(0);
}
