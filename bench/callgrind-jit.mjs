// Where a callgrind dump's instructions went, JavaScript functions included:
// `node bench/callgrind-jit.mjs <dump> <perf map> [rows] [events]` (events: which of the dump's
// columns to add up, comma-separated, e.g. `DLmr,DLmw` for last-level misses in a dump made with
// `--cache-sim=yes`; `Ir`, the instructions, by default).
// callgrind names native functions but not the code V8 compiles at run time, which it lists as
// `???` or an address. Run the server under callgrind with node's `--perf-basic-prof` (it writes
// /tmp/perf-<pid>.map: start, size and name of every piece of compiled code) and
// `--dump-instr=yes` (costs per instruction address), e.g.
//   BENCH_NODE_FLAGS="--perf-basic-prof" BENCH_VALGRIND_FLAGS="--dump-instr=yes" \
//     node bench/connect-instructions.mjs --variants=wardcast --reps=3
// then pass one window's dump (/tmp/wardcast-connect-callgrind/wardcast.<pid>.out.<n>) and the
// server's map (the newest /tmp/perf-*.map). Prints self instructions per function, the
// compiled code's by JavaScript function (`JS:*name file:line`, `RegExp:...`), the rest by
// native symbol. Both flags cost time, and `--perf-basic-prof` adds a little work of its own
// (code-move events): compare runs made the same way.
import { readFileSync } from 'node:fs';

const [dumpFile, mapFile, rowsArg, eventsArg] = process.argv.slice(2);
if (!dumpFile || !mapFile) {
  console.error('usage: node bench/callgrind-jit.mjs <callgrind dump> <perf map> [rows]');
  process.exit(2);
}
const rows = Number(rowsArg ?? 60);

/** The perf map's ranges, sorted by start: [start, end, name]. */
const ranges = readFileSync(mapFile, 'utf8')
  .split('\n')
  .map((line) => /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line))
  .filter(Boolean)
  .map(([, start, size, name]) => [
    Number.parseInt(start, 16),
    Number.parseInt(start, 16) + Number.parseInt(size, 16),
    name,
  ])
  .sort((a, b) => a[0] - b[0]);

/** The compiled code at `address`, by binary search; `undefined` outside every range. */
function codeAt(address) {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [start, end, name] = ranges[mid];
    if (address < start) hi = mid - 1;
    else if (address >= end) lo = mid + 1;
    else return name;
  }
  return undefined;
}

/** A position of a cost line: absolute (`0x..`), relative to the last one (`+n`, `-n`) or the same (`*`). */
function nextAddress(token, last) {
  if (token === '*') return last;
  const sign = token[0] === '+' ? 1 : token[0] === '-' ? -1 : 0;
  const digits = sign === 0 ? token : token.slice(1);
  const value = digits.startsWith('0x') ? Number.parseInt(digits, 16) : Number(digits);
  return sign === 0 ? value : last + sign * value;
}

const names = new Map();
const self = new Map();
/** BENCH_INCLUSIVE=1: each function's own cost plus what the calls it makes cost, all the way down. */
const inclusive = process.env.BENCH_INCLUSIVE === '1';
let fn = '';
let address = 0;
let positions = 1;
let skipCall = false;
/** Every function's own cost: the window's total. */
let own = 0;
/** Indexes, among a cost line's costs, of the events added up. */
let columns = [0];
const wanted = (eventsArg ?? 'Ir').split(',');
for (const line of readFileSync(dumpFile, 'utf8').split('\n')) {
  if (line.startsWith('events:')) {
    const events = line.split(' ').filter(Boolean).slice(1);
    columns = wanted.map((e) => events.indexOf(e));
    if (columns.includes(-1)) throw new Error(`${dumpFile} has events ${events.join(' ')}, not ${wanted.join(',')}`);
    continue;
  }
  if (line.startsWith('positions:')) {
    positions = line.split(' ').filter(Boolean).length - 1;
    continue;
  }
  // `fn=(12) name` defines id 12, `fn=(12)` refers to it; `cfn=` lines define names too.
  const named = /^(c?fn)=\((\d+)\)(?: (.*))?$/.exec(line);
  if (named) {
    if (named[3] !== undefined) names.set(named[2], named[3]);
    if (named[1] === 'fn') fn = names.get(named[2]) ?? '';
    continue;
  }
  if (line.startsWith('calls=')) {
    // The next cost line is the call's inclusive cost, not this function's own.
    skipCall = true;
    continue;
  }
  if (!/^[0-9+\-*]/.test(line)) continue;
  const parts = line.split(' ');
  if (parts.length <= positions) continue;
  address = nextAddress(parts[0], address);
  const call = skipCall;
  skipCall = false;
  if (call && !inclusive) continue;
  // Trailing zero costs are left out of a cost line.
  const cost = columns.reduce((sum, c) => sum + Number(parts[positions + c] ?? 0), 0);
  if (!Number.isFinite(cost)) continue;
  const compiled = fn === '' || fn.startsWith('0x') || fn.includes('???');
  const key = compiled ? (codeAt(address) ?? '(compiled code, not in the map)') : `native:${fn.split('(')[0]}`;
  self.set(key, (self.get(key) ?? 0) + cost);
  if (!call) own += cost;
}

const total = own;
console.log(`${total.toLocaleString('en-US')} ${wanted.join(' + ')} in ${dumpFile}`);
for (const [key, cost] of [...self].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
  console.log(
    `${cost.toLocaleString('en-US').padStart(14)} ${((100 * cost) / total).toFixed(2).padStart(6)}%  ${key.slice(0, 150)}`,
  );
}
