// Publish throughput through the Redis backplane (`node bench/redis-publish.mjs`), next to what
// Redis itself does with the same commands on this machine, all measured in one run:
//
//   hub            hub.publish to distinct topics (round robin over BENCH_RP_TOPICS), C publishes in
//                  flight; "one script" when no durable stage has work (the hub's default without an
//                  inbox), "two-phase" with a publish stage configured (reserve, stage, commit)
//   + watcher      the same while a second backplane instance (a child process) watches every topic
//                  and checks it receives each publish once, in seq order
//   ioredis loop   the exact EVALSHA commands the hub sent (captured with MONITOR), issued by a
//                  plain ioredis loop with the same concurrency: what the hub adds on top
//   redis-cli      the same command stream, pre-built and piped (`redis-cli --pipe`): Redis's ceiling
//   redis-benchmark XADD + PUBLISH of a ~400-byte entry (the least a stream-plus-pub/sub backplane
//                  sends), -P 16 -c 16: the floor cost of the raw commands
//
// Cells alternate over BENCH_RP_REPS reps (medians). Keys live under a unique prefix and are
// deleted at the end (and expire after a minute anyway). Only REDIS_URL (default 127.0.0.1:6379).
//
// Env: BENCH_RP_MS=800 (per cell)  BENCH_RP_TOPICS=1000  BENCH_RP_CONC=1,16,64  BENCH_RP_REPS=3
//      BENCH_RP_BASELINE=<path to another build's dist/index.js of @wardcast/redis>: adds a
//      "hub, baseline build" cell per concurrency (e.g. the previous release), in the same run.
import { execFileSync, fork, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRedisBackplane } from '@wardcast/redis';
import { NotificationHub } from '@wardcast/server';

const require = createRequire(fileURLToPath(import.meta.resolve('@wardcast/redis')));
const { Redis } = require('ioredis');

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const CELL_MS = Number(process.env.BENCH_RP_MS ?? 800);
const TOPICS = Number(process.env.BENCH_RP_TOPICS ?? 1000);
const CONC = (process.env.BENCH_RP_CONC ?? '1,16,64').split(',').map(Number);
const REPS = Number(process.env.BENCH_RP_REPS ?? 3);
const PIPE_PUBLISHES = Number(process.env.BENCH_RP_PIPE ?? 20_000);
const WATCHDOG_MS = 170_000;
const OPTIONS = { maxAgeMs: 60_000, topicTtlMs: 60_000 };

const PAYLOAD = {
  labOrderId: 'LAB-2026-004217',
  testName: 'Potassium [Moles/volume] in Serum or Plasma',
  testCode: '2823-3',
  status: 'final',
  abnormal: true,
  critical: true,
  resultAt: '2026-11-23T06:50:00.000Z',
  value: '6.1',
  unit: 'mmol/L',
  referenceRange: '3.5-5.1 mmol/L',
};
const topicName = (i) => `patient:rp${i}`;

// ---- watcher child: a second instance watching every topic ---------------------------------------

async function watcher() {
  const prefix = process.argv[3];
  const backplane = createRedisBackplane({ redis: REDIS_URL, keyPrefix: prefix, ...OPTIONS });
  const last = new Map();
  let received = 0;
  let misordered = 0;
  await backplane.start((n) => {
    received++;
    const key = `${n.topic}\n${n.epoch}`;
    const prev = last.get(key);
    if (prev !== undefined && n.seq !== prev + 1) misordered++;
    last.set(key, n.seq);
  });
  const topics = Array.from({ length: TOPICS }, (_, i) => topicName(i));
  process.on('message', async (msg) => {
    if (msg === 'watch') {
      await Promise.all(topics.map((t) => backplane.watch(t)));
      received = 0;
      misordered = 0;
      last.clear();
      process.send({ ok: true });
    } else if (msg === 'report') {
      await Promise.all(topics.map((t) => backplane.unwatch(t)));
      process.send({ received, misordered });
    } else if (msg === 'exit') {
      await backplane.close();
      process.exit(0);
    }
  });
  process.send({ ready: true });
}

// ---- main -------------------------------------------------------------------------------------

const median = (xs) => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const fmt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');
const ask = (child, msg) =>
  new Promise((resolve) => {
    child.once('message', resolve);
    child.send(msg);
  });

function makeHub(prefix, stage, create = createRedisBackplane) {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const backplane = create({ redis: client, keyPrefix: prefix, ...OPTIONS });
  const hub = new NotificationHub({
    authenticate: () => null,
    history: backplane,
    broker: backplane,
    ...(stage && { publishStages: [{ name: 'noop', run() {} }] }),
  });
  const send = client.sendCommand.bind(client);
  client.sendCommand = (command, stream) => {
    hub.recording?.push([command.name, ...command.args.map(String)]);
    return send(command, stream);
  };
  hub.closeAll = async () => {
    await hub.close();
    client.disconnect();
  };
  return hub;
}

/** Runs `conc` loops of `one()` for CELL_MS; publishes per second. */
async function drive(conc, one) {
  const end = performance.now() + CELL_MS;
  let count = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (performance.now() < end) {
        await one();
        count++;
      }
    }),
  );
  return count / ((performance.now() - start) / 1000);
}

/** The EVALSHA commands of one hub.publish, recorded on the backplane's command client. */
async function capture(hub, prefix, topic) {
  const seen = [];
  hub.recording = seen;
  await hub.publish(topic, { kind: 'lab_result', id: 'warm', payload: PAYLOAD });
  seen.length = 0;
  await hub.publish(topic, { kind: 'lab_result', id: 'captured-id', payload: PAYLOAD });
  hub.recording = undefined;
  // ARGV counts: 9 the reserve (append) script, 10 the commit script, 8 the one-script publish.
  const cmds = seen
    .filter((a) => String(a[0]).toLowerCase() === 'evalsha' && String(a[3]).startsWith(prefix))
    .map((a) => ({ sha: a[1], argv: a.slice(8), kind: a.length - 8 }));
  return { topic, cmds };
}

/** A publish issuing the captured commands itself, for topic `t` and a fresh id. */
function rawPublisher(redis, shape, prefix) {
  const sub = (s, topic, id) => s.split(shape.topic).join(topic).split('captured-id').join(id);
  const keys = (t) => ['meta', 'stream', 'ids', 'ids:old', 'pending'].map((k) => `${prefix}{${t}}:${k}`);
  const head = (t, argv) => [
    `${Date.now().toString(36)}${randomBytes(6).toString('hex')}`,
    ...argv.slice(1, 4),
    `${prefix}{${t}}:live`,
    argv[5],
  ];
  const [first, second] = shape.cmds;
  return async (t, id) => {
    const k = keys(t);
    if (first.kind === 9) {
      const token = randomUUID();
      const json = sub(first.argv[7], t, id);
      const r = await redis.evalsha(first.sha, 5, ...k, ...head(t, first.argv), id, json, token);
      await redis.evalsha(second.sha, 5, ...k, ...head(t, second.argv), r[0], r[1], id, token);
    } else {
      await redis.evalsha(first.sha, 5, ...k, ...head(t, first.argv), id, sub(first.argv[7], t, id));
    }
  };
}

/** RESP of one command. */
const resp = (args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')}`;

/** Pipes PUBLISHES publishes' worth of the captured commands through `redis-cli --pipe`; publishes/s. */
async function pipePublishes(redis, shape, prefix) {
  const [first, second] = shape.cmds;
  const keys = (t) => ['meta', 'stream', 'ids', 'ids:old', 'pending'].map((k) => `${prefix}{${t}}:${k}`);
  const sub = (s, topic, id) => s.split(shape.topic).join(topic).split('captured-id').join(id);
  const seqs = [];
  for (let i = 0; i < TOPICS; i++) seqs.push(await redis.hmget(keys(topicName(i))[0], 'e', 's', 'c'));
  if (seqs.some(([, s, c]) => s !== c)) return Number.NaN;
  const parts = [];
  for (let i = 0; i < PIPE_PUBLISHES; i++) {
    const ti = i % TOPICS;
    const t = topicName(ti);
    const id = `pipe-${i}-${randomUUID()}`;
    const k = keys(t);
    const h = (argv) => ['e', ...argv.slice(1, 4), `${prefix}{${t}}:live`, argv[5]];
    if (first.kind === 9) {
      const seq = Number(seqs[ti][1]) + 1;
      seqs[ti][1] = String(seq);
      parts.push(resp(['EVALSHA', first.sha, 5, ...k, ...h(first.argv), id, sub(first.argv[7], t, id), 'tok']));
      parts.push(resp(['EVALSHA', second.sha, 5, ...k, ...h(second.argv), seqs[ti][0], seq, id, 'tok']));
    } else {
      parts.push(resp(['EVALSHA', first.sha, 5, ...k, ...h(first.argv), id, sub(first.argv[7], t, id)]));
    }
  }
  const input = parts.join('');
  const { hostname, port } = new URL(REDIS_URL);
  const start = performance.now();
  await new Promise((resolve, reject) => {
    const child = spawn('redis-cli', ['-h', hostname, '-p', port || '6379', '--pipe'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 && /errors: 0/.test(out) ? resolve() : reject(new Error(out))));
    child.stdin.end(input);
  });
  return PIPE_PUBLISHES / ((performance.now() - start) / 1000);
}

/** redis-benchmark requests/s of one command (-P 16 -c 16, random topic of TOPICS). */
function redisBenchmark(args) {
  const { hostname, port } = new URL(REDIS_URL);
  const out = execFileSync(
    'redis-benchmark',
    ['-h', hostname, '-p', port || '6379', '-n', '100000', '-c', '16', '-P', '16', '-r', String(TOPICS), '-q', ...args],
    { encoding: 'utf8' },
  );
  const m = /([\d.]+) requests per second/.exec(out.split('\r').pop() ?? out);
  return m ? Number(m[1]) : Number.NaN;
}

async function main() {
  const prefix = `wardcast-bench-rp:${process.pid}:${Date.now().toString(36)}:`;
  const redis = new Redis(REDIS_URL);
  console.log(
    `redis publish benchmark: ${TOPICS} topics, ${CELL_MS} ms per cell, ${REPS} reps (medians); load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  const oneScript = makeHub(prefix, false);
  const twoPhase = makeHub(prefix, true);
  const baselinePath = process.env.BENCH_RP_BASELINE;
  const baseline = baselinePath
    ? makeHub(prefix, false, (await import(pathToFileURL(baselinePath).href)).createRedisBackplane)
    : undefined;
  const shapes = {
    one: await capture(oneScript, prefix, 'patient:rp-capture1'),
    two: await capture(twoPhase, prefix, 'patient:rp-capture2'),
  };
  console.log(
    `commands per publish: hub without stages ${shapes.one.cmds.length} EVALSHA, with a stage ${shapes.two.cmds.length} EVALSHA`,
  );
  // Every topic exists before measuring (a topic's first publish creates its epoch).
  await Promise.all(
    Array.from({ length: TOPICS }, (_, i) =>
      oneScript.publish(topicName(i), { kind: 'lab_result', id: `init-${i}`, payload: PAYLOAD }),
    ),
  );
  const child = fork(fileURLToPath(import.meta.url), ['watch', prefix], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise((resolve) => child.once('message', resolve));

  let k = 0;
  let n = 0;
  const nextTopic = () => topicName(k++ % TOPICS);
  const nextId = () => `rp-${process.pid}-${n++}`;
  const hubPublish = (hub) => () => hub.publish(nextTopic(), { kind: 'lab_result', id: nextId(), payload: PAYLOAD });
  const raw = { one: rawPublisher(redis, shapes.one, prefix), two: rawPublisher(redis, shapes.two, prefix) };
  const watched = new Set();
  const cells = [];
  for (const c of CONC) {
    cells.push({ name: `hub, one script`, shape: 'one', c, one: hubPublish(oneScript) });
    if (baseline) cells.push({ name: `hub, baseline build`, shape: 'two', c, one: hubPublish(baseline) });
    cells.push({ name: `hub, two-phase (a stage)`, shape: 'two', c, one: hubPublish(twoPhase) });
    cells.push({ name: `ioredis loop, same commands`, shape: 'one', c, one: () => raw.one(nextTopic(), nextId()) });
    cells.push({ name: `ioredis loop, same commands`, shape: 'two', c, one: () => raw.two(nextTopic(), nextId()) });
  }
  const cmax = Math.max(...CONC);
  for (const [label, hub] of [
    ['one', oneScript],
    ['two', twoPhase],
  ]) {
    const cell = {
      name: `hub + 1 watching instance`,
      shape: label,
      c: cmax,
      one: hubPublish(hub),
      watch: true,
    };
    cells.push(cell);
    watched.add(cell);
  }
  const results = new Map(cells.map((cell) => [cell, []]));
  let watchCheck = '';
  for (let rep = 0; rep < REPS; rep++) {
    const order = rep % 2 === 0 ? cells : [...cells].reverse();
    for (const cell of order) {
      if (cell.watch) await ask(child, 'watch');
      const before = n;
      results.get(cell).push(await drive(cell.c, cell.one));
      if (cell.watch) {
        await new Promise((r) => setTimeout(r, 300));
        const r = await ask(child, 'report');
        if (r.received !== n - before || r.misordered !== 0)
          watchCheck += ` ${cell.shape}: received ${r.received}/${n - before}, misordered ${r.misordered};`;
      }
    }
  }
  const pipe = { one: [], two: [] };
  for (let rep = 0; rep < 2; rep++)
    for (const s of ['one', 'two']) pipe[s].push(await pipePublishes(redis, shapes[s], prefix));
  const json = JSON.stringify({ id: 'x'.repeat(36), topic: 'patient:rp1', kind: 'lab_result', payload: PAYLOAD });
  const xadd = redisBenchmark([
    'XADD',
    `${prefix}rb:{__rand_int__}:stream`,
    'MAXLEN',
    '~',
    '10000',
    '*',
    's',
    '1',
    'n',
    json,
  ]);
  const publish = redisBenchmark(['PUBLISH', `${prefix}rb:{__rand_int__}:live`, `e\n1\n${json}`]);
  const floor = 1 / (1 / xadd + 1 / publish);

  const vsBaseline = (cell, value) => {
    const base = cells.find((x) => x.c === cell.c && x.name === 'hub, baseline build');
    return cell.name.startsWith('hub') && !cell.watch && base
      ? `${(value / median(results.get(base))).toFixed(2)}x`
      : '';
  };
  const rows = [];
  const label = { one: 'one script', two: 'two-phase' };
  for (const cell of cells) {
    const hubBase = cells.find((x) => x.shape === cell.shape && x.c === cell.c && x.name.startsWith('ioredis'));
    const value = median(results.get(cell));
    rows.push([
      cell.name.startsWith('hub') && !cell.watch ? cell.name : `${cell.name} (${label[cell.shape]})`,
      String(cell.c),
      fmt(value),
      cell.name.startsWith('ioredis') || !hubBase ? '' : `${(value / median(results.get(hubBase))).toFixed(2)}x`,
      `${(value / median(pipe[cell.shape])).toFixed(2)}x`,
      ...(baseline ? [vsBaseline(cell, value)] : []),
    ]);
  }
  for (const s of ['one', 'two'])
    rows.push([`redis-cli --pipe, same commands (${label[s]})`, 'all', fmt(median(pipe[s])), '', '1.00x']);
  rows.push(['redis-benchmark XADD ~400 B (-P 16 -c 16)', '256', fmt(xadd), '', '']);
  rows.push(['redis-benchmark PUBLISH ~400 B (-P 16 -c 16)', '256', fmt(publish), '', '']);
  rows.push(['  = XADD + PUBLISH per publish', '', fmt(floor), '', '']);
  const head = ['publishes/s', 'in flight', 'median', 'vs ioredis loop', 'vs redis-cli --pipe'];
  if (baseline) {
    head.push('vs baseline');
    for (const r of rows) while (r.length < head.length) r.push('');
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  console.log(`watching instance got every publish once, in order: ${watchCheck === '' ? 'yes' : `NO:${watchCheck}`}`);
  console.log(
    `load average after: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );

  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.send('exit');
  await exited;
  await baseline?.closeAll();
  await oneScript.closeAll();
  await twoPhase.closeAll();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
  redis.disconnect();
  if (watchCheck !== '') process.exitCode = 1;
}

if (process.argv[2] === 'watch') {
  watcher().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  const watchdog = setTimeout(() => {
    console.error(`FAIL: still running after ${WATCHDOG_MS / 1000}s`);
    process.exit(2);
  }, WATCHDOG_MS);
  watchdog.unref();
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
