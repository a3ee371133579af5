// What one idle connection holds on the server heap, by object type: `node bench/session-heap.mjs`.
// For each variant, a server child (bench/variants.mjs, started with --expose-gc) and a client
// child (bench/clients.mjs: authenticated, one subscription) connect N/2 connections, the server
// writes a heap snapshot after a full GC; then N/2 more and a second snapshot. Every line is the
// growth between the two snapshots divided by N/2: what each extra connection costs, one-time
// allocations (JIT code, the first Map of a kind) excluded. Also prints heapUsed and RSS growth.
//
// Options (env or CLI `--name=value`): BENCH_SUBS=2000 (N)  BENCH_VARIANTS=wardcast,ws-frame-once
//   BENCH_TOP=40 (rows per variant)  BENCH_KEEP=1 (keep the .heapsnapshot files in /tmp)
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { answerParent, killAll, spawnChild } from './children.mjs';

if (process.argv[2] === '--server') await serve(process.argv[3]);
else await main();

// ---- server child ----------------------------------------------------------------------------

async function serve(name) {
  const { createVariant } = await import('./variants.mjs');
  const http = createServer((_req, res) => res.writeHead(404).end());
  const variant = createVariant(name, http);
  const gc = () => {
    for (let i = 0; i < 4; i++) globalThis.gc?.();
  };
  const handlers = {
    count: () => ({ subscribers: variant.subscribers() }),
    memory: () => {
      gc();
      const { rss, heapUsed } = process.memoryUsage();
      return { rss, heapUsed };
    },
    snapshot: ({ file }) => {
      gc();
      writeHeapSnapshot(file);
      return { file };
    },
  };
  answerParent(handlers);
  http.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
    process.send({ event: 'listening', port: http.address().port });
  });
}

// ---- snapshot analysis ----------------------------------------------------------------------

/**
 * Self sizes and counts per kind of node in a .heapsnapshot file: (type, name), with closures told
 * apart by where they were defined (script id:line:column), contexts by the variables they hold
 * and plain objects by their keys.
 */
function groups(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const { node_fields: fields, node_types: types, edge_fields: edgeFields, edge_types: edgeTypes } = snap.snapshot.meta;
  const stride = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const edgeCountAt = fields.indexOf('edge_count');
  const typeNames = types[typeAt];
  const edgeStride = edgeFields.length;
  const edgeTypeNames = edgeTypes[0];
  const { nodes, edges, strings } = snap;
  const where = new Map();
  const loc = snap.locations ?? [];
  for (let i = 0; i < loc.length; i += 4) where.set(loc[i], `${loc[i + 1]}:${loc[i + 2] + 1}:${loc[i + 3] + 1}`);
  const out = new Map();
  const who = process.env.BENCH_WHO;
  const keys = [];
  const retainers = [];
  for (let i = 0, e = 0; i < nodes.length; i += stride) {
    const edgeCount = nodes[i + edgeCountAt];
    const type = typeNames[nodes[i + typeAt]];
    let name = strings[nodes[i + nameAt]];
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'code') name = '';
    else if (type === 'number') name = '';
    else if (type === 'closure') name = `${name || '(anonymous)'} @${where.get(i) ?? '?'}`;
    else if (name === 'system / Context' || (type === 'object' && name === 'Object')) {
      const keys = [];
      for (let k = 0; k < edgeCount && keys.length < 8; k++) {
        const at = e + k * edgeStride;
        const et = edgeTypeNames[edges[at]];
        if ((name === 'Object' && et === 'property') || (name !== 'Object' && et === 'context'))
          keys.push(strings[edges[at + 1]]);
      }
      name = `${name} {${keys.join(',')}}`;
    } else if (name.length > 60) name = `${name.slice(0, 57)}...`;
    const key = `${type} ${name}`.trim();
    if (who !== undefined) {
      keys[i / stride] = key;
      for (let k = 0; k < edgeCount; k++) {
        const at = e + k * edgeStride;
        const to = edges[at + 2] / stride;
        const et = edgeTypeNames[edges[at]];
        if (et === 'weak') continue;
        if (retainers[to] === undefined) retainers[to] = [];
        retainers[to].push([
          i / stride,
          et === 'element' || et === 'hidden' ? `[${edges[at + 1]}]` : strings[edges[at + 1]],
        ]);
      }
    }
    e += edgeCount * edgeStride;
    const g = out.get(key) ?? { count: 0, size: 0 };
    g.count++;
    g.size += nodes[i + sizeAt];
    out.set(key, g);
  }
  if (who !== undefined) {
    // Who holds the nodes of the kind BENCH_WHO names: counts by (edge <- holder <- its holder).
    const holders = new Map();
    for (let n = 0; n < keys.length; n++) {
      if (keys[n] !== who) continue;
      for (const [from, edge] of (retainers[n] ?? []).slice(0, 2)) {
        const up = (retainers[from] ?? [])[0];
        const k = `.${edge} <- ${keys[from]}${up ? ` <- .${up[1]} ${keys[up[0]]}` : ''}`;
        holders.set(k, (holders.get(k) ?? 0) + 1);
      }
    }
    console.log(`${who} in ${file}:`);
    for (const [k, c] of [...holders].sort((x, y) => y[1] - x[1]).slice(0, 8)) console.log(`  ${c} ${k}`);
  }
  return out;
}

/** Per-connection growth between two snapshots, largest first. */
function diff(before, after, n) {
  const rows = [];
  for (const [key, a] of after) {
    const b = before.get(key) ?? { count: 0, size: 0 };
    const size = (a.size - b.size) / n;
    const count = (a.count - b.count) / n;
    if (Math.abs(size) >= 1) rows.push({ key, count, size });
  }
  return rows.sort((x, y) => y.size - x.size);
}

// ---- orchestrator ---------------------------------------------------------------------------

async function waitFor(server, expected) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { subscribers } = await server.request('count');
    if (subscribers === expected) return;
    if (Date.now() > deadline) throw new Error(`${subscribers}/${expected} subscribers`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function main() {
  for (const arg of process.argv.slice(2)) {
    const m = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!m) throw new Error(`unknown argument ${arg} (expected --name=value)`);
    process.env[`BENCH_${m[1].toUpperCase().replaceAll('-', '_')}`] = m[2];
  }
  const n = Number(process.env.BENCH_SUBS ?? 2000);
  const variants = (process.env.BENCH_VARIANTS ?? 'wardcast,ws-frame-once').split(',').filter(Boolean);
  const top = Number(process.env.BENCH_TOP ?? 40);
  process.on('exit', killAll);
  console.log(
    `load average: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' / ')}`,
  );
  const summary = [];
  for (const variant of variants) {
    const server = spawnChild('session-heap.mjs', ['--server', variant], ['--expose-gc'], 0);
    const { port } = await server.once('listening');
    const client = spawnChild('clients.mjs', [], [], 1);
    const half = n / 2;
    const files = [
      join(os.tmpdir(), `wardcast-heap-${variant}-a.heapsnapshot`),
      join(os.tmpdir(), `wardcast-heap-${variant}-b.heapsnapshot`),
    ];
    await client.request('setup', { servers: [{ variant, port }], conns: half, tag: 'h', offset: 0 });
    await waitFor(server, half);
    const m1 = await server.request('memory');
    await server.request('snapshot', { file: files[0] });
    await client.request('setup', { servers: [{ variant, port }], conns: half, tag: 'h', offset: half });
    await waitFor(server, n);
    const m2 = await server.request('memory');
    await server.request('snapshot', { file: files[1] });
    server.child.kill('SIGKILL');
    client.child.kill('SIGKILL');
    const rows = diff(groups(files[0]), groups(files[1]), half);
    if (process.env.BENCH_KEEP !== '1') for (const f of files) rmSync(f, { force: true });
    const total = rows.reduce((s, r) => s + r.size, 0);
    const heapKiB = (m2.heapUsed - m1.heapUsed) / half / 1024;
    const rssKiB = (m2.rss - m1.rss) / half / 1024;
    summary.push({ variant, total, heapKiB, rssKiB });
    console.log(
      `\n## ${variant}: ${total.toFixed(0)} B per connection in the snapshot; heapUsed ${heapKiB.toFixed(2)} KiB, RSS ${rssKiB.toFixed(2)} KiB`,
    );
    console.log('| bytes/conn | objects/conn | type name |\n|---:|---:|---|');
    for (const r of rows.slice(0, top)) console.log(`| ${r.size.toFixed(0)} | ${r.count.toFixed(2)} | ${r.key} |`);
  }
  const base = summary.find((s) => s.variant === 'ws-frame-once');
  console.log('\n| variant | snapshot B/conn | heapUsed KiB/conn | RSS KiB/conn |\n|---|---:|---:|---:|');
  for (const s of summary) {
    const ratio = (v, b) => (base && b ? ` (${(v / b).toFixed(2)}x)` : '');
    console.log(
      `| ${s.variant} | ${s.total.toFixed(0)}${ratio(s.total, base?.total)} | ${s.heapKiB.toFixed(2)}${ratio(s.heapKiB, base?.heapKiB)} | ${s.rssKiB.toFixed(2)}${ratio(s.rssKiB, base?.rssKiB)} |`,
    );
  }
  console.log(
    `load average: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' / ')}`,
  );
  process.exit(0);
}
