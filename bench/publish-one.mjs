// Publish-to-one-user benchmark (issue 12, target 4): N users with one connection each, each
// subscribed to its own `user:<id>` topic; the server publishes to random users (the same seeded
// sequence for every variant). Variants:
//   wardcast  `hub.publish('user:<id>', ...)` through the whole hub (validation, history, fan-out)
//   ws-map    a bare `ws` server: a Map userId -> socket, `ws.send(JSON.stringify(envelope))`
// Each variant has its own server child (pinned to CPU 0 when taskset exists) and its own client
// child (CPU 1) holding the N connections. Every rep runs the variants in turn, rotated each rep
// (A B C, B C A, ...): the server publishes BENCH_PUBLISHES notifications as fast as it can
// (yielding to I/O every BENCH_BATCH), then the orchestrator waits until the clients received
// every one of them. Printed per user count: medians over the reps of publishes/s (server side: publishes
// over the time to publish and flush them; end to end: up to the client's last receive), server
// CPU µs per publish (and the kernel's part of it: system time, the TCP sends and, on loopback,
// the receiving side's protocol work; and minor page faults per publish, the heap's growth) and publishes per CPU-second (what the rate would be with
// the core to itself: the honest figure on a shared machine), the ratios wardcast / ws-map of both computed within
// each rep, and the flatness of each variant (at the largest user count / at the smallest), also
// per CPU-second and per user-space CPU-second: the kernel's part grows with the number of sockets
// for every variant alike, the user-space part is what the server's own code does.
//
//   node bench/publish-one.mjs            (build first: pnpm --filter @wardcast/server build)
//   BENCH_USERS=100,1000,10000 BENCH_REPS=3 BENCH_PUBLISHES=50000 BENCH_BATCH=64
//   BENCH_SERVER_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"   (passed to the server children)
//   BENCH_VARIANTS=wardcast,ws-map   BENCH_HEAP_SNAPSHOT=<dir> (server heap snapshots at the end)
//   BENCH_WARDCAST_ALT=/path/to/other/build/dist/index.js   adds variant `wardcast-alt`: the hub
//     from another build (e.g. before a change), alternated with the others in the same run
// Only 127.0.0.1; every child is killed at the end.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import os from 'node:os';
import { setImmediate as turn } from 'node:timers/promises';
import { writeHeapSnapshot } from 'node:v8';
import { NotificationHub } from '@wardcast/server';
import WebSocket, { WebSocketServer } from 'ws';
import { allExited, answerParent, canPin, killAll, spawnChild } from './children.mjs';
import { KIND, makePayload, now, PRIORITY } from './payload.mjs';
import { median } from './stats.mjs';

const SERVER_CPU = 0;
const CLIENT_CPU = 1;
const CONNECT_CONCURRENCY = 100;
const DRAIN_TIMEOUT_MS = 20_000;
const WATCHDOG_MS = 280_000;
const LONG = 600_000;
const OPEN = 1;
const VARIANTS = ['wardcast', 'ws-map', ...(process.env.BENCH_WARDCAST_ALT ? ['wardcast-alt'] : [])];
const BASELINE = 'ws-map';

const loadAverage = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const envList = (name) =>
  process.env[name]
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The user ids publishes go to: a seeded sequence, identical for every variant and rep. */
function* randomUsers(users, count, seed) {
  let x = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    // xorshift32
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    yield `u${x % users}`;
  }
}

// ---- server child: `node publish-one.mjs server <variant>` ----------------------------------

async function serverChild(variant) {
  const http = createServer((_req, res) => res.writeHead(404).end());
  const server =
    variant === 'ws-map'
      ? wsMapServer(http)
      : await wardcastServer(http, variant === 'wardcast-alt' ? process.env.BENCH_WARDCAST_ALT : undefined);
  const handlers = {
    count: () => ({ users: server.users() }),
    /** A full collection now (with `--expose-gc`; publish-cost.mjs starts counting after one). */
    gc() {
      globalThis.gc?.();
      return {};
    },
    async run({ users, publishes, batch, seed }) {
      const targets = [...randomUsers(users, publishes, seed)];
      const cpu = process.cpuUsage();
      const faults = process.resourceUsage().minorPageFault;
      const start = now();
      for (let i = 0; i < publishes; ) {
        const end = Math.min(publishes, i + batch);
        for (; i < end; i++) await server.publish(targets[i], makePayload());
        // Let I/O (and any write coalescing) run between batches, as between request handlers.
        await turn();
      }
      const spanMs = now() - start;
      const used = process.cpuUsage(cpu);
      // Minor page faults: the kernel's work of giving the heap fresh pages as it grows (system time).
      const faulted = process.resourceUsage().minorPageFault - faults;
      return { firstTs: start, spanMs, cpuUs: used.user + used.system, sysUs: used.system, faults: faulted };
    },
    exit() {
      // BENCH_HEAP_SNAPSHOT=<dir>: what the server retains after the runs (open in DevTools).
      const dir = process.env.BENCH_HEAP_SNAPSHOT;
      if (dir) writeHeapSnapshot(`${dir}/publish-one-${variant}-${process.pid}.heapsnapshot`);
      setImmediate(() => process.exit(0));
    },
  };
  answerParent(handlers);
  http.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
    process.send({ event: 'listening', port: http.address().port });
  });
}

async function wardcastServer(http, modulePath) {
  const Hub = modulePath ? (await import(modulePath)).NotificationHub : NotificationHub;
  const hub = new Hub({
    // The token is the user id; the default `authorize` lets a user subscribe to `user:<id>` only.
    authenticate: ({ token }) => (token ? { userId: token } : null),
    heartbeatIntervalMs: LONG,
    authTimeoutMs: LONG,
    maxUpgradesPerSecondPerAddress: 1_000_000,
    maxUnauthenticatedPerAddress: 1_000_000,
  });
  hub.attach(http);
  return {
    users: () => hub.stats().subscriptions,
    publish: (userId, payload) => hub.publish(`user:${userId}`, { kind: KIND, priority: PRIORITY, payload }),
  };
}

/** The bare loop: look the socket up, build the same envelope the hub sends, stringify, send. */
function wsMapServer(http) {
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false, clientTracking: false });
  const sockets = new Map();
  wss.on('connection', (ws) => {
    ws.once('message', (data) => {
      const { user } = JSON.parse(String(data));
      sockets.set(user, ws);
      ws.on('close', () => {
        if (sockets.get(user) === ws) sockets.delete(user);
      });
      ws.send(JSON.stringify({ type: 'subscribed', user }));
    });
    ws.on('error', () => {});
  });
  let seq = 0;
  return {
    users: () => sockets.size,
    publish(userId, payload) {
      const ws = sockets.get(userId);
      if (ws === undefined || ws.readyState !== OPEN) return;
      ws.send(
        JSON.stringify({
          type: 'notification',
          id: randomUUID(),
          topic: `user:${userId}`,
          epoch: 'bench',
          seq: ++seq,
          kind: KIND,
          priority: PRIORITY,
          createdAt: new Date().toISOString(),
          payload,
        }),
      );
    },
  };
}

// ---- client child: `node publish-one.mjs clients <variant>` ---------------------------------

function clientChild(variant) {
  let armed; // { count, bad, lastRecv }
  const sockets = [];

  function connectOne(port, userId) {
    const topic = Buffer.from(`"topic":"user:${userId}"`);
    return new Promise((resolve, reject) => {
      const url = variant === 'ws-map' ? `ws://127.0.0.1:${port}/` : `ws://127.0.0.1:${port}/v1/ws/notifications`;
      const ws = new WebSocket(url, { perMessageDeflate: false });
      let ready = false;
      ws.on('open', () => {
        if (variant !== 'ws-map') {
          ws.send(JSON.stringify({ type: 'auth', token: userId }));
          ws.send(JSON.stringify({ type: 'subscribe', topics: [{ topic: `user:${userId}` }] }));
        } else {
          ws.send(JSON.stringify({ type: 'subscribe', user: userId }));
        }
      });
      ws.on('message', (data) => {
        if (ready) {
          const a = armed;
          if (!a) return;
          // Counted only when it is addressed to this connection's user.
          if (data.includes(topic)) a.count++;
          else a.bad++;
          a.lastRecv = now();
          if (a.count + a.bad === a.expected) process.send({ event: 'done' });
          return;
        }
        const frame = JSON.parse(String(data));
        if (frame.type === 'subscribed') {
          if (variant !== 'ws-map' && frame.topics?.[0]?.status !== 'ok') {
            reject(new Error(`subscribe denied: ${String(data)}`));
            return;
          }
          ready = true;
          resolve(ws);
        } else if (frame.type === 'error') reject(new Error(`error frame: ${String(data)}`));
      });
      ws.on('error', reject);
    });
  }

  const handlers = {
    async setup({ port, users }) {
      let next = 0;
      const worker = async () => {
        while (next < users) {
          const userId = `u${next++}`;
          sockets.push(await connectOne(port, userId));
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, users) }, worker));
      return { sockets: sockets.length };
    },
    arm({ expected }) {
      armed = { count: 0, bad: 0, lastRecv: 0, expected };
      return {};
    },
    report() {
      const a = armed;
      armed = undefined;
      return { count: a.count, bad: a.bad, lastRecv: a.lastRecv };
    },
    exit: () => setImmediate(() => process.exit(0)),
  };
  answerParent(handlers);
}

// ---- orchestrator ---------------------------------------------------------------------------

async function orchestrate() {
  const users = (envList('BENCH_USERS') ?? ['100', '1000', '10000']).map(Number);
  const reps = Number(process.env.BENCH_REPS ?? 3);
  const publishes = Number(process.env.BENCH_PUBLISHES ?? 50_000);
  const batch = Number(process.env.BENCH_BATCH ?? 64);
  const variants = envList('BENCH_VARIANTS') ?? VARIANTS;
  const serverArgs = process.env.BENCH_SERVER_ARGS?.split(' ').filter(Boolean) ?? [];
  const watchdog = setTimeout(() => {
    console.error(`FAIL: still running after ${WATCHDOG_MS / 1000}s; killing it`);
    killAll();
    process.exit(1);
  }, WATCHDOG_MS);

  console.log(
    `publish-one: users ${users.join(', ')}; ${publishes.toLocaleString('en-US')} publishes per run, ` +
      `yield every ${batch}; ${reps} reps, alternating ${variants.join(' / ')}; ` +
      `${os.cpus().length} CPUs, pinned: ${canPin ? 'server CPU 0, clients CPU 1' : 'no (taskset missing)'}; ` +
      `load average ${loadAverage()}`,
  );
  const results = []; // { users, variant, rep, serverRate, e2eRate, cpuUs, sysUs, ok }
  for (const n of users) {
    const pairs = {};
    for (const variant of variants) {
      const server = spawnChild('publish-one.mjs', ['server', variant], serverArgs, SERVER_CPU);
      const { port } = await server.once('listening');
      const client = spawnChild('publish-one.mjs', ['clients', variant], [], CLIENT_CPU);
      const t = now();
      await client.request('setup', { port, users: n });
      const { users: subscribed } = await server.request('count');
      if (subscribed !== n) throw new Error(`${variant}: ${subscribed} of ${n} users subscribed`);
      console.log(`  ${variant}: ${n} users connected in ${((now() - t) / 1000).toFixed(1)} s`);
      pairs[variant] = { server, client };
    }
    const runOnce = async (variant, rep, count) => {
      const { server, client } = pairs[variant];
      await client.request('arm', { expected: count });
      const done = client.once('done');
      const r = await server.request('run', { users: n, publishes: count, batch, seed: 0x9e3779b9 + rep });
      await Promise.race([done, new Promise((resolve) => setTimeout(resolve, DRAIN_TIMEOUT_MS))]);
      const c = await client.request('report');
      return {
        users: n,
        variant,
        rep,
        serverRate: count / (r.spanMs / 1000),
        e2eRate: c.lastRecv > 0 ? count / ((c.lastRecv - r.firstTs) / 1000) : Number.NaN,
        cpuUs: r.cpuUs / count,
        sysUs: r.sysUs / count,
        faults: r.faults / count,
        ok: c.count === count && c.bad === 0,
        received: c.count,
        bad: c.bad,
      };
    };
    // Warm-up (JIT, history allocation): half a run each, not counted.
    for (const variant of variants) await runOnce(variant, -1, Math.ceil(publishes / 2));
    for (let rep = 0; rep < reps; rep++) {
      const order = variants.map((_, i) => variants[(i + rep) % variants.length]);
      for (const variant of order) {
        const r = await runOnce(variant, rep, publishes);
        results.push(r);
        if (!r.ok) console.log(`  ! ${variant} rep ${rep}: received ${r.received}/${publishes}, misrouted ${r.bad}`);
      }
    }
    for (const { server, client } of Object.values(pairs)) {
      server.request('exit').catch(() => {});
      client.request('exit').catch(() => {});
    }
    await allExited(process.env.BENCH_HEAP_SNAPSHOT ? 60_000 : 5_000);
    killAll();
  }
  clearTimeout(watchdog);
  printTable(results, users, variants, reps);
  console.log(`load average after: ${loadAverage()}`);
}

function printTable(results, users, variants, reps) {
  const k = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');
  const rows = [];
  const rateAt = {};
  /** Per user count, `wardcast`'s ratio to the baseline in each rep. */
  const repRatios = new Map();
  for (const n of users) {
    for (const variant of variants) {
      const runs = results.filter((r) => r.users === n && r.variant === variant);
      const serverRate = median(runs.map((r) => r.serverRate));
      rateAt[`${variant}@${n}`] = serverRate;
      // Ratio within each rep (both variants ran in it), then the median of those.
      const ratios = [];
      const cpuRatios = [];
      for (let rep = 0; rep < reps; rep++) {
        const mine = runs.find((r) => r.rep === rep);
        const base = results.find((r) => r.users === n && r.variant === BASELINE && r.rep === rep);
        if (mine && base) {
          ratios.push(mine.serverRate / base.serverRate);
          cpuRatios.push(base.cpuUs / mine.cpuUs);
        }
      }
      if (variant === 'wardcast') repRatios.set(n, ratios);
      const cpuUs = median(runs.map((r) => r.cpuUs));
      rateAt[`${variant}@${n}:cpu`] = 1e6 / cpuUs;
      rateAt[`${variant}@${n}:user`] = 1e6 / median(runs.map((r) => r.cpuUs - r.sysUs));
      rows.push([
        String(n),
        variant,
        k(serverRate),
        runs.map((r) => k(r.serverRate)).join(' '),
        k(median(runs.map((r) => r.e2eRate))),
        variant === BASELINE ? '1.00x' : `${median(ratios).toFixed(2)}x`,
        cpuUs.toFixed(2),
        median(runs.map((r) => r.sysUs)).toFixed(2),
        median(runs.map((r) => r.faults)).toFixed(3),
        k(1e6 / cpuUs),
        variant === BASELINE ? '1.00x' : `${median(cpuRatios).toFixed(2)}x`,
        runs.every((r) => r.ok) ? 'yes' : 'NO',
      ]);
    }
  }
  const head = [
    'users',
    'variant',
    'publishes/s',
    'per rep',
    'end-to-end/s',
    `x ${BASELINE}`,
    'CPU µs/publish',
    'of it kernel',
    'page faults/publish',
    'per CPU-s',
    `x ${BASELINE} (CPU)`,
    'all delivered',
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 1 || i === 3 ? c.padEnd(widths[i]) : c.padStart(widths[i])));
  console.log(`\n${line(head).join('  ')}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of rows) console.log(line(r).join('  '));
  const lo = Math.min(...users);
  const hi = Math.max(...users);
  if (lo !== hi) {
    console.log('');
    for (const variant of variants) {
      const flat = rateAt[`${variant}@${hi}`] / rateAt[`${variant}@${lo}`];
      const flatCpu = rateAt[`${variant}@${hi}:cpu`] / rateAt[`${variant}@${lo}:cpu`];
      const flatUser = rateAt[`${variant}@${hi}:user`] / rateAt[`${variant}@${lo}:user`];
      console.log(
        `flatness ${variant}: publishes/s at ${hi} users / at ${lo} users = ${flat.toFixed(2)} ` +
          `(per CPU-second: ${flatCpu.toFixed(2)}; per user-space CPU-second, the kernel's TCP work left out: ${flatUser.toFixed(2)})`,
      );
    }
    // What the hub itself adds as users grow: its flatness over the bare loop's, measured alike.
    const baseFlat = rateAt[`${BASELINE}@${hi}`] / rateAt[`${BASELINE}@${lo}`];
    for (const variant of variants.filter((v) => v !== BASELINE)) {
      const flat = rateAt[`${variant}@${hi}`] / rateAt[`${variant}@${lo}`];
      console.log(
        `flatness ${variant} / flatness ${BASELINE} = ${(flat / baseFlat).toFixed(2)} ` +
          `(1.00: it slows down no more than the bare loop from ${lo} to ${hi} users)`,
      );
    }
  }
  // Issue 12, target 4, for `wardcast`: >= 0.7x the bare loop at every size, and flat within 15%.
  const ratios = rows.filter((r) => r[1] === 'wardcast').map((r) => Number.parseFloat(r[5]));
  if (ratios.length > 0) {
    const low = Math.min(...ratios);
    console.log(
      `target 4, publishes/s >= 0.7x ${BASELINE} at every size: lowest ${low.toFixed(2)}x: ${low >= 0.7 ? 'met' : 'MISSED'}`,
    );
    // Each rep on its own (both variants ran in it, close in time): met when every size is.
    const perSize = [...repRatios].map(([n, rs]) => `${n} users ${rs.map((r) => r.toFixed(2)).join(' ')}`);
    const counted = Math.min(...[...repRatios.values()].map((rs) => rs.length));
    let met = 0;
    for (let rep = 0; rep < counted; rep++) if ([...repRatios.values()].every((rs) => rs[rep] >= 0.7)) met++;
    console.log(`  per rep: ${perSize.join('; ')}: met at every size in ${met} of ${counted} reps`);
  }
  if (lo !== hi && rateAt[`wardcast@${hi}`]) {
    const flat = rateAt[`wardcast@${hi}`] / rateAt[`wardcast@${lo}`];
    const baseFlat = rateAt[`${BASELINE}@${hi}`] / rateAt[`${BASELINE}@${lo}`];
    console.log(
      `target 4, flat within 15% from ${lo} to ${hi} users: ${flat.toFixed(2)}: ${flat >= 0.85 ? 'met' : 'MISSED'} ` +
        `(${BASELINE} itself: ${baseFlat.toFixed(2)})`,
    );
  }
}

const [role, variant] = process.argv.slice(2);
if (role === 'server') await serverChild(variant);
else if (role === 'clients') clientChild(variant);
else
  await orchestrate().catch((err) => {
    console.error(err);
    killAll();
    process.exit(1);
  });
