// Connect storms: `node bench/storm.mjs`. Server children pinned to CPU 0, client children to CPU 1
// (when taskset exists), 127.0.0.1 only, everything killed at the end.
//
// 1. Connect rate: for each variant (alternated, BENCH_REPS reps), two client processes open and
//    subscribe BENCH_CONNS new connections at once (100 in flight each) next to BENCH_SUBS idle ones,
//    then drop them. For wardcast that is upgrade + `hello` (token and topic) + `ready` (protocol 2;
//    `wardcast-v1`: `auth` + `subscribe`); for ws-frame-once an upgrade and one frame each way. Ratio against ws-frame-once.
// 2. Reconnect storm: BENCH_RESUME wardcast clients subscribed to one topic, each remembering its
//    stream position; the network is cut (the server destroys every TCP socket), BENCH_MISSED
//    notifications are published meanwhile, then every client reconnects at once (BENCH_INFLIGHT
//    connection attempts in flight per client process) and subscribes with `since` (protocol 2: one
//    `hello`): it is caught up once it has the `ready` reply (`recovered: true`) and every missed
//    notification. Reports
//    the time from the first reconnect to the last client caught up, and percentiles per client.
//
// Options (env or CLI `--name=value`): BENCH_REPS=3 BENCH_CONNS=1000 BENCH_SUBS=1000
//   BENCH_RESUME=5000 BENCH_MISSED=5 BENCH_INFLIGHT=1000 BENCH_PHASES=rate,resume
//   BENCH_RESUME_VARIANT=wardcast-base with BENCH_BASE_SERVER=<another build's dist/index.js>: the
//   reconnect storm against that build's hub (A/B)
//   BENCH_SERVER_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"
import os from 'node:os';
import { answerParent, killAll, spawnChild } from './children.mjs';
import { median } from './stats.mjs';

const SERVER_CPU = 0;
const CLIENT_CPU = 1;
const CLIENTS = 2;

// ---- server child -----------------------------------------------------------------------------

async function serve(name) {
  const { createServer } = await import('node:http');
  const { createVariant } = await import('./variants.mjs');
  const { makePayload, benchId } = await import('./payload.mjs');
  const http = createServer((_req, res) => res.writeHead(404).end());
  const sockets = new Set();
  http.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // wardcast-base: the hub of another build (BENCH_BASE_SERVER=<its dist/index.js>), for an A/B run.
  const base = process.env.BENCH_BASE_SERVER;
  const { pathToFileURL } = await import('node:url');
  const Hub = name === 'wardcast-base' && base ? (await import(pathToFileURL(base).href)).NotificationHub : undefined;
  const variant = createVariant(name, http, Hub);
  let published = 0;
  const handlers = {
    count: () => ({ subscribers: variant.subscribers() }),
    publish: async ({ messages }) => {
      let last;
      for (let i = 0; i < messages; i++) last = await variant.publish(makePayload(), benchId(0, published++, 0));
      return { epoch: last?.epoch, seq: last?.seq };
    },
    /** A network cut: every TCP socket destroyed at once, no closing handshake. */
    cut: () => {
      const n = sockets.size;
      for (const s of sockets) s.destroy();
      return { cut: n };
    },
  };
  answerParent(handlers);
  http.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
    process.send({ event: 'listening', port: http.address().port });
  });
}

// ---- client child (resuming clients) ----------------------------------------------------------

async function client() {
  const { default: WebSocket } = await import('ws');
  const { TOPIC } = await import('./payload.mjs');
  // Protocol 2, as @wardcast/client connects: one `hello` (token, topic, resume point), one `ready`.
  const url = (port) => `ws://127.0.0.1:${port}/v1/ws/notifications?protocol=2`;
  /** One resuming client: its user, last position, open socket. */
  const clients = [];

  /** Opens (or reopens) `c`'s connection; resolves when it is caught up to `until` (a seq), or subscribed. */
  function open(c, port, until) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url(port), { perMessageDeflate: false });
      c.ws = ws;
      let subscribed = false;
      const done = () => {
        if (subscribed && (until === undefined || (c.position && c.position.seq >= until))) resolve(performance.now());
      };
      ws.on('open', () => {
        const since = c.position ? { since: c.position } : {};
        ws.send(JSON.stringify({ type: 'hello', token: c.user, topics: [{ topic: TOPIC, ...since }] }));
      });
      ws.on('message', (data) => {
        const f = JSON.parse(data.toString());
        if (f.type === 'notification') {
          c.position = { epoch: f.epoch, seq: f.seq };
          c.received++;
          done();
        } else if (f.type === 'ready') {
          const r = f.topics[0];
          if (r?.status !== 'ok') return reject(new Error(`subscribe: ${JSON.stringify(f)}`));
          if (c.position && !r.recovered) c.unrecovered++;
          if (!c.position || r.position.epoch !== c.position.epoch || r.position.seq > c.position.seq) {
            c.position = r.position;
          }
          subscribed = true;
          done();
        } else if (f.type === 'error') reject(new Error(`error frame: ${JSON.stringify(f)}`));
      });
      ws.on('error', reject);
      ws.on('close', () => {
        c.closed = true;
      });
    });
  }

  async function pool(items, inflight, fn) {
    let next = 0;
    const worker = async () => {
      while (next < items.length) await fn(items[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(inflight, items.length) }, worker));
  }

  const handlers = {
    connect: async ({ port, n, tag }) => {
      for (let i = 0; i < n; i++) clients.push({ user: `${tag}-${i}`, received: 0, unrecovered: 0 });
      await pool(clients, 100, (c) => open(c, port));
      return { connected: clients.length };
    },
    positions: () => {
      const seqs = clients.map((c) => c.position?.seq ?? -1);
      return { min: Math.min(...seqs), max: Math.max(...seqs) };
    },
    closed: () => ({ closed: clients.filter((c) => c.closed).length }),
    reconnect: async ({ port, until, inflight }) => {
      for (const c of clients) {
        c.closed = false;
        c.unrecovered = 0;
      }
      const start = performance.now();
      const times = [];
      await pool(clients, inflight, async (c) => {
        times.push((await open(c, port, until)) - start);
      });
      times.sort((a, b) => a - b);
      return {
        ms: performance.now() - start,
        p50: times[times.length >> 1],
        p99: times[Math.floor(times.length * 0.99)],
        unrecovered: clients.reduce((n, c) => n + c.unrecovered, 0),
        caughtUp: clients.filter((c) => c.position?.seq >= until).length,
      };
    },
  };
  answerParent(handlers);
}

// ---- orchestrator ---------------------------------------------------------------------------

async function waitUntil(probe, what, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function startServer(variant) {
  const args = process.env.BENCH_SERVER_ARGS?.split(' ').filter(Boolean) ?? [];
  const ctl = spawnChild('storm.mjs', ['--server', variant], args, SERVER_CPU);
  return ctl.once('listening').then(({ port }) => ({ variant, port, ctl }));
}

/** Lets a server exit by itself (so that `--cpu-prof` writes its profile); killed after 5 s. */
function stopServer(server) {
  const { child } = server.ctl;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.disconnect();
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  return exited.finally(() => clearTimeout(timer));
}

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');

async function rate(env) {
  const variants = ['wardcast', 'ws-frame-once'];
  const servers = await Promise.all(variants.map(startServer));
  const clients = Array.from({ length: CLIENTS }, () => spawnChild('clients.mjs', [], [], CLIENT_CPU));
  const per = env.subs / CLIENTS;
  for (const s of servers) {
    const target = [{ variant: s.variant, port: s.port }];
    await Promise.all(clients.map((c, k) => c.request('setup', { servers: target, conns: per, tag: `idle${k}` })));
  }
  const results = new Map(variants.map((v) => [v, []]));
  let run = 0;
  for (let rep = 0; rep < env.reps + 1; rep++) {
    for (let k = 0; k < servers.length; k++) {
      const s = servers[(k + rep) % servers.length];
      run++;
      const conns = env.conns / CLIENTS;
      const times = await Promise.all(
        clients.map((c, i) => c.request('storm', { variant: s.variant, port: s.port, conns, tag: `s${run}-${i}` })),
      );
      // Rep 0 warms the JIT of both sides and is not counted.
      if (rep > 0) results.get(s.variant).push((env.conns / Math.max(...times.map((t) => t.ms))) * 1000);
    }
  }
  await Promise.all(servers.map(stopServer));
  for (const c of clients) c.child.kill('SIGKILL');
  const base = median(...results.get('ws-frame-once'));
  console.log(`\n### Connect rate: ${env.conns} new connections next to ${env.subs} idle, ${env.reps} reps`);
  console.log('| variant | connects/s (median) | runs | ratio |\n|---|---:|---|---:|');
  for (const v of variants) {
    const rs = results.get(v);
    const m = median(...rs);
    console.log(`| ${v} | ${m.toFixed(0)} | ${rs.map((r) => r.toFixed(0)).join(', ')} | ${(m / base).toFixed(2)}x |`);
  }
}

async function resume(env) {
  const server = await startServer(env.resumeVariant);
  const clients = Array.from({ length: CLIENTS }, () => spawnChild('storm.mjs', ['--client'], [], CLIENT_CPU));
  const per = env.resume / CLIENTS;
  const { port } = server;
  await Promise.all(clients.map((c, k) => c.request('connect', { port, n: per, tag: `r${k}` })));
  await waitUntil(async () => (await server.ctl.request('count')).subscribers === env.resume, 'subscribers');
  // Everyone has a position in the stream.
  const first = await server.ctl.request('publish', { messages: 1 });
  await waitUntil(
    async () => (await Promise.all(clients.map((c) => c.request('positions')))).every((p) => p.min === first.seq),
    'first notification',
  );
  const { cut } = await server.ctl.request('cut');
  await waitUntil(
    async () => (await Promise.all(clients.map((c) => c.request('closed')))).every((r) => r.closed === per),
    'clients to see the cut',
  );
  await waitUntil(async () => (await server.ctl.request('count')).subscribers === 0, 'sessions to close');
  const last = await server.ctl.request('publish', { messages: env.missed });
  const rs = await Promise.all(
    clients.map((c) => c.request('reconnect', { port, until: last.seq, inflight: env.inflight })),
  );
  await stopServer(server);
  for (const c of clients) c.child.kill('SIGKILL');
  const caughtUp = rs.reduce((n, r) => n + r.caughtUp, 0);
  const unrecovered = rs.reduce((n, r) => n + r.unrecovered, 0);
  console.log(
    `\n### Reconnect storm (${env.resumeVariant}): ${env.resume} resuming clients (${cut} sockets cut), ${env.missed} missed notifications each, ${env.inflight} attempts in flight per client process`,
  );
  console.log(
    '| all caught up | p50 per client | p99 per client | caught up | not recovered |\n|---:|---:|---:|---:|---:|',
  );
  console.log(
    `| ${(Math.max(...rs.map((r) => r.ms)) / 1000).toFixed(2)} s | ${Math.max(...rs.map((r) => r.p50)).toFixed(0)} ms | ${Math.max(...rs.map((r) => r.p99)).toFixed(0)} ms | ${caughtUp}/${env.resume} | ${unrecovered} |`,
  );
}

async function main() {
  for (const arg of process.argv.slice(2)) {
    const m = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!m) throw new Error(`unknown argument ${arg} (expected --name=value)`);
    process.env[`BENCH_${m[1].toUpperCase().replaceAll('-', '_')}`] = m[2];
  }
  const num = (name, fallback) => Number(process.env[name] ?? fallback);
  const env = {
    reps: num('BENCH_REPS', 3),
    conns: num('BENCH_CONNS', 1000),
    subs: num('BENCH_SUBS', 1000),
    resume: num('BENCH_RESUME', 5000),
    missed: num('BENCH_MISSED', 5),
    inflight: num('BENCH_INFLIGHT', 1000),
    resumeVariant: process.env.BENCH_RESUME_VARIANT ?? 'wardcast',
  };
  const phases = (process.env.BENCH_PHASES ?? 'rate,resume').split(',');
  process.on('exit', killAll);
  const watchdog = setTimeout(() => {
    console.error('FAIL: storm benchmark still running after 240 s');
    process.exit(2);
  }, 240_000);
  watchdog.unref();
  console.log(`Node ${process.version}, ${os.cpus().length} CPUs; load average at start: ${load()}`);
  if (phases.includes('rate')) await rate(env);
  if (phases.includes('resume')) await resume(env);
  console.log(`\nload average at end: ${load()}`);
  process.exit(0);
}

const role = process.argv[2];
if (role === '--server') await serve(process.argv[3]);
else if (role === '--client') await client();
else await main();
