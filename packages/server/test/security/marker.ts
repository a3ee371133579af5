import type { Logger } from '@wardcast/server';
import fc from 'fast-check';
import { expect } from 'vitest';

/**
 * Echo tests plant this marker in what a client submits (a string value, a key, a path segment,
 * a header) and assert it never comes back in an error message or a response body, nor goes into
 * a log line. It stands for a patient name typed into the wrong box.
 */
export const MARKER = 'Jx9PatientNameQ';

/** A string containing {@link MARKER}, with arbitrary text around it. */
export const marked: fc.Arbitrary<string> = fc
  .tuple(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }))
  .map(([a, b]) => `${a}${MARKER}${b}`);

/** A string that contains the marker two times in three. */
export const maybeMarked: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: marked },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);

/**
 * Arbitrary JSON whose string leaves and keys often carry the marker; `keys` are mixed in so that
 * generated objects reach the inner checks of the schemas under test.
 */
export function markedJson(keys: readonly string[] = []): fc.Arbitrary<unknown> {
  const key = keys.length > 0 ? fc.oneof(fc.constantFrom(...keys), maybeMarked) : maybeMarked;
  const { json } = fc.letrec<{ json: unknown }>((tie) => ({
    json: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      maybeMarked,
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('json'), { maxLength: 3 }),
      fc.dictionary(key, tie('json'), { maxKeys: 5 }),
    ),
  }));
  return json;
}

/** Serializes anything, errors included (message, stack, cause), for a marker search. */
export function dump(value: unknown): string {
  const seen = new WeakSet<object>();
  const replacer = (_key: string, v: unknown): unknown => {
    if (typeof v === 'bigint') return String(v);
    if (v instanceof Error) return { name: v.name, message: v.message, stack: v.stack, cause: v.cause };
    if (typeof v === 'object' && v !== null) {
      if (seen.has(v)) return '[cycle]';
      seen.add(v);
    }
    return v;
  };
  return JSON.stringify(value, replacer) ?? String(value);
}

/** A logger that keeps every call serialized, so a test can search them for the marker. */
export function markerLogger(): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  const log =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push(`${level} ${msg ?? ''} ${dump(obj)}`);
    };
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/** Asserts that `text` does not contain the marker, in any letter case (a method is upper-cased). */
export function expectNoMarker(text: string, where: string): void {
  const found = text.toLowerCase().includes(MARKER.toLowerCase());
  expect(found, `${where} repeats submitted input: ${text.slice(0, 300)}`).toBe(false);
}
