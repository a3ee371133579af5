/**
 * The lean decoders' checks: a frame's fields restated from its zod schema as plain data
 * ({@link LeanSpec}) and checked without a schema library. Shared by the decoder of server frames
 * (`lean.ts`, what the browser client ships) and the decoder of client frames (`lean-client.ts`,
 * the hub's fast path); internal to the package.
 */
import { type Checked, pathOf } from './frame-input.js';

/**
 * How the lean decoder checks one value, as the zod schema it restates:
 *
 * | spec | zod | accepts |
 * |---|---|---|
 * | `'s'` | `z.string()` | a string |
 * | `['s', min, max]` | `z.string().check(z.minLength(min), z.maxLength(max))` | a string of `min`..`max` UTF-16 units |
 * | `['r', re]` | `z.string().check(z.regex(re))` | a string matching `re` |
 * | `'n'` | `z.number()` | a finite number |
 * | `'i'` | `z.int()` | a safe integer |
 * | `['i', min]` | `z.int().check(z.gte(min))` | a safe integer `>= min` |
 * | `'b'` | `z.boolean()` | `true` or `false` |
 * | `['e', ...values]` | `z.enum(values)` | one of `values` |
 * | `'u'` | `z.unknown()` | anything, but the key must be present (`in`) |
 * | `['?', spec]` | `z.optional(spec)` | an absent key, `undefined`, or what `spec` accepts |
 * | `['a', spec]` | `z.array(spec)` | an array whose every item `spec` accepts (copied) |
 * | `['a', spec, min, max]` | `z.array(spec).check(z.minLength(min), z.maxLength(max))` | such an array of `min`..`max` items |
 * | `{ key: spec }` | `z.object({ key: spec })` | a non-array object; unknown keys are dropped |
 *
 * @category Parsing
 */
export type LeanSpec =
  | 's'
  | 'n'
  | 'i'
  | 'b'
  | 'u'
  | readonly ['s', number, number]
  | readonly ['r', RegExp]
  | readonly ['i', number]
  | readonly ['e', ...string[]]
  | readonly ['?', LeanSpec]
  | readonly ['a', LeanSpec]
  | readonly ['a', LeanSpec, number, number]
  | LeanObject;

/**
 * An object spec: its fields in the order the zod schema lists them. See {@link LeanSpec}.
 *
 * @category Parsing
 */
export interface LeanObject {
  readonly [key: string]: LeanSpec;
}

/** What {@link check} returns for a value its spec refuses; {@link trail} then holds the path, innermost key first. */
const BAD = {};
let trail: (string | number)[] = [];

function check(spec: LeanSpec, v: unknown): unknown {
  if (typeof spec === 'string') {
    if (spec === 's') return typeof v === 'string' ? v : BAD;
    // `Number.isFinite` and `Number.isSafeInteger` are false for anything but a number.
    if (spec === 'n') return Number.isFinite(v) ? v : BAD;
    if (spec === 'i') return Number.isSafeInteger(v) ? v : BAD;
    if (spec === 'b') return typeof v === 'boolean' ? v : BAD;
    return v;
  }
  if (!Array.isArray(spec)) return object(spec as LeanObject, v, {});
  const op = spec[0];
  const arg: unknown = spec[1];
  if (op === '?') return v === undefined ? v : check(arg as LeanSpec, v);
  if (op === 'e') return spec.indexOf(v as string, 1) > 0 ? v : BAD;
  if (op === 'a') {
    if (!Array.isArray(v)) return BAD;
    // As zod: a length out of bounds is reported before any item.
    if (spec.length === 4 && (v.length < (spec[2] as number) || v.length > (spec[3] as number))) return BAD;
    const out: unknown[] = [];
    for (let i = 0; i < v.length; i++) {
      const item = check(arg as LeanSpec, v[i]);
      if (item === BAD) {
        trail.push(i);
        return BAD;
      }
      out.push(item);
    }
    return out;
  }
  if (op === 'i') return Number.isSafeInteger(v) && (v as number) >= (arg as number) ? v : BAD;
  if (typeof v !== 'string') return BAD;
  if (op === 'r') return (arg as RegExp).test(v) ? v : BAD;
  return v.length >= (arg as number) && v.length <= (spec[2] as number) ? v : BAD;
}

function object(spec: LeanObject, v: unknown, out: Record<string, unknown>): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return BAD;
  const record = v as Record<string, unknown>;
  for (const key in spec) {
    const field = spec[key] as LeanSpec;
    const value = record[key];
    let checked: unknown;
    // As zod: an absent key (not `in` the object or its prototypes) is only fine when optional,
    // while a present one holding `undefined` is kept.
    if (value === undefined && !(key in record)) {
      if ((field as readonly unknown[])[0] === '?') continue;
      checked = BAD;
    } else checked = check(field, value);
    if (checked === BAD) {
      trail.push(key);
      return BAD;
    }
    out[key] = checked;
  }
  return out;
}

/**
 * Checks `value`, a frame whose `type` is a key of `table`, against that type's fields: the frame
 * (unknown fields dropped, nested objects and arrays copied) or the first bad field's path, as
 * `parseObject` expects; `undefined` for a type `table` does not have.
 */
export function checkLean(
  table: { readonly [type: string]: LeanObject },
  type: string,
  value: object,
): Checked | undefined {
  if (!Object.hasOwn(table, type)) return undefined;
  const frame = object(table[type] as LeanObject, value, { type });
  if (frame !== BAD) return { ok: true, frame };
  const path = pathOf(trail.reverse());
  trail = [];
  return { ok: false, path, detail: 'invalid value' };
}
