import {
  CLIENT_FRAME_TYPES,
  type ParseResult,
  parseClientFrame,
  parseFrame,
  parseServerFrame,
  SERVER_FRAME_TYPES,
} from '@wardcast/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/**
 * Property tests of the frame parsers: for arbitrary strings, bytes and JSON they never throw,
 * and a parse error never repeats what was sent (errors.md: messages name fields, never values).
 * A marker is planted in the input (in string values, keys, types, refs); it must not appear in
 * the error's `message` or `path`. (`ref` is the sender's own correlation string, returned by
 * design, so it is not checked.)
 */

const MARKER = 'Qz7MarkerXw9';
const RUNS = 600;

const parsers: readonly [string, (data: unknown) => ParseResult<unknown>][] = [
  ['parseClientFrame', parseClientFrame],
  ['parseServerFrame', parseServerFrame],
  ['parseFrame', parseFrame],
];

/** A string that contains the marker somewhere. */
const marked = fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })).map(([a, b]) => `${a}${MARKER}${b}`);
/** A string that may contain the marker. */
const text = fc.oneof({ weight: 2, arbitrary: marked }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }) });

/** Field names the frames use, so that generated objects reach the schemas' inner checks. */
const FIELDS = [
  'type',
  'ref',
  'token',
  'topics',
  'topic',
  'since',
  'epoch',
  'seq',
  'phi',
  'unread',
  'id',
  'ids',
  'enabled',
  'code',
  'message',
  'retryAfterMs',
  'payload',
  'kind',
  'priority',
  'createdAt',
  'status',
  'members',
  'limits',
] as const;

/** Arbitrary JSON whose string leaves and keys often carry the marker. */
const { json } = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('json'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), text), tie('json'), { maxKeys: 5 }),
  ),
}));

/** A frame of a known type whose other fields are arbitrary (marked) JSON. */
const frameShaped = fc
  .tuple(
    fc.constantFrom(...CLIENT_FRAME_TYPES, ...SERVER_FRAME_TYPES),
    fc.dictionary(fc.constantFrom(...FIELDS), json, { maxKeys: 6 }),
    fc.option(fc.array(fc.dictionary(fc.constantFrom(...FIELDS), json, { maxKeys: 4 }), { maxLength: 3 })),
  )
  .map(([type, fields, topics]) => ({ ...fields, type, ...(topics === null ? {} : { topics }) }));

/** A frame with a marked `type`: unknown to both sides. */
const unknownType = fc
  .tuple(marked, fc.dictionary(fc.constantFrom(...FIELDS), json, { maxKeys: 4 }))
  .map(([type, fields]) => ({ ...fields, type }));

function expectNoEcho(name: string, result: ParseResult<unknown>): void {
  if (result.ok) return;
  expect(result.error.message, `${name} message`).not.toContain(MARKER);
  expect(result.error.path ?? '', `${name} path`).not.toContain(MARKER);
  expect(result.error.message.length, `${name} message length`).toBeLessThan(300);
}

/** Runs every parser on `input`: none may throw, none may echo the marker. */
function check(input: unknown): number {
  let failures = 0;
  for (const [name, parse] of parsers) {
    let result: ParseResult<unknown>;
    try {
      result = parse(input);
    } catch (error) {
      throw new Error(`${name} threw: ${String(error)}`);
    }
    expectNoEcho(name, result);
    if (!result.ok) failures++;
  }
  return failures;
}

describe('frame parsers (property)', () => {
  it('never throw and never echo input for arbitrary strings', () => {
    let errors = 0;
    fc.assert(
      fc.property(fc.oneof(text, fc.string({ unit: 'binary', maxLength: 64 })), (input) => {
        errors += check(input);
      }),
      { numRuns: RUNS },
    );
    console.log(`[property] parsers on ${RUNS} arbitrary strings: ${errors} parse errors, none echoed input`);
  });

  it('never throw and never echo input for arbitrary JSON, as text and as decoded values', () => {
    let errors = 0;
    fc.assert(
      fc.property(json, (value) => {
        errors += check(JSON.stringify(value));
        errors += check(value);
      }),
      { numRuns: RUNS },
    );
    console.log(
      `[property] parsers on ${RUNS} arbitrary JSON values (text and decoded): ${errors} parse errors, none echoed`,
    );
  });

  it('never echo a field value of a frame of a known type (the errors reach the schemas)', () => {
    let errors = 0;
    let deep = 0;
    fc.assert(
      fc.property(frameShaped, (frame) => {
        errors += check(JSON.stringify(frame));
        const r = parseFrame(frame);
        if (!r.ok && (r.error.path ?? '').includes('.')) deep++;
      }),
      { numRuns: RUNS },
    );
    expect(deep, 'some errors were about nested fields').toBeGreaterThan(0);
    console.log(
      `[property] parsers on ${RUNS} frames of known types: ${errors} errors (${deep} on nested fields), none echoed`,
    );
  });

  it('never echo an unknown frame type', () => {
    fc.assert(
      fc.property(unknownType, (frame) => {
        for (const [, parse] of parsers) {
          const r = parse(JSON.stringify(frame));
          expect(r.ok).toBe(false);
          if (!r.ok) expect(r.error.code).toBe('unknown_type');
        }
        check(frame);
      }),
      { numRuns: 200 },
    );
    console.log(
      '[property] parsers on 200 frames with a marked type: unknown_type every time, the type never repeated',
    );
  });

  it('never throw and never echo input for arbitrary bytes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          json.map((v) => new TextEncoder().encode(JSON.stringify(v))),
        ),
        (bytes) => {
          check(bytes);
          check(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
        },
      ),
      { numRuns: 300 },
    );
    console.log('[property] parsers on 300 arbitrary byte arrays and buffers: no throw, no echo');
  });
});
