// Client child of the cluster benchmark: holds `conns` Wardcast connections spread round-robin
// over the given hub ports, all subscribed to the bench topic, and records every delivery's
// latency (receive time - publish time, on the machine-wide monotonic clock).
//   setup {ports, conns} -> connects and subscribes everything
//   arm {run, messages}  -> resets counters; emits {event:'done'} once every delivery arrived
//   report               -> received, expected, misordered, latency samples, last receive time

import { answerParent } from './children.mjs';
import { connect } from './connect.mjs';
import { now, parseBenchId } from './payload.mjs';

let armed;
let conns = 0;

function onNotification(conn, notification) {
  const t = now();
  const a = armed;
  const bench = parseBenchId(notification.id);
  if (!a || !bench || bench.run !== a.run) return;
  if (bench.i < a.next[conn]) a.misordered++;
  a.next[conn] = bench.i + 1;
  a.lat[a.n++] = t - bench.ts;
  a.lastRecv = t;
  if (a.n === a.expected) process.send({ event: 'done' });
}

async function setup({ ports, conns: count }) {
  conns = count;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const conn = next++;
      await connect('wardcast', ports[conn % ports.length], `bench-${conn}`, (n) => onNotification(conn, n));
    }
  };
  await Promise.all(Array.from({ length: 50 }, worker));
  return {};
}

function arm({ run, messages }) {
  armed = {
    run,
    next: new Uint32Array(conns),
    lat: new Float64Array(conns * messages),
    n: 0,
    expected: conns * messages,
    misordered: 0,
    lastRecv: 0,
  };
  return {};
}

function report() {
  const a = armed;
  armed = undefined;
  return {
    received: a.n,
    expected: a.expected,
    misordered: a.misordered,
    lastRecv: a.lastRecv,
    lat: a.lat.slice(0, a.n),
  };
}

const handlers = { setup, arm, report, exit: () => setImmediate(() => process.exit(0)) };
answerParent(handlers);
