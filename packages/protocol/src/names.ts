/**
 * Names and limits of the wire format that need no schema library: shared by the zod schemas
 * (the protocol's source of truth) and by the lean decoder the browser client ships.
 */

/**
 * Topic names: `user:<id>`, `patient:<id>`, `broadcast`, or any `[A-Za-z0-9_.:-]{1,128}` name.
 *
 * @category Primitives
 */
export const TOPIC_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * Notification kinds: lower-case, `[a-z][a-z0-9_.:-]{0,63}` (namespaced custom kinds use `.` or `:`).
 *
 * @category Primitives
 */
export const KIND_PATTERN = /^[a-z][a-z0-9_.:-]{0,63}$/;

/**
 * Maximum number of topics in one `subscribe` or `unsubscribe` frame.
 *
 * @category Primitives
 */
export const MAX_TOPICS_PER_FRAME = 100;

/**
 * Whether `topic` is a valid topic name.
 *
 * @example
 * ```ts
 * isValidTopic('patient:p9'); // true
 * isValidTopic('patient p9'); // false
 * ```
 *
 * @category Primitives
 */
export function isValidTopic(topic: unknown): topic is string {
  return typeof topic === 'string' && TOPIC_PATTERN.test(topic);
}

/** How urgent a notification can be (`priority`), least urgent first. */
export const PRIORITIES = ['routine', 'urgent', 'critical'] as const;

/** The payload levels (`phi`), most revealing first. */
export const PHI_LEVELS = ['full', 'id-only', 'empty'] as const;

/**
 * Protocol 2: the same frames as protocol 1, with a one-frame-each-way handshake (`hello`
 * answered by `ready`) in place of `welcome`, `auth` and `subscribe`. A client asks for it with
 * {@link PROTOCOL_2_QUERY} in the WebSocket URL; `ready.protocol` confirms it.
 *
 * @category Frames
 */
export const LATEST_PROTOCOL_VERSION = 2;

/**
 * The query parameter that asks a hub for protocol 2 (`wss://host/v1/ws/notifications?protocol=2`).
 * A hub that does not speak it ignores it and sends `welcome`, so a client can fall back.
 *
 * @example
 * ```ts
 * import { PROTOCOL_2_QUERY } from '@wardcast/protocol';
 *
 * const ws = new WebSocket(`wss://api.example.org/v1/ws/notifications?${PROTOCOL_2_QUERY}`);
 * ```
 *
 * @category Frames
 */
export const PROTOCOL_2_QUERY = 'protocol=2';
