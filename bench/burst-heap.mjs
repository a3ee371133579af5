// What a burst leaves in the server's heap: `node bench/burst-heap.mjs [variant]` (after `pnpm build`).
// Runs the variant's server (variants.mjs) in this process and SUBS clients in a child process,
// warms up with paced publishes, then starts V8's sampling heap profiler, publishes one burst of
// BURST messages in one turn, waits until every client got them, and prints the allocation sites
// whose objects are still in the heap: what is alive, and what died after being promoted to the
// old generation (a young object that dies is dropped from the profile at the next scavenge; an
// old one only at the next mark-compact). Also the old generation's growth over each burst (after
// a full collection before it; run with --expose-gc), median of BENCH_REPS bursts.
// Options (env): BENCH_SUBS=1000 BENCH_BURST=20 BENCH_REPS=5 BENCH_TOP=25
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { Session } from 'node:inspector/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { getHeapSpaceStatistics } from 'node:v8';
import { benchId, makePayload, now } from './payload.mjs';
import { createVariant } from './variants.mjs';

const SUBS = Number(process.env.BENCH_SUBS ?? 1000);
const BURST = Number(process.env.BENCH_BURST ?? 20);
const TOP = Number(process.env.BENCH_TOP ?? 25);
const REPS = Number(process.env.BENCH_REPS ?? 5);

if (process.argv[2] === '--clients') {
  // Child: SUBS connections to the port given, counting notifications; answers {count} on request.
  const { connect } = await import('./connect.mjs');
  const [, , , variant, port] = process.argv;
  let count = 0;
  const sockets = [];
  for (let i = 0; i < SUBS; i += 50) {
    const batch = Array.from({ length: Math.min(50, SUBS - i) }, (_, j) =>
      connect(variant, Number(port), `u${i + j}`, () => count++),
    );
    sockets.push(...(await Promise.all(batch)));
  }
  process.on('message', () => process.send({ count }));
  process.send({ ready: true });
} else {
  const name = process.argv[2] ?? 'wardcast';
  const http = createServer();
  const variant = createVariant(name, http);
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  const child = fork(new URL(import.meta.url), ['--clients', name, String(http.address().port)]);
  const next = () => new Promise((resolve) => child.once('message', resolve));
  await next();
  const delivered = async (expected) => {
    for (;;) {
      child.send('count');
      const { count } = await next();
      if (count >= expected) return;
      await sleep(20);
    }
  };
  let published = 0;
  const publish = () => variant.publish(makePayload(), benchId(1, published++, now()));
  // Paced warm-up: one publish per turn, so the fan-out code is optimised and the young
  // generation is in its steady state.
  for (let i = 0; i < 200; i++) {
    await publish();
    await sleep(2);
  }
  await delivered(published * SUBS);
  const oldUsed = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size;
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 256 });
  const growth = [];
  for (let rep = 0; rep < REPS; rep++) {
    globalThis.gc?.();
    const before = oldUsed();
    for (let i = 0; i < BURST; i++) await publish();
    await delivered(published * SUBS);
    growth.push(oldUsed() - before);
  }
  const { profile } = await session.post('HeapProfiler.getSamplingProfile');
  await session.post('HeapProfiler.stopSampling');
  growth.sort((a, b) => a - b);
  const sites = new Map();
  const walk = (node, stack) => {
    const frame = node.callFrame;
    const here = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
    const path = [...stack, here];
    // The profiler's own promises (inspector) are not the server's.
    if (node.selfSize > 0 && !path.some((f) => f.includes('node:inspector'))) {
      const key = path.slice(-3).join(' < ');
      sites.set(key, (sites.get(key) ?? 0) + node.selfSize);
    }
    for (const c of node.children) walk(c, path);
  };
  walk(profile.head, []);
  const total = [...sites.values()].reduce((a, b) => a + b, 0);
  const kib = (bytes) => (bytes / 1024).toFixed(0);
  console.log(
    `${name}: ${SUBS} subscribers, bursts of ${BURST}: old generation +${kib(growth[growth.length >> 1])} KiB per burst ` +
      `(median of ${REPS}: ${growth.map(kib).join(' ')}); sampled bytes still in the heap ${kib(total)} KiB; top sites (caller < callee):`,
  );
  for (const [key, bytes] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
    console.log(`  ${(bytes / 1024).toFixed(1).padStart(8)} KiB  ${key}`);
  }
  child.kill();
  process.exit(0);
}
