import type { ClientFrame, ClientFrameType } from './client-frames.js';
import { type Checked, guarded, type ParseResult, parseObject } from './frame-input.js';
import { acceptsAsIs } from './lean-exact.js';
import { checkLean, type LeanObject, type LeanSpec } from './lean-spec.js';
import { MAX_TOPICS_PER_FRAME, PHI_LEVELS, TOPIC_PATTERN } from './names.js';

const REF: LeanSpec = ['?', ['s', 1, 64]];
const ID: LeanSpec = ['s', 1, 128];
const TOPIC: LeanSpec = ['r', TOPIC_PATTERN];
const TOKEN: LeanSpec = ['s', 1, 16_384];
const SUBSCRIBE_TOPIC: LeanSpec = {
  topic: TOPIC,
  since: ['?', { epoch: ['s', 1, 64], seq: ['i', 0] }],
  phi: ['?', ['e', ...PHI_LEVELS]],
  presence: ['?', 'b'],
  unread: ['?', 'b'],
};

/**
 * Every client frame's fields, by `type` (the `type` field itself is implied), as checked by
 * {@link decodeClientFrame}: the zod schemas of `client-frames.ts` restated as data, field by
 * field and in the same order (the protocol's tests derive this table from the schemas and require
 * it to be equal). See {@link LeanSpec} for the notation.
 *
 * @category Parsing
 */
export const LEAN_CLIENT_FRAMES: { readonly [T in ClientFrameType]: LeanObject } = {
  auth: { token: TOKEN, ref: REF },
  hello: { token: ['?', TOKEN], topics: ['?', ['a', SUBSCRIBE_TOPIC, 0, MAX_TOPICS_PER_FRAME]], ref: REF },
  subscribe: { topics: ['a', SUBSCRIBE_TOPIC, 1, MAX_TOPICS_PER_FRAME], ref: REF },
  unsubscribe: { topics: ['a', TOPIC, 1, MAX_TOPICS_PER_FRAME], ref: REF },
  ack: { id: ID, ref: REF },
  read: { id: ID, ref: REF },
  ping: { ts: ['?', 'n'], ref: REF },
  telemetry: { enabled: 'b', ref: REF },
};

/**
 * Parses a frame sent by a client (what the hub receives) without zod, several times faster than
 * `parseClientFrame`: accepts and refuses exactly what `parseClientFrame` does and returns the
 * same frame; a refusal has the same `code`, `path` and `ref`, with a shorter `message`
 * (`<type>: <path>: invalid value`). The hub decodes with it and asks `parseClientFrame` only for
 * the message of a frame it refuses. Never throws.
 *
 * @example
 * ```ts
 * const r = decodeClientFrame('{"type":"auth","token":"t0k3n"}');
 * if (r.ok && r.frame.type === 'auth') r.frame.token; // 't0k3n'
 * ```
 *
 * @category Parsing
 */
export function decodeClientFrame(data: unknown): ParseResult<ClientFrame> {
  return guarded(parseObject<ClientFrame>, data, checkFrame);
}

/**
 * A frame accepted as it is (no unknown keys: what a client built on this package sends) is
 * returned itself, uncopied; anything else goes through the copying checker, which drops unknown
 * keys and names a refused field.
 */
function checkFrame(type: string, value: object): Checked | undefined {
  if (!Object.hasOwn(LEAN_CLIENT_FRAMES, type)) return undefined;
  if (acceptsAsIs(LEAN_CLIENT_FRAMES[type as ClientFrameType], value, 1)) return { ok: true, frame: value };
  return checkLean(LEAN_CLIENT_FRAMES, type, value);
}
