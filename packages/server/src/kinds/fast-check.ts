/**
 * A predicate compiled from a zod v4 schema's definition: `true` only when the schema would
 * accept the value and return it unchanged (nothing to strip, coerce or transform). The hub runs
 * it on every publish before the schema itself: a valid payload then costs no parse (and none of
 * the objects a parse allocates); anything else, and every error message, still comes from the
 * schema. It knows the few constructs the built-in kinds use (objects, strings with length
 * limits, patterns and ISO dates, enums, booleans, numbers with bounds, arrays, optionals); a
 * schema with anything else gets no predicate. Values must be JSON data (`JSON.parse` output).
 */
export type FastCheck = (value: unknown) => boolean;

type Def = Readonly<Record<string, unknown>>;

/** Compiles `schema`, or `undefined` when it uses anything the compiler does not know. */
export function compileFastCheck(schema: unknown): FastCheck | undefined {
  try {
    return compile(schema);
  } catch {
    return undefined;
  }
}

/** Code points in `s`, as zod measures string lengths: a surrogate pair counts once, a lone surrogate once. */
export function codePointLength(s: string): number {
  let count = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    if ((s.charCodeAt(i) & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      count--;
      i++;
    }
  }
  return count;
}

function defOf(schema: unknown): Def | undefined {
  const def = (schema as { _zod?: { def?: unknown } } | null | undefined)?._zod?.def;
  return def !== null && typeof def === 'object' ? (def as Def) : undefined;
}

/** Whether `def` has no key outside `allowed` (an unknown key may change what the schema does). */
function only(def: Def, allowed: readonly string[]): boolean {
  for (const key of Object.keys(def)) if (!allowed.includes(key)) return false;
  return true;
}

function compile(schema: unknown): FastCheck | undefined {
  const def = defOf(schema);
  if (!def) return undefined;
  switch (def.type) {
    case 'object':
      return only(def, ['type', 'shape']) ? objectCheck(def.shape) : undefined;
    case 'string':
      return stringCheck(def);
    case 'enum': {
      if (!only(def, ['type', 'entries']) || def.entries === null || typeof def.entries !== 'object') return undefined;
      const values = new Set(Object.values(def.entries as object));
      return (value) => values.has(value);
    }
    case 'boolean':
      return only(def, ['type']) ? (value) => typeof value === 'boolean' : undefined;
    case 'number': {
      if (!only(def, ['type', 'checks'])) return undefined;
      const bounds = boundsCheck(def.checks);
      if (!bounds) return undefined;
      return (value) => typeof value === 'number' && Number.isFinite(value) && bounds(value);
    }
    case 'array': {
      if (!only(def, ['type', 'element', 'checks'])) return undefined;
      const element = compile(def.element);
      const length = lengthCheck(def.checks, false);
      if (!element || !length) return undefined;
      return (value) => {
        if (!Array.isArray(value) || !length(value.length, value)) return false;
        for (let i = 0; i < value.length; i++) if (!element(value[i])) return false;
        return true;
      };
    }
    case 'optional': {
      if (!only(def, ['type', 'innerType'])) return undefined;
      const inner = compile(def.innerType);
      return inner && ((value) => value === undefined || inner(value));
    }
    default:
      return undefined;
  }
}

function objectCheck(shape: unknown): FastCheck | undefined {
  if (shape === null || typeof shape !== 'object') return undefined;
  const keys = Object.keys(shape);
  const checks: FastCheck[] = [];
  for (const key of keys) {
    const check = compile((shape as Record<string, unknown>)[key]);
    if (!check) return undefined;
    checks.push(check);
  }
  const known = new Set(keys);
  const { hasOwn } = Object;
  return (value) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
    const record = value as Record<string, unknown>;
    // A key the shape does not declare would be stripped: not unchanged.
    for (const key in record) if (hasOwn(record, key) && !known.has(key)) return false;
    for (let i = 0; i < keys.length; i++) {
      if (!(checks[i] as FastCheck)(record[keys[i] as string])) return false;
    }
    return true;
  };
}

function stringCheck(def: Def): FastCheck | undefined {
  if (def.check === 'string_format') {
    // A format schema (`z.iso.datetime()`, `z.regex()`): the pattern is the whole check.
    if (!only(def, ['type', 'format', 'check', 'offset', 'local', 'precision', 'pattern', 'checks'])) return undefined;
    if (def.format !== 'datetime' && def.format !== 'regex') return undefined;
    const pattern = def.pattern;
    if (!(pattern instanceof RegExp) || pattern.global || pattern.sticky) return undefined;
    const rest = lengthCheck(def.checks ?? [], true);
    if (!rest) return undefined;
    return (value) => typeof value === 'string' && pattern.test(value) && rest(value.length, value);
  }
  if (!only(def, ['type', 'checks'])) return undefined;
  const length = lengthCheck(def.checks ?? [], true);
  return length && ((value) => typeof value === 'string' && length(value.length, value));
}

/** `min_length` / `max_length` checks (and, on strings, `regex` formats); `undefined` for anything else. */
function lengthCheck(checks: unknown, strings: boolean): ((units: number, value: unknown) => boolean) | undefined {
  if (checks === undefined) return () => true;
  if (!Array.isArray(checks)) return undefined;
  let min = 0;
  let max = Number.POSITIVE_INFINITY;
  const patterns: RegExp[] = [];
  for (const check of checks) {
    const def = defOf(check);
    if (!def) return undefined;
    if (def.check === 'min_length' && only(def, ['check', 'minimum', 'when']) && typeof def.minimum === 'number') {
      min = Math.max(min, def.minimum);
    } else if (
      def.check === 'max_length' &&
      only(def, ['check', 'maximum', 'when']) &&
      typeof def.maximum === 'number'
    ) {
      max = Math.min(max, def.maximum);
    } else if (
      strings &&
      def.check === 'string_format' &&
      def.format === 'regex' &&
      only(def, ['check', 'format', 'pattern']) &&
      def.pattern instanceof RegExp &&
      !def.pattern.global &&
      !def.pattern.sticky
    ) {
      patterns.push(def.pattern);
    } else return undefined;
  }
  return (units, value) => {
    // Strings count code points, like zod: only a count near a limit needs the exact figure.
    if (units > max && !(strings && units <= max * 2 && codePointLength(value as string) <= max)) return false;
    if (units < min) return false;
    if (strings && units < min * 2 && codePointLength(value as string) < min) return false;
    for (const pattern of patterns) if (!pattern.test(value as string)) return false;
    return true;
  };
}

/** `greater_than` / `less_than` checks of a number; `undefined` for anything else. */
function boundsCheck(checks: unknown): ((value: number) => boolean) | undefined {
  if (checks === undefined) return () => true;
  if (!Array.isArray(checks)) return undefined;
  const tests: ((value: number) => boolean)[] = [];
  for (const check of checks) {
    const def = defOf(check);
    if (!def || !only(def, ['check', 'value', 'inclusive', 'when']) || typeof def.value !== 'number') return undefined;
    const bound = def.value;
    const inclusive = def.inclusive === true;
    if (def.check === 'greater_than') tests.push(inclusive ? (v) => v >= bound : (v) => v > bound);
    else if (def.check === 'less_than') tests.push(inclusive ? (v) => v <= bound : (v) => v < bound);
    else return undefined;
  }
  return (value) => {
    for (const test of tests) if (!test(value)) return false;
    return true;
  };
}
