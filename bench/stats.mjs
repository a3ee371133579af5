// Percentiles, medians and the printed table.

/** The q-quantile (0..1) of already sorted samples, nearest rank. */
export function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function median(...values) {
  const v = values
    .flat()
    .filter((x) => Number.isFinite(x))
    .sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Merges Float64Arrays and sorts them. */
export function mergeSorted(arrays) {
  const out = new Float64Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out.sort();
}

const fmt = (x, digits) => (Number.isFinite(x) ? x.toFixed(digits) : '-');
const thousands = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');

/** rows: [{ variant, deliveriesPerSec, p50, p99, p99Runs, cpuUs, cpuRuns, clientCpuUs, ok }], baseline variant name. */
export function table(rows, baseline) {
  const base = rows.find((r) => r.variant === baseline)?.cpuUs;
  const head = [
    'variant',
    'deliveries/s',
    'p50 ms',
    'p99 ms',
    'p99 ms per rep',
    'CPU µs/deliv',
    `x ${baseline}`,
    'CPU µs/deliv per rep',
    'client CPU µs/deliv',
    'all delivered',
  ];
  const body = rows.map((r) => [
    r.variant,
    thousands(r.deliveriesPerSec),
    fmt(r.p50, 2),
    fmt(r.p99, 2),
    r.p99Runs.map((x) => fmt(x, 1)).join(' '),
    fmt(r.cpuUs, 3),
    base ? `${fmt(r.cpuUs / base, 2)}x` : '-',
    r.cpuRuns.map((x) => fmt(x, 3)).join(' '),
    fmt(r.clientCpuUs, 2),
    r.ok ? 'yes' : 'NO',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells) =>
    cells.map((c, i) => (i === 0 || i === 4 || i === 7 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
