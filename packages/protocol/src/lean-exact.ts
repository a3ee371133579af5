/**
 * The common case of a lean check, without copying: whether a frame is accepted as it is, so that
 * the decoder can return the parsed object itself. `checkLean` (lean-spec.ts) builds a new object
 * for every object and array it checks, key by key, to drop unknown keys as zod does; for a frame
 * with no unknown keys, parsed from JSON, that copy equals the input. Used by the hub's decoder of
 * client frames (one per received frame: the connect's `hello`, every `ack` and `read`); not by
 * the browser client, which keeps one small checker. Internal to the package.
 */
import type { LeanObject, LeanSpec } from './lean-spec.js';

/**
 * `true` when `v` is an object that `spec` accepts and whose checked copy would equal `v` itself:
 * plain objects and arrays only (prototypes `Object.prototype` and `Array.prototype`), no keys
 * but the spec's (and `extra` more, the frame's `type`), no key present holding `undefined`.
 * `false` says nothing: the caller checks again with the copying checker, which also finds the
 * path of a refused field.
 */
export function acceptsAsIs(spec: LeanObject, v: object, extra: number): boolean {
  if (Object.getPrototypeOf(v) !== Object.prototype) return false;
  const record = v as Record<string, unknown>;
  let present = extra;
  for (const key in spec) {
    const value = record[key];
    const field = spec[key] as LeanSpec;
    if (value === undefined) {
      // Absent and optional: fine. Present and `undefined`: the key count below tells, and the
      // copying checker decides. A required `'u'` must be present (`in`); anything else refuses it.
      if ((field as readonly unknown[])[0] === '?') continue;
      if (field !== 'u' || !(key in record)) return false;
    } else if (!valid(field, value)) return false;
    present++;
  }
  let keys = 0;
  for (const _ in record) keys++;
  return keys === present;
}

/** Whether `spec` accepts `v` as it is (objects and arrays through {@link acceptsAsIs}). */
function valid(spec: LeanSpec, v: unknown): boolean {
  if (typeof spec === 'string') {
    if (spec === 's') return typeof v === 'string';
    if (spec === 'n') return Number.isFinite(v);
    if (spec === 'i') return Number.isSafeInteger(v);
    if (spec === 'b') return typeof v === 'boolean';
    return true;
  }
  if (!Array.isArray(spec)) {
    return typeof v === 'object' && v !== null && acceptsAsIs(spec as LeanObject, v, 0);
  }
  const op = spec[0];
  const arg: unknown = spec[1];
  if (op === '?') return v === undefined || valid(arg as LeanSpec, v);
  if (op === 'e') return spec.indexOf(v as string, 1) > 0;
  if (op === 'a') {
    if (!Array.isArray(v) || Object.getPrototypeOf(v) !== Array.prototype) return false;
    if (spec.length === 4 && (v.length < (spec[2] as number) || v.length > (spec[3] as number))) return false;
    for (let i = 0; i < v.length; i++) if (!valid(arg as LeanSpec, v[i])) return false;
    return true;
  }
  if (op === 'i') return Number.isSafeInteger(v) && (v as number) >= (arg as number);
  if (typeof v !== 'string') return false;
  if (op === 'r') return (arg as RegExp).test(v);
  return v.length >= (arg as number) && v.length <= (spec[2] as number);
}
