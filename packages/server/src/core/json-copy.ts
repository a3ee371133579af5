/**
 * What {@link copyJson} answers for a value it cannot copy exactly: the caller then takes the
 * JSON round trip (`JSON.parse(JSON.stringify(value))`), which also reports the errors.
 */
export const NOT_COPIED: unique symbol = Symbol('not copied');

/** Nesting past which {@link copyJson} gives up (the round trip handles deeper values). */
const MAX_DEPTH = 64;

const { getPrototypeOf } = Object;
const OBJECT_PROTO = Object.prototype;
const ARRAY_PROTO = Array.prototype;

/**
 * A copy of `value` equal to `JSON.parse(JSON.stringify(value))`, built without the text: the
 * same keys in the same order, the same primitives (`-0` becomes `0`), plain objects and arrays
 * only, and strings shared instead of copied. {@link NOT_COPIED} for anything the round trip would
 * change or refuse (`undefined`, functions, non-finite numbers, bigints, `toJSON`, class
 * instances, sparse arrays, a `__proto__` key, nesting past 64 levels, cycles): the caller takes
 * the round trip for those. Each property is read once (a getter runs once).
 */
export function copyJson(value: unknown): unknown {
  // A `toJSON` on the shared prototypes would apply to every object: leave that to JSON.
  if ((OBJECT_PROTO as { toJSON?: unknown }).toJSON !== undefined) return NOT_COPIED;
  if ((ARRAY_PROTO as { toJSON?: unknown }).toJSON !== undefined) return NOT_COPIED;
  // Nor an enumerable key there: `for...in` of a plain object then lists its own keys only.
  if (hasEnumerable(OBJECT_PROTO)) return NOT_COPIED;
  return copy(value, 0);
}

function copy(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      // JSON writes -0 as 0; NaN and the infinities as null.
      return Number.isFinite(value) ? (value === 0 ? 0 : value) : NOT_COPIED;
    case 'object':
      break;
    default:
      return NOT_COPIED;
  }
  if (value === null) return null;
  if (depth >= MAX_DEPTH) return NOT_COPIED;
  const proto = getPrototypeOf(value);
  if (proto === ARRAY_PROTO && Array.isArray(value)) {
    // An array's own `toJSON` (the prototype's was checked above) would replace it.
    if ((value as { toJSON?: unknown }).toJSON !== undefined) return NOT_COPIED;
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      // A hole (JSON writes null) reads as undefined: given up like undefined itself.
      const item = copy(value[i], depth + 1);
      if (item === NOT_COPIED) return NOT_COPIED;
      out.push(item);
    }
    return out;
  }
  if (proto !== OBJECT_PROTO && proto !== null) return NOT_COPIED;
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  // Own enumerable string keys (the prototype has none), in the order JSON.stringify takes them.
  for (const key in source) {
    // Assigning `__proto__` would set the copy's prototype instead of adding a key.
    if (key === '__proto__') return NOT_COPIED;
    const item = copy(source[key], depth + 1);
    if (item === NOT_COPIED) return NOT_COPIED;
    out[key] = item;
  }
  return out;
}

function hasEnumerable(object: object): boolean {
  for (const _ in object) return true;
  return false;
}
