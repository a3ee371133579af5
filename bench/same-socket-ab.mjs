// Diagnostic (not part of `pnpm bench`): `node bench/same-socket-ab.mjs [subscribers]`.
// One NotificationHub in THIS process, clients in two children; then, on the very same sockets,
// alternates blocks of hub.publish with blocks of the frame-once loop over the hub's own `ws`
// sockets and compares server CPU per delivery. Same process, same TCP connections, interleaved
// in time: what is left is the cost of the hub's publish/deliver path itself.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { NotificationHub } from '@wardcast/server';
import { Sender, WebSocketServer } from 'ws';
import { killAll, spawnChild } from './children.mjs';
import { KIND, makePayload, PRIORITY, TOPIC } from './payload.mjs';
import { median } from './stats.mjs';
import { BENCH_HUB_OPTIONS } from './variants.mjs';

const SUBSCRIBERS = Number(process.argv[2] ?? 1000);
const ROUNDS = 20;
const PER_BLOCK = Math.max(2, Math.round(10_000 / SUBSCRIBERS)); // ~16 s of publishing in all
const INTERVAL_MS = SUBSCRIBERS / 25; // the same 25,000 deliveries/s offered as fanout.mjs

// Captures the sockets the hub's (noServer) WebSocketServer accepts; @wardcast/server and the bench
// resolve the same `ws` module.
const sockets = new Set();
const handleUpgrade = WebSocketServer.prototype.handleUpgrade;
WebSocketServer.prototype.handleUpgrade = function (req, socket, head, cb) {
  return handleUpgrade.call(this, req, socket, head, (ws, request) => {
    sockets.add(ws);
    cb(ws, request);
  });
};

const hub = new NotificationHub({
  authenticate: ({ token }) => (token ? { userId: token } : null),
  ...BENCH_HUB_OPTIONS,
});
const http = createServer();
hub.attach(http);
await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
const watchdog = setTimeout(() => {
  console.error('FAIL: still running after 120 s; killing it');
  killAll();
  process.exit(2);
}, 120_000);
watchdog.unref();

const clients = [spawnChild('clients.mjs'), spawnChild('clients.mjs')];
const servers = [{ variant: 'wardcast', port: http.address().port }];
await Promise.all(clients.map((c, k) => c.request('setup', { servers, conns: SUBSCRIBERS / 2, tag: `c${k}` })));

let seq = 0;
const frameOpts = { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false };
const paths = {
  'hub.publish': () => hub.publish(TOPIC, { kind: KIND, priority: PRIORITY, payload: makePayload() }),
  'frame-once': () => {
    const message = {
      type: 'notification',
      id: randomUUID(),
      topic: TOPIC,
      epoch: 'bench',
      seq: ++seq,
      kind: KIND,
      priority: PRIORITY,
      createdAt: new Date().toISOString(),
      payload: makePayload(),
    };
    const frame = Buffer.concat(Sender.frame(Buffer.from(JSON.stringify(message)), frameOpts));
    for (const ws of sockets) if (ws.readyState === 1) ws._socket.write(frame);
  },
};
const perBlock = { 'hub.publish': [], 'frame-once': [] };
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 ? ['hub.publish', 'frame-once'] : ['frame-once', 'hub.publish'];
  for (const name of order) {
    const start = process.cpuUsage(); // the whole block, idle gaps and write completions included
    for (let i = 0; i < PER_BLOCK; i++) {
      await paths[name]();
      await sleep(INTERVAL_MS);
    }
    const used = process.cpuUsage(start);
    perBlock[name].push((used.user + used.system) / (PER_BLOCK * sockets.size));
  }
}
const hubUs = median(perBlock['hub.publish']);
const onceUs = median(perBlock['frame-once']);
const ratios = perBlock['hub.publish'].map((x, k) => x / perBlock['frame-once'][k]);
console.log(
  `${sockets.size} subscribers, ${ROUNDS} alternating blocks of ${PER_BLOCK} publishes every ${INTERVAL_MS} ms: ` +
    `hub.publish ${hubUs.toFixed(3)} µs/delivery, frame-once ${onceUs.toFixed(3)} µs/delivery, ` +
    `ratio of medians ${(hubUs / onceUs).toFixed(3)}x, median of paired ratios ${median(ratios).toFixed(3)}x`,
);
killAll();
process.exit(0);
