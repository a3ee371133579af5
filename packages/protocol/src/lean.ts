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
import { type Checked, guarded, type ParseResult, parseObject } from './frame-input.js';
import { checkLean, type LeanObject, type LeanSpec } from './lean-spec.js';
import { KIND_PATTERN, PHI_LEVELS, PRIORITIES, TOPIC_PATTERN } from './names.js';
import type { ServerFrame, ServerFrameType } from './server-frames.js';

export type { ClientFrame } from './client-frames.js';
export { CloseCode, type CloseCodeInfo, closeCodes, FATAL_CLOSE_CODES, shouldReconnect } from './close-codes.js';
export { ErrorCode, isWardcastError, WardcastError } from './error-codes.js';
export type { FrameError, ParseResult } from './frame-input.js';
export type { LeanObject, LeanSpec } from './lean-spec.js';
export {
  isValidTopic,
  KIND_PATTERN,
  LATEST_PROTOCOL_VERSION,
  MAX_TOPICS_PER_FRAME,
  PROTOCOL_2_QUERY,
  TOPIC_PATTERN,
} from './names.js';
export type { PhiLevel, Priority, StreamPosition } from './primitives.js';
export type {
  AuthenticatedFrame,
  ErrorFrame,
  NotificationFrame,
  PongFrame,
  PresenceFrame,
  ReadyFrame,
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

const REF: LeanSpec = ['?', ['s', 1, 64]];
const ID: LeanSpec = ['s', 1, 128];
const PHI: LeanSpec = ['?', ['e', ...PHI_LEVELS]];
const USER_IDS: LeanSpec = ['?', ['a', 's']];
const LIMITS: LeanSpec = { maxFrameBytes: 'i', maxFramesPerSecond: 'n', maxSubscriptions: 'i', authTimeoutMs: 'i' };
const RESULT: LeanSpec = {
  topic: 's',
  status: ['e', 'ok', 'denied'],
  recovered: 'b',
  position: ['?', { epoch: ['s', 1, 64], seq: ['i', 0] }],
  code: ['?', 's'],
  phi: PHI,
};

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
    limits: LIMITS,
  },
  authenticated: { userId: 's', expiresAt: ['?', 'n'], ref: REF },
  subscribed: { topics: ['a', RESULT], ref: REF },
  ready: {
    protocol: 'i',
    sessionId: 's',
    heartbeatMs: 'i',
    limits: LIMITS,
    userId: 's',
    expiresAt: ['?', 'n'],
    topics: ['a', RESULT],
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
  return checkLean(LEAN_SERVER_FRAMES, type, value);
}
