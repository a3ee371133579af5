// Client CPU per received notification: @wardcast/client against what a raw `ws` client does with
// the same text frame (JSON.parse + a dispatch on `type`). The WebSocket layer (frame parsing,
// UTF-8 decoding, the `message` event) costs both the same and is left out: frames are handed
// to the socket's `onmessage` directly, synchronously, so the time measured (process CPU time,
// user + system) is what the client spends per notification after the socket delivered it.
//
//   node bench/client-decode.mjs [--n 20000] [--rounds 7]      (after `pnpm build`)
//
// Variants, alternated (A B C D A B C D ...), medians printed with ratios to `raw`:
//   raw     JSON.parse + `if (f.type === 'notification') handler(f)`
//   lean    decodeServerFrame (@wardcast/protocol/lean, what the client uses) + the same dispatch
//   zod     parseServerFrame (@wardcast/protocol, the zod schemas) + the same dispatch
//   client  a connected NotificationClient: decode, stream position, dedupe, liveness timer,
//           `notification` event to one listener
// Frames are the hub's notification envelope around bench/payload.mjs's lab_result (~510 bytes),
// each with a fresh id and the next seq, built before the clock starts.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createNotificationClient } from '../packages/client/dist/index.js';
import { parseServerFrame } from '../packages/protocol/dist/index.js';
import { decodeServerFrame } from '../packages/protocol/dist/lean.js';
import { KIND, makePayload, PRIORITY, TOPIC } from './payload.mjs';

const { values: args } = parseArgs({
  options: { n: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '7' } },
});
const N = Number(args.n);
const ROUNDS = Number(args.rounds);

let epochCounter = 0;
/** N notification frames on a fresh stream (new epoch), seq 1..N. */
function frames() {
  ++epochCounter;
  const epoch = randomUUID();
  const payload = makePayload();
  const createdAt = new Date().toISOString();
  const out = new Array(N);
  for (let i = 0; i < N; i++) {
    out[i] = JSON.stringify({
      type: 'notification',
      id: `bench:${epochCounter}:${i}:${(1_700_000_000_000 + i).toFixed(3)}`,
      topic: TOPIC,
      epoch,
      seq: i + 1,
      kind: KIND,
      priority: PRIORITY,
      createdAt,
      payload,
    });
  }
  return out;
}

let delivered = 0;
let sink = 0;
/** What the app does with a notification: as little as possible, but it reads it. */
const handler = (n) => {
  delivered++;
  sink += n.seq;
};

/** A socket whose frames the benchmark pushes into `onmessage` by hand. */
class FakeSocket {
  static last;
  readyState = 0;
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;
  constructor(url) {
    this.url = url;
    FakeSocket.last = this;
  }
  send() {}
  close() {
    this.readyState = 3;
  }
}

/** A client past its handshake, subscribed to TOPIC: returns the socket to push frames into. */
async function connectedClient() {
  const client = createNotificationClient({ url: 'ws://bench', token: 't', topics: [TOPIC], WebSocket: FakeSocket });
  client.on('notification', handler);
  await new Promise((r) => setTimeout(r, 0)); // the url provider resolves, the socket is created
  const ws = FakeSocket.last;
  ws.readyState = 1;
  ws.onopen();
  await new Promise((r) => setTimeout(r, 0)); // the token provider resolves, `auth` is sent
  const push = (frame) => ws.onmessage({ data: JSON.stringify(frame) });
  push({
    type: 'welcome',
    protocol: 1,
    sessionId: 's1',
    heartbeatMs: 30_000,
    authenticated: false,
    limits: { maxFrameBytes: 65_536, maxFramesPerSecond: 50, maxSubscriptions: 100, authTimeoutMs: 10_000 },
  });
  push({ type: 'authenticated', userId: 'u1' });
  push({
    type: 'subscribed',
    topics: [{ topic: TOPIC, status: 'ok', recovered: false, position: { epoch: 'e0', seq: 0 } }],
  });
  if (client.status.state !== 'open') throw new Error(`client not open: ${JSON.stringify(client.status)}`);
  return { client, ws };
}

const variants = {
  raw: async () => (data) => {
    const f = JSON.parse(data);
    if (f.type === 'notification') handler(f);
  },
  lean: async () => (data) => {
    const r = decodeServerFrame(data);
    if (r.ok && r.frame.type === 'notification') handler(r.frame);
  },
  zod: async () => (data) => {
    const r = parseServerFrame(data);
    if (r.ok && r.frame.type === 'notification') handler(r.frame);
  },
  client: async () => {
    const { client, ws } = await connectedClient();
    const onmessage = ws.onmessage;
    const receive = (data) => onmessage({ data });
    receive.close = () => client.close();
    return receive;
  },
};

/** ns per notification of one variant on one fresh batch of frames. */
async function run(name) {
  const batch = frames();
  const receive = await variants[name]();
  const before = delivered;
  // CPU time of this process (user + system), not wall time: other work on the machine does not count.
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) receive(batch[i]);
  const t = process.cpuUsage(t0);
  const ns = ((t.user + t.system) * 1000) / N;
  receive.close?.();
  if (delivered - before !== N) throw new Error(`${name}: delivered ${delivered - before} of ${N}`);
  return ns;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const names = Object.keys(variants);
const bytes = frames()[0].length;
// Warm-up: one untimed round of each, so every variant's code is optimized before it is measured.
for (const name of names) await run(name);
const results = Object.fromEntries(names.map((n) => [n, []]));
for (let round = 0; round < ROUNDS; round++) for (const name of names) results[name].push(await run(name));

console.log(
  `client CPU per received notification: ${N} frames of ${bytes} bytes per run, ${ROUNDS} alternating rounds`,
);
console.log(`node ${process.version}, ${process.platform}/${process.arch}\n`);
console.log('| variant | ns/notification (median) | min | max | vs raw |');
console.log('|---|---:|---:|---:|---:|');
const raw = median(results.raw);
for (const name of names) {
  const m = median(results[name]);
  const f = (x) => x.toFixed(0);
  console.log(
    `| ${name} | ${f(m)} | ${f(Math.min(...results[name]))} | ${f(Math.max(...results[name]))} | ${(m / raw).toFixed(2)}x |`,
  );
}
if (sink === 0) console.log('(sink)');
