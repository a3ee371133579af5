import * as z from 'zod/mini';
import { MAX_TOPICS_PER_FRAME } from './names.js';
import { notificationIdSchema, phiLevelSchema, refSchema, streamPositionSchema, topicSchema } from './primitives.js';

export { MAX_TOPICS_PER_FRAME } from './names.js';

// Each schema is built in a `/* @__PURE__ */` arrow that is called at once, so a bundler can drop
// the ones an app never uses: the browser client only parses server frames, and zod calls in a
// schema's fields would otherwise keep every unused client-frame schema in its bundle.

/**
 * `auth`: authenticate (first frame) or re-authenticate (later) with a token.
 * The hub answers `authenticated`, or `error` + close `4401` if the first one fails.
 *
 * @category Frames
 */
export const authFrameSchema = /* @__PURE__ */ (() =>
  z.object({
    type: z.literal('auth'),
    token: z.string().check(z.minLength(1), z.maxLength(16_384)),
    ref: z.optional(refSchema),
  }))();
/**
 * @see {@link authFrameSchema}
 *
 * @category Frames
 */
export type AuthFrame = z.infer<typeof authFrameSchema>;

/**
 * One topic in a `subscribe` frame, with an optional resume point.
 *
 * @category Frames
 */
export const subscribeTopicSchema = /* @__PURE__ */ (() =>
  z.object({
    topic: topicSchema,
    /** Last position the client saw; the hub replays what came after it. */
    since: z.optional(streamPositionSchema),
    /** Payload level wanted; the hub may lower it by policy, never raise it. @default 'full' */
    phi: z.optional(phiLevelSchema),
    /**
     * `true` to follow who else is subscribed: the hub sends a `presence` frame with the full
     * member list right after the `subscribed` reply, then one per user who joins or leaves.
     * @default false
     */
    presence: z.optional(z.boolean()),
    /**
     * `true` on the subscriber's own `user:<id>` topic: when there is no resume point, or history
     * cannot cover it (`recovered: false`), the hub first replays the user's unread notifications
     * from its inbox (oldest first, in seq order), then goes live. Ignored on other topics and on
     * hubs without an inbox. @default false
     */
    unread: z.optional(z.boolean()),
  }))();
/**
 * @see {@link subscribeTopicSchema}
 *
 * @category Frames
 */
export type SubscribeTopic = z.infer<typeof subscribeTopicSchema>;

/**
 * `subscribe`: join topics, each optionally resuming from a `{ epoch, seq }` position.
 *
 * @category Frames
 */
export const subscribeFrameSchema = /* @__PURE__ */ (() =>
  z.object({
    type: z.literal('subscribe'),
    topics: z.array(subscribeTopicSchema).check(z.minLength(1), z.maxLength(MAX_TOPICS_PER_FRAME)),
    ref: z.optional(refSchema),
  }))();
/**
 * @see {@link subscribeFrameSchema}
 *
 * @category Frames
 */
export type SubscribeFrame = z.infer<typeof subscribeFrameSchema>;

/**
 * `hello` (protocol 2): the first frame of a connection opened with `?protocol=2`. It
 * authenticates (with `token`, or without it by the upgrade request's cookie or header) and
 * subscribes to `topics` (as `subscribe` does) in one frame; the hub answers with one `ready`.
 *
 * @category Frames
 */
export const helloFrameSchema = /* @__PURE__ */ (() =>
  z.object({
    type: z.literal('hello'),
    token: z.optional(z.string().check(z.minLength(1), z.maxLength(16_384))),
    topics: z.optional(z.array(subscribeTopicSchema).check(z.minLength(0), z.maxLength(MAX_TOPICS_PER_FRAME))),
    ref: z.optional(refSchema),
  }))();
/**
 * @see {@link helloFrameSchema}
 *
 * @category Frames
 */
export type HelloFrame = z.infer<typeof helloFrameSchema>;

/**
 * `unsubscribe`: leave topics.
 *
 * @category Frames
 */
export const unsubscribeFrameSchema = /* @__PURE__ */ (() =>
  z.object({
    type: z.literal('unsubscribe'),
    topics: z.array(topicSchema).check(z.minLength(1), z.maxLength(MAX_TOPICS_PER_FRAME)),
    ref: z.optional(refSchema),
  }))();
/**
 * @see {@link unsubscribeFrameSchema}
 *
 * @category Frames
 */
export type UnsubscribeFrame = z.infer<typeof unsubscribeFrameSchema>;

/**
 * `ack`: the user acknowledged a notification (e.g. a critical lab result).
 *
 * @category Frames
 */
export const ackFrameSchema = /* @__PURE__ */ (() =>
  z.object({
    type: z.literal('ack'),
    id: notificationIdSchema,
    ref: z.optional(refSchema),
  }))();
/**
 * @see {@link ackFrameSchema}
 *
 * @category Frames
 */
export type AckFrame = z.infer<typeof ackFrameSchema>;

/**
 * `read`: the user read a notification. The hub answers `receipt` and emits a `read` event; a
 * durable inbox store shares the read state with the user's other devices.
 *
 * @category Frames
 */
export const readFrameSchema = /* @__PURE__ */ (() =>
  z.object({
    type: z.literal('read'),
    id: notificationIdSchema,
    ref: z.optional(refSchema),
  }))();
/**
 * @see {@link readFrameSchema}
 *
 * @category Frames
 */
export type ReadFrame = z.infer<typeof readFrameSchema>;

/**
 * `ping`: application-level heartbeat for clients that cannot see WebSocket pings (browsers).
 * The hub answers `pong` with the same `ts`.
 *
 * @category Frames
 */
export const pingFrameSchema = /* @__PURE__ */ (() =>
  z.object({
    type: z.literal('ping'),
    ts: z.optional(z.number()),
    ref: z.optional(refSchema),
  }))();
/**
 * @see {@link pingFrameSchema}
 *
 * @category Frames
 */
export type PingFrame = z.infer<typeof pingFrameSchema>;

/**
 * `telemetry`: turns the hub's periodic `telemetry` frames for this connection on or off.
 * Connections start with it off; it lasts until the socket closes (send it again after a reconnect).
 *
 * @category Frames
 */
export const telemetryRequestFrameSchema = /* @__PURE__ */ (() =>
  z.object({
    type: z.literal('telemetry'),
    enabled: z.boolean(),
    ref: z.optional(refSchema),
  }))();
/**
 * @see {@link telemetryRequestFrameSchema}
 *
 * @category Frames
 */
export type TelemetryRequestFrame = z.infer<typeof telemetryRequestFrameSchema>;

/**
 * Every frame a client may send, discriminated on `type`.
 *
 * @category Frames
 */
export const clientFrameSchema = /* @__PURE__ */ z.discriminatedUnion('type', [
  authFrameSchema,
  helloFrameSchema,
  subscribeFrameSchema,
  unsubscribeFrameSchema,
  ackFrameSchema,
  readFrameSchema,
  pingFrameSchema,
  telemetryRequestFrameSchema,
]);
/**
 * Every frame a client may send.
 *
 * @category Frames
 */
export type ClientFrame = z.infer<typeof clientFrameSchema>;
/**
 * The `type` of a client frame.
 *
 * @category Frames
 */
export type ClientFrameType = ClientFrame['type'];
/**
 * The schema of each client frame, by `type`.
 *
 * @category Frames
 */
export const CLIENT_FRAME_SCHEMAS = {
  auth: authFrameSchema,
  hello: helloFrameSchema,
  subscribe: subscribeFrameSchema,
  unsubscribe: unsubscribeFrameSchema,
  ack: ackFrameSchema,
  read: readFrameSchema,
  ping: pingFrameSchema,
  telemetry: telemetryRequestFrameSchema,
} as const;
/**
 * The `type` values a client may send.
 *
 * @category Frames
 */
export const CLIENT_FRAME_TYPES: readonly ClientFrameType[] = [
  'auth',
  'hello',
  'subscribe',
  'unsubscribe',
  'ack',
  'read',
  'ping',
  'telemetry',
];
