// Client child: holds `conns` connections to each server it is told about and records, for the
// armed run, every delivery's latency (receive wall clock - publish wall clock).
//   setup {servers: [{variant, port}], conns, tag, offset} -> connects `conns` more to each server
//                                                  (numbered from `offset`; bounded concurrency)
//   arm {variant, run, messages}                   -> resets counters; emits {event:'done'} when complete
//   report                                         -> counts, last receive time, latency samples
//   storm {variant, port, conns, tag, keep}        -> opens and subscribes `conns` new connections,
//                                                     returns { ms, cpuUs }, then drops them (with
//                                                     `keep`, holds them until `drop`)
//   drop                                           -> drops the connections a `storm` kept

import { answerParent } from './children.mjs';
import { connect } from './connect.mjs';
import { now, parseBenchId } from './payload.mjs';

const CONCURRENCY = 100;
const sockets = [];
let armed; // { variant, run, messages, counts, next, lat, n, expected, ... }

function onNotification(variant, conn, notification) {
  const t = now();
  const a = armed;
  const bench = parseBenchId(notification.id);
  if (!a || a.variant !== variant || !bench || bench.run !== a.run) {
    if (a) a.stray++;
    return;
  }
  if (bench.i !== a.next[conn]) a.misordered++;
  a.next[conn] = bench.i + 1;
  a.counts[conn]++;
  const ms = t - bench.ts;
  a.lat[a.n++] = ms;
  if (ms > a.worst[bench.i]) a.worst[bench.i] = ms;
  a.lastRecv = t;
  if (a.n === a.expected) process.send({ event: 'done' });
}

async function setup({ servers, conns, tag, offset = 0 }) {
  for (const { variant, port } of servers) {
    let nextConn = offset;
    const worker = async () => {
      while (nextConn < offset + conns) {
        const conn = nextConn++;
        const handler = (notification) => onNotification(variant, conn, notification);
        sockets.push(await connect(variant, port, `${tag}-${conn}`, handler));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  }
  return { sockets: sockets.length };
}

function arm({ variant, run, messages, conns }) {
  armed = {
    variant,
    run,
    messages,
    counts: new Uint32Array(conns),
    next: new Uint32Array(conns),
    lat: new Float64Array(conns * messages + 1024),
    worst: new Float64Array(messages), // per message: its slowest delivery
    n: 0,
    expected: conns * messages,
    misordered: 0,
    stray: 0,
    lastRecv: 0,
    cpu: process.cpuUsage(),
  };
  return {};
}

function report() {
  const a = armed;
  const cpu = process.cpuUsage(a.cpu);
  let incomplete = 0;
  for (const c of a.counts) if (c !== a.messages) incomplete++;
  armed = undefined;
  return {
    received: a.n,
    expected: a.expected,
    incomplete,
    misordered: a.misordered,
    stray: a.stray,
    lastRecv: a.lastRecv,
    cpuUs: cpu.user + cpu.system,
    lat: a.lat.slice(0, Math.min(a.n, a.lat.length)), // a copy: a view would ship its whole buffer
    worst: [...a.worst],
  };
}

/** Connections a `storm` with `keep` opened, until `drop`. */
let kept = [];

async function storm({ variant, port, conns, tag, keep = false }) {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const opened = [];
  let next = 0;
  const worker = async () => {
    while (next < conns) opened.push(await connect(variant, port, `${tag}-${next++}`, () => {}));
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  if (keep) kept.push(...opened);
  else drop(opened);
  return { ms, cpuUs: used.user + used.system };
}

function drop(sockets = kept) {
  for (const s of sockets) (s.terminate ?? s.disconnect).call(s);
  if (sockets === kept) kept = [];
  return {};
}

const handlers = {
  setup,
  arm,
  report,
  storm,
  drop: () => drop(),
  exit: () => setImmediate(() => process.exit(0)),
};

answerParent(handlers);
