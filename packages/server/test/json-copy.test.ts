import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyJson, NOT_COPIED } from '../src/core/json-copy.js';

/** What the copy stands for: the JSON round trip. */
const roundTrip = (value: unknown): unknown => JSON.parse(JSON.stringify(value) ?? 'null');

/** Whether `value` holds an own `__proto__` key at any depth (copyJson leaves those to the round trip). */
const hasProtoKey = (value: unknown): boolean =>
  typeof value === 'object' &&
  value !== null &&
  (Object.hasOwn(value, '__proto__') || Object.values(value).some(hasProtoKey));

describe('copyJson', () => {
  it('equals the JSON round trip of any JSON value, key order and -0 included', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const copy = copyJson(value);
        // fast-check's JSON values include `__proto__` keys now and then: given up on, as documented.
        if (hasProtoKey(value)) {
          expect(copy).toBe(NOT_COPIED);
          return;
        }
        expect(copy).not.toBe(NOT_COPIED);
        expect(copy).toStrictEqual(roundTrip(value));
        expect(JSON.stringify(copy)).toBe(JSON.stringify(value));
      }),
    );
  });

  it('copies exactly or gives up on anything else', () => {
    fc.assert(
      fc.property(
        fc.anything({ withBigInt: false, withNullPrototype: true, withDate: true, withMap: true }),
        (value) => {
          const copy = copyJson(value);
          if (copy !== NOT_COPIED) {
            expect(copy).toStrictEqual(roundTrip(value));
            expect(JSON.stringify(copy)).toBe(JSON.stringify(value));
          }
        },
      ),
    );
  });

  it('shares no object with the value it copies', () => {
    const value = { a: { b: [1, { c: 'x' }] } };
    const copy = copyJson(value) as typeof value;
    expect(copy).not.toBe(value);
    expect(copy.a).not.toBe(value.a);
    expect(copy.a.b).not.toBe(value.a.b);
    expect(copy.a.b[1]).not.toBe(value.a.b[1]);
  });

  it('gives up on what JSON would change or refuse', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const value of [
      undefined,
      { a: undefined },
      { f: () => 1 },
      new Array(3).fill(1, 0, 1),
      Number.NaN,
      { n: Number.POSITIVE_INFINITY },
      new Date(0),
      { toJSON: () => 'x' },
      Object.assign([1], { toJSON: () => 'x' }),
      JSON.parse('{"__proto__": 1}'),
      cyclic,
      10n,
    ]) {
      expect(copyJson(value)).toBe(NOT_COPIED);
    }
  });

  it('reads each property once', () => {
    let reads = 0;
    const value = {
      get a() {
        reads++;
        return reads;
      },
    };
    expect(copyJson(value)).toEqual({ a: 1 });
    expect(reads).toBe(1);
  });

  it('gives up while Object.prototype has an enumerable key (for...in would list it)', () => {
    let copy: unknown;
    Object.defineProperty(Object.prototype, 'polluted', {
      value: 1,
      enumerable: true,
      configurable: true,
      writable: true,
    });
    try {
      copy = copyJson({ a: 1 });
    } finally {
      delete (Object.prototype as { polluted?: unknown }).polluted;
    }
    expect(copy).toBe(NOT_COPIED);
    expect(copyJson({ a: 1 })).toEqual({ a: 1 });
  });
});
