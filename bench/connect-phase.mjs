// The connect phase shared by `pnpm bench` (fanout.mjs) and `pnpm bench:connect` (connect-rate.mjs):
// one rep opens and subscribes `conns` new connections to one server variant from every client
// process at once (100 in flight each), holds them while the server's CPU time is read, then drops
// them and waits until the server is back to its idle subscriber count. Wall-clock connects/s
// depend on the clients too (they share one core and, for Wardcast, send two frames and parse two
// replies); the server's CPU time per connect is the server's own cost, and steadier under load.
import { median } from './stats.mjs';

/**
 * One rep against `server` ({ variant, port, ctl }) with `clients` (client children): returns
 * connects/s (wall clock: `conns` / the slowest client's time), server CPU µs per connect
 * (upgrade + authenticate + subscribe, the request that starts them to the last reply), server CPU µs per
 * connect and close (until the server counted `idle` subscribers again), client CPU µs per connect.
 */
export async function connectRep(server, clients, { conns, idle, tag }) {
  const { variant, port, ctl } = server;
  const per = conns / clients.length;
  const before = await ctl.request('cpu');
  const runs = await Promise.all(
    clients.map((c, k) => c.request('storm', { variant, port, conns: per, tag: `${tag}-c${k}`, keep: true })),
  );
  const connected = await ctl.request('cpu');
  await Promise.all(clients.map((c) => c.request('drop')));
  await ctl.request('until', { subscribers: idle });
  const after = await ctl.request('cpu');
  const wallMs = Math.max(...runs.map((r) => r.ms));
  return {
    connectsPerSec: (conns / wallMs) * 1000,
    serverCpuUs: (connected.cpuUs - before.cpuUs) / conns,
    cycleCpuUs: (after.cpuUs - before.cpuUs) / conns,
    clientCpuUs: runs.reduce((n, r) => n + r.cpuUs, 0) / conns,
    /** Server read and write system calls per connect (NaN where /proc/self/io is missing). */
    reads: (connected.reads - before.reads) / conns,
    writes: (connected.writes - before.writes) / conns,
  };
}

const fmt = (x, digits) => (Number.isFinite(x) ? x.toFixed(digits) : '-');
const thousands = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');

/**
 * Medians over the reps, per variant; each ratio against `baseline` is computed within each rep
 * (rep i of a variant against rep i of the baseline, both measured in the same round) and the
 * median of those ratios is shown. `reps` maps a variant to its list of {@link connectRep} results.
 */
export function summarizeConnects(reps, baseline) {
  const base = reps.get(baseline) ?? [];
  const rows = [];
  for (const [variant, rs] of reps) {
    const ratio = (get) => median(rs.map((r, i) => (base[i] ? get(r) / get(base[i]) : Number.NaN)));
    rows.push({
      variant,
      connectsPerSec: median(rs.map((r) => r.connectsPerSec)),
      wallRatio: ratio((r) => r.connectsPerSec),
      serverCpuUs: median(rs.map((r) => r.serverCpuUs)),
      perCpuSecond: median(rs.map((r) => 1e6 / r.serverCpuUs)),
      cpuRatio: ratio((r) => 1 / r.serverCpuUs),
      cpuRatios: rs.map((r, i) => (base[i] ? base[i].serverCpuUs / r.serverCpuUs : Number.NaN)),
      cycleCpuUs: median(rs.map((r) => r.cycleCpuUs)),
      cycleRatio: ratio((r) => 1 / r.cycleCpuUs),
      clientCpuUs: median(rs.map((r) => r.clientCpuUs)),
      reads: median(rs.map((r) => r.reads)),
      writes: median(rs.map((r) => r.writes)),
    });
  }
  return rows;
}

/** The printed table of {@link summarizeConnects} rows. */
export function connectTable(rows, baseline) {
  const head = [
    'variant',
    'connects/s',
    `x ${baseline}`,
    'server CPU µs/conn',
    'conns/server CPU-s',
    `x ${baseline}`,
    'per rep',
    '+close µs/conn',
    `x ${baseline}`,
    'client CPU µs/conn',
    'reads+writes/conn',
  ];
  const body = rows.map((r) => [
    r.variant,
    thousands(r.connectsPerSec),
    `${fmt(r.wallRatio, 2)}x`,
    fmt(r.serverCpuUs, 1),
    thousands(r.perCpuSecond),
    `${fmt(r.cpuRatio, 2)}x`,
    r.cpuRatios.map((x) => fmt(x, 2)).join(' '),
    fmt(r.cycleCpuUs, 1),
    `${fmt(r.cycleRatio, 2)}x`,
    fmt(r.clientCpuUs, 1),
    `${fmt(r.reads, 2)}+${fmt(r.writes, 2)}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells) =>
    cells.map((c, i) => (i === 0 || i === 6 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
