import {
  CLIENT_FRAME_SCHEMAS,
  CLIENT_FRAME_TYPES,
  decodeClientFrame,
  LEAN_CLIENT_FRAMES,
  type ParseResult,
  parseClientFrame,
  parseServerFrame,
  SERVER_FRAME_SCHEMAS,
  SERVER_FRAME_TYPES,
} from '@wardcast/protocol';
import { decodeServerFrame, LEAN_SERVER_FRAMES, type LeanObject, type LeanSpec } from '@wardcast/protocol/lean';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/**
 * The lean decoders (`decodeServerFrame` of `@wardcast/protocol/lean`, what the browser client
 * ships, and `decodeClientFrame`, the hub's fast path) against the zod schemas (the protocol's
 * source of truth), each direction the same way:
 *
 * 1. its table is the zod schemas restated: derived here from the schemas' definitions, it must
 *    equal `LEAN_SERVER_FRAMES` (`LEAN_CLIENT_FRAMES`) field by field and in the same order;
 * 2. on frames generated from the schemas (valid by construction) both accept and return the
 *    same frame;
 * 3. on those frames with one field replaced, removed or added, and on arbitrary frame-shaped
 *    JSON, both accept or both refuse, with the same frame or the same error `code`, `path` and
 *    `ref`.
 *
 * The only documented difference is the error `message` (`<type>: <path>: invalid value`, where
 * zod's says what was expected).
 */

const RUNS = 500;

/** One direction of the protocol: its zod schemas and parser, and the lean table and decoder. */
interface Direction {
  readonly name: string;
  readonly schemas: Readonly<Record<string, unknown>>;
  readonly types: readonly string[];
  readonly table: Readonly<Record<string, LeanObject>>;
  readonly parse: (data: unknown) => ParseResult<unknown>;
  readonly decode: (data: unknown) => ParseResult<unknown>;
}

const SERVER: Direction = {
  name: 'server',
  schemas: SERVER_FRAME_SCHEMAS,
  types: SERVER_FRAME_TYPES,
  table: LEAN_SERVER_FRAMES,
  parse: parseServerFrame,
  decode: decodeServerFrame,
};

const CLIENT: Direction = {
  name: 'client',
  schemas: CLIENT_FRAME_SCHEMAS,
  types: CLIENT_FRAME_TYPES,
  table: LEAN_CLIENT_FRAMES,
  parse: parseClientFrame,
  decode: decodeClientFrame,
};

// ---- zod definitions, as far as the server frames use them --------------------------------------

interface Def {
  readonly type: string;
  readonly checks?: readonly { readonly _zod: { readonly def: CheckDef } }[];
  readonly format?: string;
  readonly shape?: Readonly<Record<string, Schema>>;
  readonly element?: Schema;
  readonly innerType?: Schema;
  readonly entries?: Readonly<Record<string, string>>;
  readonly values?: readonly unknown[];
}
interface CheckDef {
  readonly check: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly value?: number;
  readonly inclusive?: boolean;
  readonly format?: string;
  readonly pattern?: RegExp;
}
interface Schema {
  readonly _zod: { readonly def: Def };
}

const defOf = (schema: unknown): Def => (schema as Schema)._zod.def;
const checksOf = (def: Def): CheckDef[] => (def.checks ?? []).map((c) => c._zod.def);

function unsupported(def: Def, what = ''): never {
  throw new Error(
    `the lean decoder has no spec for zod ${def.type}${what}: extend LeanSpec in packages/protocol/src/lean.ts`,
  );
}

/** The {@link LeanSpec} a zod schema means, or a throw for a construct the lean decoder cannot express. */
function specOf(schema: unknown): LeanSpec {
  const def = defOf(schema);
  const checks = checksOf(def);
  switch (def.type) {
    case 'string': {
      if (checks.length === 0) return 's';
      const [a, b] = checks;
      if (checks.length === 1 && a?.check === 'string_format' && a.format === 'regex' && a.pattern) {
        return ['r', a.pattern];
      }
      if (checks.length === 2 && a?.check === 'min_length' && b?.check === 'max_length') {
        return ['s', a.minimum as number, b.maximum as number];
      }
      return unsupported(def, ` with checks ${checks.map((c) => c.check).join(', ')}`);
    }
    case 'number': {
      if (def.format === undefined && checks.length === 0) return 'n';
      if (def.format !== 'safeint') return unsupported(def, ` format ${def.format}`);
      if (checks.length === 0) return 'i';
      const [a] = checks;
      if (checks.length === 1 && a?.check === 'greater_than' && a.inclusive) return ['i', a.value as number];
      return unsupported(def, ' (int) with these checks');
    }
    case 'boolean':
      return 'b';
    case 'unknown':
      return 'u';
    case 'enum':
      return ['e', ...Object.values(def.entries ?? {})];
    case 'optional':
      return ['?', specOf(def.innerType)];
    case 'array': {
      if (checks.length === 0) return ['a', specOf(def.element)];
      const [a, b] = checks;
      if (checks.length === 2 && a?.check === 'min_length' && b?.check === 'max_length') {
        return ['a', specOf(def.element), a.minimum as number, b.maximum as number];
      }
      return unsupported(def, ` with checks ${checks.map((c) => c.check).join(', ')}`);
    }
    case 'object': {
      const out: Record<string, LeanSpec> = {};
      for (const [key, field] of Object.entries(def.shape ?? {})) out[key] = specOf(field);
      return out;
    }
    default:
      return unsupported(def);
  }
}

/** The spec of a frame schema, without its `type` literal (implied by the table's key). */
function frameSpecOf(d: Direction, type: string): LeanObject {
  const shape = defOf(d.schemas[type]).shape ?? {};
  const typeDef = defOf(shape.type);
  expect(typeDef.type, `${type}: type is a literal`).toBe('literal');
  expect(typeDef.values).toEqual([type]);
  const out: Record<string, LeanSpec> = {};
  for (const [key, field] of Object.entries(shape)) if (key !== 'type') out[key] = specOf(field);
  return out;
}

/** A spec as a string that keeps key order and regex sources: equal strings, equal specs. */
const canonical = (spec: unknown): string =>
  JSON.stringify(spec, (_key, value: unknown) => (value instanceof RegExp ? `/${value.source}/${value.flags}` : value));

// ---- valid frames, generated from the zod schemas ---------------------------------------------------

/** Values a zod schema accepts, built from its definition (so a new field is generated with no change here). */
function arbitraryOf(schema: unknown): fc.Arbitrary<unknown> {
  const def = defOf(schema);
  const checks = checksOf(def);
  switch (def.type) {
    case 'string': {
      const regex = checks.find((c) => c.format === 'regex')?.pattern;
      if (regex) return fc.stringMatching(regex);
      const min = checks.find((c) => c.check === 'min_length')?.minimum ?? 0;
      const max = checks.find((c) => c.check === 'max_length')?.maximum ?? 24;
      return fc.oneof(
        fc.string({ minLength: min, maxLength: Math.min(max, 24) }),
        fc.string({ minLength: max, maxLength: max }),
      );
    }
    case 'number': {
      if (def.format !== 'safeint') return fc.double({ noNaN: true, noDefaultInfinity: true });
      const min = checks.find((c) => c.check === 'greater_than')?.value ?? Number.MIN_SAFE_INTEGER;
      return fc.oneof(
        fc.integer({ min, max: min + 1000 }),
        fc.maxSafeInteger().filter((n) => n >= min),
      );
    }
    case 'boolean':
      return fc.boolean();
    case 'unknown':
      return fc.jsonValue({ maxDepth: 3 });
    case 'enum':
      return fc.constantFrom(...Object.values(def.entries ?? {}));
    case 'literal':
      return fc.constantFrom(...(def.values ?? []));
    case 'optional':
      return arbitraryOf(def.innerType);
    case 'array': {
      const min = checks.find((c) => c.check === 'min_length')?.minimum ?? 0;
      return fc.array(arbitraryOf(def.element), { minLength: min, maxLength: Math.max(min, 4) });
    }
    case 'object': {
      const shape = def.shape ?? {};
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      const required: string[] = [];
      for (const [key, field] of Object.entries(shape)) {
        model[key] = arbitraryOf(field);
        if (defOf(field).type !== 'optional') required.push(key);
      }
      return fc.record(model, { requiredKeys: required, noNullPrototype: true });
    }
    default:
      throw new Error(`no generator for zod ${def.type}`);
  }
}

const validFrame = (d: Direction): fc.Arbitrary<Record<string, unknown>> =>
  fc.constantFrom(...d.types).chain((type) => arbitraryOf(d.schemas[type])) as fc.Arbitrary<Record<string, unknown>>;

// ---- invalid and odd values -----------------------------------------------------------------------

/** Values near every limit the schemas set, of every JSON type. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    '',
    'x',
    'x'.repeat(64),
    'x'.repeat(65),
    'x'.repeat(128),
    'x'.repeat(129),
    'bad topic',
    'Kind',
    'lab_result',
    'user:u1',
    'ok',
    'denied',
    'routine',
    'stat',
    'ack',
    'read',
    'full',
    'id-only',
    'degraded',
    'toString',
    '__proto__',
    -1,
    0,
    1,
    1.5,
    2 ** 53 - 1,
    2 ** 53,
    -(2 ** 53),
    1e308,
    true,
    false,
    null,
    [],
    {},
    ['x'],
    [{}],
    { epoch: 'e', seq: 0 },
  ),
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.double(),
  fc.jsonValue({ maxDepth: 2 }),
);

type Path = readonly (string | number)[];

/** Every path to a value inside `value` (object keys and array indexes), the root excluded. */
function pathsIn(value: unknown, prefix: Path = []): Path[] {
  if (typeof value !== 'object' || value === null) return [];
  const out: Path[] = [];
  const keys: (string | number)[] = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  for (const key of keys) {
    const path = [...prefix, key];
    out.push(path, ...pathsIn((value as Record<string | number, unknown>)[key], path));
  }
  return out;
}

/** Paths to the objects inside `value` (root included), where a field may be added. */
function objectsIn(value: unknown, prefix: Path = []): Path[] {
  if (typeof value !== 'object' || value === null) return [];
  const here = Array.isArray(value) ? [] : [prefix];
  const keys: (string | number)[] = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return [
    ...here,
    ...keys.flatMap((key) => objectsIn((value as Record<string | number, unknown>)[key], [...prefix, key])),
  ];
}

type Mutation =
  | { readonly op: 'set'; readonly path: Path; readonly value: unknown }
  | { readonly op: 'delete'; readonly path: Path }
  | { readonly op: 'add'; readonly path: Path; readonly key: string; readonly value: unknown };

/** A deep copy of `frame` with one mutation applied. */
function mutate(frame: Record<string, unknown>, m: Mutation): Record<string, unknown> {
  const copy = structuredClone(frame);
  const target = m.op === 'add' ? m.path : m.path.slice(0, -1);
  let parent: Record<string | number, unknown> = copy;
  for (const key of target) parent = parent[key] as Record<string | number, unknown>;
  if (m.op === 'add') Object.defineProperty(parent, m.key, { value: m.value, enumerable: true, writable: true });
  else {
    const last = m.path[m.path.length - 1] as string | number;
    if (m.op === 'set') parent[last] = m.value;
    else if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  }
  return copy;
}

const fieldNames = (d: Direction): string[] =>
  [...new Set(Object.values(d.table).flatMap((spec) => pathsIn(spec).map((p) => p[p.length - 1] as string)))].filter(
    (k) => typeof k === 'string' && !/^\d+$/.test(k),
  );

/** The spec (derived from zod) of the value at `path` in a frame of `type`, if the path is in the schema. */
function specAt(d: Direction, type: string, path: Path): LeanSpec | undefined {
  let spec: LeanSpec | undefined = frameSpecOf(d, type);
  for (const key of path) {
    while (Array.isArray(spec) && spec[0] === '?') spec = spec[1] as LeanSpec;
    if (spec === undefined || typeof spec === 'string') return undefined;
    if (Array.isArray(spec)) spec = spec[0] === 'a' && typeof key === 'number' ? (spec[1] as LeanSpec) : undefined;
    else spec = typeof key === 'string' && Object.hasOwn(spec, key) ? (spec as LeanObject)[key] : undefined;
  }
  return spec;
}

const x = (n: number): string => 'x'.repeat(Math.max(0, n));

/** Values on and just past the limits of `spec`: where a decoder that restates it wrongly would differ. */
function edges(spec: LeanSpec | undefined): unknown[] {
  if (spec === undefined) return [null, 0, ''];
  if (typeof spec === 'string') {
    if (spec === 's') return ['', 'x', 1, null];
    if (spec === 'n') return [0, -1.5, 1e308, 2 ** 53, 'x', null];
    if (spec === 'i') return [0, -1, 1.5, 2 ** 53 - 1, 2 ** 53, -(2 ** 53 - 1), -(2 ** 53), '1'];
    if (spec === 'b') return [true, false, 0, 'true', null];
    return [null, 0, {}];
  }
  if (!Array.isArray(spec)) return [{}, [], null, 'x'];
  const [op, a, b] = spec as readonly [string, unknown, unknown];
  switch (op) {
    case 's':
      return [x((a as number) - 1), x(a as number), x(b as number), x((b as number) + 1), 5, null];
    case 'r':
      return ['', ' ', 'a', 'A', 'a b', 'a:b', '1a', x(64), x(65), x(128), x(129), 'user:u1', 'lab_result', 7];
    case 'i':
      return [(a as number) - 1, a, (a as number) + 0.5, 2 ** 53, '1', null];
    case 'e': {
      const values = spec.slice(1) as string[];
      return [...values, ...values.map((v) => v.toUpperCase()), '', 'toString', 0];
    }
    case '?':
      return [null, ...edges(a as LeanSpec)];
    case 'a': {
      const bounds = spec.length === 4 ? [spec[2] as number, spec[3] as number] : [];
      const ofLength = bounds.flatMap((n) => [n - 1, n, n + 1]).filter((n) => n >= 0);
      const item = edges(a as LeanSpec)[0];
      return [[], ...edges(a as LeanSpec).map((v) => [v]), ...ofLength.map((n) => Array(n).fill(item)), 'x', {}, null];
    }
    default:
      return [];
  }
}

/** Every path into a frame except those inside its `payload` (which both decoders pass through unread). */
const mutablePaths = (frame: unknown): Path[] => pathsIn(frame).filter((p) => !(p[0] === 'payload' && p.length > 1));

const mutatedFrame = (d: Direction): fc.Arbitrary<Record<string, unknown>> =>
  validFrame(d).chain((frame) => {
    const type = frame.type as string;
    const paths = mutablePaths(frame);
    const objects = objectsIn(frame).filter((p) => p[0] !== 'payload');
    /** A replacement for the value at `path`: half the time an edge of its own spec, else anything. */
    const replacement = (path: Path): fc.Arbitrary<unknown> =>
      fc.oneof(fc.constantFrom(...edges(specAt(d, type, path))), junk);
    const mutation: fc.Arbitrary<Mutation> = fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .constantFrom(...paths)
          .chain((path) => replacement(path).map((value) => ({ op: 'set' as const, path, value }))),
      },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), path: fc.constantFrom(...paths) }) },
      {
        weight: 1,
        arbitrary: fc.record({
          op: fc.constant('add' as const),
          path: fc.constantFrom(...objects),
          key: fc.oneof(fc.constantFrom(...fieldNames(d), '__proto__', 'constructor'), fc.string({ maxLength: 6 })),
          value: junk,
        }),
      },
    );
    return fc.tuple(fc.constant(frame), mutation).map(([f, m]) => mutate(f, m));
  });

/** A frame of a known (or unknown) type whose fields are drawn from every frame's field names. */
const frameShaped = (d: Direction): fc.Arbitrary<Record<string, unknown>> =>
  fc
    .tuple(
      fc.constantFrom(...d.types, 'nope', 'toString'),
      fc.dictionary(fc.constantFrom(...fieldNames(d)), junk, { maxKeys: 8 }),
    )
    .map(([type, fields]) => ({ ...fields, type }));

// ---- agreement ----------------------------------------------------------------------------------

type Stats = { accepted: number; refused: number; nested: number };

/** Both parsers on `input`: same verdict, and the same frame or the same error code, path and ref. */
function agree(d: Direction, stats: Stats, input: unknown): void {
  const zod = d.parse(input);
  const lean = d.decode(input);
  expect(lean.ok, `verdict on ${show(input)}: zod ${verdict(zod)}`).toBe(zod.ok);
  if (zod.ok && lean.ok) {
    stats.accepted++;
    expect(lean.frame).toStrictEqual(zod.frame);
    return;
  }
  if (zod.ok || lean.ok) return;
  stats.refused++;
  if ((zod.error.path ?? '').match(/[.[]/)) stats.nested++;
  expect(lean.error.code).toBe(zod.error.code);
  expect(lean.error.path, `path on ${show(input)}: zod ${zod.error.message}`).toBe(zod.error.path);
  expect(lean.error.ref).toBe(zod.error.ref);
}

function verdict(r: ParseResult<unknown>): string {
  return r.ok ? 'accepts' : `refuses (${r.error.message})`;
}

function show(input: unknown): string {
  try {
    return (typeof input === 'string' ? input : JSON.stringify(input)).slice(0, 300);
  } catch {
    return String(input);
  }
}

describe.each([SERVER, CLIENT])('lean $name frame decoder', (d) => {
  const stats: Stats = { accepted: 0, refused: 0, nested: 0 };

  it('restates the zod schemas: the table derived from them equals its lean table, in field order', () => {
    expect(Object.keys(d.table).sort()).toEqual([...d.types].sort());
    for (const type of d.types) {
      expect(canonical(d.table[type]), type).toBe(canonical(frameSpecOf(d, type)));
    }
  });

  it('accepts every frame generated from the zod schemas and returns what zod returns', () => {
    fc.assert(
      fc.property(validFrame(d), (frame) => {
        const text = JSON.stringify(frame);
        const zod = d.parse(text);
        const lean = d.decode(text);
        expect(zod.ok, `zod accepts its own generated frame ${text}`).toBe(true);
        expect(lean.ok, `lean accepts ${text}`).toBe(true);
        if (zod.ok && lean.ok) expect(lean.frame).toStrictEqual(zod.frame);
        // As a decoded object too (what `parseServerFrame` also takes): the payload is passed by reference.
        const fromObject = d.decode(frame);
        expect(fromObject.ok).toBe(true);
        if (fromObject.ok && frame.type === 'notification') {
          expect((fromObject.frame as { payload: unknown }).payload).toBe(frame.payload);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('agrees with zod on frames with one field replaced, removed or added (text and decoded)', () => {
    fc.assert(
      fc.property(mutatedFrame(d), (frame) => {
        agree(d, stats, JSON.stringify(frame));
        agree(d, stats, frame);
      }),
      { numRuns: RUNS * 4 },
    );
    expect(stats.refused).toBeGreaterThan(RUNS);
    expect(stats.nested).toBeGreaterThan(0);
  });

  it('agrees with zod on arbitrary frame-shaped JSON, strings and bytes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          frameShaped(d),
          frameShaped(d).map((f) => JSON.stringify(f)),
          fc.jsonValue({ maxDepth: 3 }),
          fc.string({ maxLength: 40 }),
          frameShaped(d).map((f) => new TextEncoder().encode(JSON.stringify(f))),
          fc.uint8Array({ maxLength: 32 }),
        ),
        (input) => agree(d, stats, input),
      ),
      { numRuns: RUNS * 2 },
    );
    console.log(
      `[property] lean vs zod (${d.name} frames): ${stats.accepted} accepted and ${stats.refused} refused alike (${stats.nested} on nested fields)`,
    );
  });
});
