/**
 * The lean decoder of server frames: what `@wardcast/client` ships to browsers instead of the
 * zod schemas (with it the client core is ~6 KB min+gzip; with zod it was ~12.8 KB). A separate
 * entry point (`@wardcast/protocol/lean`) with no schema library behind it, so a client that
 * imports only this never loads zod.
 *
 * {@link LEAN_SERVER_FRAMES} restates every server frame schema of `server-frames.ts` (the
 * source of truth) field by field, in the same order, as plain data. The protocol's tests derive
 * the same table from the zod schemas and require it to be equal, and property tests require
 * {@link decodeServerFrame} and `parseServerFrame` to agree on every input: same acceptance,
 * same output (unknown fields dropped, nested objects and arrays copied, `payload` passed by
 * reference), same error code and `path`. Only the error `message` is shorter.
 *
 * @packageDocumentation
 * @module \@wardcast/protocol/lean
 */
import { type Checked, guarded, type ParseResult, parseObject, pathOf } from './frame-input.js';
import { KIND_PATTERN, PHI_LEVELS, PRIORITIES, TOPIC_PATTERN } from './names.js';
import type { ServerFrame, ServerFrameType } from './server-frames.js';

export type { ClientFrame } from './client-frames.js';
export { CloseCode, type CloseCodeInfo, closeCodes, FATAL_CLOSE_CODES, shouldReconnect } from './close-codes.js';
export { ErrorCode, isWardcastError, WardcastError } from './error-codes.js';
export type { FrameError, ParseResult } from './frame-input.js';
export { isValidTopic, KIND_PATTERN, MAX_TOPICS_PER_FRAME, TOPIC_PATTERN } from './names.js';
export type { PhiLevel, Priority, StreamPosition } from './primitives.js';
export type {
  AuthenticatedFrame,
  ErrorFrame,
  NotificationFrame,
  PongFrame,
  PresenceFrame,
  ReceiptFrame,
  ServerFrame,
  ServerFrameType,
  ServerLimits,
  SubscribedFrame,
  SubscriptionResult,
  TelemetryFrame,
  UnsubscribedFrame,
  WelcomeFrame,
} from './server-frames.js';

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
  | LeanObject;

/**
 * An object spec: its fields in the order the zod schema lists them. See {@link LeanSpec}.
 *
 * @category Parsing
 */
export interface LeanObject {
  readonly [key: string]: LeanSpec;
}

const REF: LeanSpec = ['?', ['s', 1, 64]];
const ID: LeanSpec = ['s', 1, 128];
const PHI: LeanSpec = ['?', ['e', ...PHI_LEVELS]];
const USER_IDS: LeanSpec = ['?', ['a', 's']];

/**
 * Every server frame's fields, by `type` (the `type` field itself is implied), as checked by
 * {@link decodeServerFrame}: the zod schemas of `server-frames.ts` restated as data. See
 * {@link LeanSpec} for the notation.
 *
 * @category Parsing
 */
export const LEAN_SERVER_FRAMES: { readonly [T in ServerFrameType]: LeanObject } = {
  welcome: {
    protocol: 'i',
    sessionId: 's',
    heartbeatMs: 'i',
    authenticated: 'b',
    limits: { maxFrameBytes: 'i', maxFramesPerSecond: 'n', maxSubscriptions: 'i', authTimeoutMs: 'i' },
  },
  authenticated: { userId: 's', expiresAt: ['?', 'n'], ref: REF },
  subscribed: {
    topics: [
      'a',
      {
        topic: 's',
        status: ['e', 'ok', 'denied'],
        recovered: 'b',
        position: ['?', { epoch: ['s', 1, 64], seq: ['i', 0] }],
        code: ['?', 's'],
        phi: PHI,
      },
    ],
    ref: REF,
  },
  unsubscribed: { topics: ['a', 's'], code: ['?', 's'], ref: REF },
  notification: {
    id: ID,
    topic: ['r', TOPIC_PATTERN],
    epoch: 's',
    seq: ['i', 1],
    kind: ['r', KIND_PATTERN],
    priority: ['e', ...PRIORITIES],
    createdAt: 's',
    payload: 'u',
    phi: PHI,
  },
  receipt: { id: ID, action: ['e', 'ack', 'read'], ref: REF },
  error: { code: 's', message: 's', ref: REF, retryAfterMs: ['?', ['i', 0]] },
  pong: { ts: ['?', 'n'], ref: REF },
  presence: { topic: 's', members: USER_IDS, joined: USER_IDS, left: USER_IDS },
  telemetry: { rttMs: ['?', 'n'], connections: 'i', eventLoopLagMs: 'n', broker: ['e', 'ok', 'degraded'], at: 'n' },
};

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
 * Parses a frame sent by the hub (what a client receives) without zod: accepts and refuses
 * exactly what `parseServerFrame` does and returns the same frame; a refusal has the same `code`
 * and `path`, with a shorter `message` (`<type>: <path>: invalid value`). Never throws.
 *
 * @example
 * ```ts
 * import { decodeServerFrame } from '@wardcast/protocol/lean';
 *
 * ws.onmessage = (event) => {
 *   const r = decodeServerFrame(event.data);
 *   if (r.ok && r.frame.type === 'notification') show(r.frame);
 * };
 * ```
 *
 * @category Parsing
 */
export function decodeServerFrame(data: unknown): ParseResult<ServerFrame> {
  return guarded(parseObject<ServerFrame>, data, checkFrame);
}

function checkFrame(type: string, value: object): Checked | undefined {
  if (!Object.hasOwn(LEAN_SERVER_FRAMES, type)) return undefined;
  const frame = object(LEAN_SERVER_FRAMES[type as ServerFrameType], value, { type });
  if (frame !== BAD) return { ok: true, frame };
  const path = pathOf(trail.reverse());
  trail = [];
  return { ok: false, path, detail: 'invalid value' };
}
