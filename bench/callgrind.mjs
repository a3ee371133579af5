// Reading a callgrind dump (the format of `valgrind --tool=callgrind`, names compressed or not):
// the instructions it counts, how many of them V8's optimizing compilers ran (TurboFan, Maglev),
// which is warm-up work rather than the cost of the code being measured, and how many V8's major
// (mark-compact) garbage collector ran: one collection costs as much as a hundred connects, and
// whether it falls in a short window is luck.
import { readFileSync } from 'node:fs';

const COMPILER = /v8::internal::(compiler|maglev)::/;
/** Mark-compact only: marking, sweeping, the full evacuation and its slot updates (not scavenges). */
const MAJOR_GC =
  /v8::internal::(\w+::)*\w*(Marking|Marker|MarkCompact|Sweep|FullEvacuator|Evacuator\b|LiveObjectVisitor|PointersUpdating|RecordMigratedSlot|Ephemeron)\w*/;

/**
 * { total, compiler, majorGc }: instructions (Ir) of the dump at `file`, those in compiler
 * functions and those in mark-compact functions.
 */
export function readDump(file) {
  const names = new Map();
  let compiling = false;
  let collecting = false;
  let callCost = false;
  let total = 0;
  let compiler = 0;
  let majorGc = 0;
  // A cost line is its positions (`line`, or `instr line` with --dump-instr=yes), then the cost.
  let costAt = 1;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('positions:')) {
      costAt = line.split(' ').filter(Boolean).length - 1;
    } else if (line.startsWith('fn=')) {
      // `fn=(12) name` defines id 12; `fn=(12)` refers to it.
      const m = /^fn=\((\d+)\)(?: (.*))?$/.exec(line);
      const name = m ? (m[2] ?? names.get(m[1]) ?? '') : line.slice(3);
      if (m?.[2] !== undefined) names.set(m[1], m[2]);
      compiling = COMPILER.test(name);
      collecting = MAJOR_GC.test(name);
    } else if (line.startsWith('cfn=')) {
      const m = /^cfn=\((\d+)\) (.*)$/.exec(line);
      if (m) names.set(m[1], m[2]);
    } else if (line.startsWith('calls=')) {
      callCost = true; // the next cost line is the callee's inclusive cost, not this function's
    } else if (/^[0-9+*-]/.test(line)) {
      if (callCost) {
        callCost = false;
        continue;
      }
      const cost = Number(line.split(' ')[costAt] ?? 0);
      total += cost;
      if (compiling) compiler += cost;
      if (collecting) majorGc += cost;
    }
  }
  return { total, compiler, majorGc };
}
