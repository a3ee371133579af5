import * as z from 'zod/mini';
import {
  kindSchema,
  notificationIdSchema,
  phiLevelSchema,
  prioritySchema,
  refSchema,
  streamPositionSchema,
  topicSchema,
} from './primitives.js';

/**
 * Protocol 1, the handshake of `welcome`, `auth` and `subscribe`: the version a hub announces in
 * `welcome.protocol`, and what every connection speaks unless its client asks for
 * {@link LATEST_PROTOCOL_VERSION}.
 *
 * @category Frames
 */
export const PROTOCOL_VERSION = 1;

export { LATEST_PROTOCOL_VERSION, PROTOCOL_2_QUERY } from './names.js';

/**
 * Limits the hub enforces, announced in `welcome` so clients can stay inside them.
 *
 * @category Frames
 */
export const serverLimitsSchema = /* @__PURE__ */ z.object({
  maxFrameBytes: z.int(),
  maxFramesPerSecond: z.number(),
  maxSubscriptions: z.int(),
  authTimeoutMs: z.int(),
});
/**
 * @see {@link serverLimitsSchema}
 *
 * @category Frames
 */
export type ServerLimits = z.infer<typeof serverLimitsSchema>;

/**
 * `welcome`: first frame on every connection.
 *
 * @category Frames
 */
export const welcomeFrameSchema = /* @__PURE__ */ z.object({
  type: z.literal('welcome'),
  protocol: z.int(),
  sessionId: z.string(),
  /** Interval of the hub's WebSocket pings; a client that sees no traffic for ~2x this may assume the link is dead. */
  heartbeatMs: z.int(),
  /** `true` when the upgrade request already authenticated the connection (header or cookie). */
  authenticated: z.boolean(),
  limits: serverLimitsSchema,
});
/**
 * @see {@link welcomeFrameSchema}
 *
 * @category Frames
 */
export type WelcomeFrame = z.infer<typeof welcomeFrameSchema>;

/**
 * `authenticated`: the connection (re-)authenticated as `userId`, valid until `expiresAt` (ms since epoch) if set.
 *
 * @category Frames
 */
export const authenticatedFrameSchema = /* @__PURE__ */ z.object({
  type: z.literal('authenticated'),
  userId: z.string(),
  expiresAt: z.optional(z.number()),
  ref: z.optional(refSchema),
});
/**
 * @see {@link authenticatedFrameSchema}
 *
 * @category Frames
 */
export type AuthenticatedFrame = z.infer<typeof authenticatedFrameSchema>;

/**
 * The result for one topic of a `subscribe` frame.
 *
 * @category Frames
 */
export const subscriptionResultSchema = /* @__PURE__ */ z.object({
  topic: z.string(),
  status: z.enum(['ok', 'denied']),
  /**
   * `true` when the client sent a resume point and everything after it was replayed.
   * `false` when it sent none (nothing replayed) or history could not cover it: then the
   * client must resync from its source of truth (a gap).
   */
  recovered: z.boolean(),
  /** Current end of the topic's stream, after any replay. Absent when denied. */
  position: z.optional(streamPositionSchema),
  /** Why the topic was denied. */
  code: z.optional(z.string()),
  /** Payload level granted, when not `full`. */
  phi: z.optional(phiLevelSchema),
});
/**
 * @see {@link subscriptionResultSchema}
 *
 * @category Frames
 */
export type SubscriptionResult = z.infer<typeof subscriptionResultSchema>;

/**
 * `subscribed`: per-topic results of a `subscribe` frame, sent after any replayed notifications.
 *
 * @category Frames
 */
export const subscribedFrameSchema = /* @__PURE__ */ z.object({
  type: z.literal('subscribed'),
  topics: z.array(subscriptionResultSchema),
  ref: z.optional(refSchema),
});
/**
 * @see {@link subscribedFrameSchema}
 *
 * @category Frames
 */
export type SubscribedFrame = z.infer<typeof subscribedFrameSchema>;

/**
 * `ready` (protocol 2): the one reply to `hello`. It carries what `welcome`, `authenticated` and
 * `subscribed` carry in protocol 1: the session, the limits, the authenticated user and one result
 * per topic of the `hello` (after the notifications their resume points replay).
 *
 * @category Frames
 */
export const readyFrameSchema = /* @__PURE__ */ z.object({
  type: z.literal('ready'),
  protocol: z.int(),
  sessionId: z.string(),
  heartbeatMs: z.int(),
  limits: serverLimitsSchema,
  userId: z.string(),
  expiresAt: z.optional(z.number()),
  topics: z.array(subscriptionResultSchema),
  ref: z.optional(refSchema),
});
/**
 * @see {@link readyFrameSchema}
 *
 * @category Frames
 */
export type ReadyFrame = z.infer<typeof readyFrameSchema>;

/**
 * `unsubscribed`: the topics the connection left. The reply to an `unsubscribe` frame (with its
 * `ref`, no `code`), or, with a `code` and no `ref`, topics the hub removed on its own: a
 * re-authorization (after an in-band token refresh, or every `reauthorizeIntervalMs`) found
 * that `authorize` no longer allows them (`topic_denied`). A client must not subscribe to such a
 * topic again by itself. Clients that predate `code` ignore the frame (they learn of the refusal
 * as a `denied` result on their next subscribe).
 *
 * @category Frames
 */
export const unsubscribedFrameSchema = /* @__PURE__ */ z.object({
  type: z.literal('unsubscribed'),
  topics: z.array(z.string()),
  /** Why the hub removed the topics (`topic_denied`); absent when the client asked. */
  code: z.optional(z.string()),
  ref: z.optional(refSchema),
});
/**
 * @see {@link unsubscribedFrameSchema}
 *
 * @category Frames
 */
export type UnsubscribedFrame = z.infer<typeof unsubscribedFrameSchema>;

/**
 * `notification`: one notification on a topic the connection subscribed to.
 *
 * @category Frames
 */
export const notificationFrameSchema = /* @__PURE__ */ z.object({
  type: z.literal('notification'),
  id: notificationIdSchema,
  topic: topicSchema,
  epoch: z.string(),
  seq: z.int().check(z.gte(1)),
  kind: kindSchema,
  priority: prioritySchema,
  /** ISO 8601 time the hub accepted the notification. */
  createdAt: z.string(),
  payload: z.unknown(),
  /** Present when the payload was reduced for this subscriber (`id-only` or `empty`). */
  phi: z.optional(phiLevelSchema),
});
/**
 * @see {@link notificationFrameSchema}
 *
 * @category Frames
 */
export type NotificationFrame = z.infer<typeof notificationFrameSchema>;

/**
 * `receipt`: the hub recorded an `ack` or `read` from this connection (with its `ref`), or, on a
 * hub with an inbox, from another connection of the same user (no `ref`): read state shared live
 * by a user's devices. Clients keep an ack or read queued (and resend it after a reconnect) until
 * its receipt arrives.
 *
 * @category Frames
 */
export const receiptFrameSchema = /* @__PURE__ */ z.object({
  type: z.literal('receipt'),
  id: notificationIdSchema,
  action: z.enum(['ack', 'read']),
  ref: z.optional(refSchema),
});
/**
 * @see {@link receiptFrameSchema}
 *
 * @category Frames
 */
export type ReceiptFrame = z.infer<typeof receiptFrameSchema>;

/**
 * `error`: something about a client frame or the connection was wrong; `ref` points at the frame
 * when it had one. `retryAfterMs`, when set, is the least time (ms) to wait before reconnecting
 * (sent with `too_many_connections` right before the hub closes with `4430`).
 *
 * @category Frames
 */
export const errorFrameSchema = /* @__PURE__ */ z.object({
  type: z.literal('error'),
  code: z.string(),
  message: z.string(),
  ref: z.optional(refSchema),
  /** Least time (ms) to wait before reconnecting, e.g. until a connection slot may free. */
  retryAfterMs: z.optional(z.int().check(z.gte(0))),
});
/**
 * @see {@link errorFrameSchema}
 *
 * @category Frames
 */
export type ErrorFrame = z.infer<typeof errorFrameSchema>;

/**
 * `pong`: answer to `ping`, echoing its `ts`.
 *
 * @category Frames
 */
export const pongFrameSchema = /* @__PURE__ */ z.object({
  type: z.literal('pong'),
  ts: z.optional(z.number()),
  ref: z.optional(refSchema),
});
/**
 * @see {@link pongFrameSchema}
 *
 * @category Frames
 */
export type PongFrame = z.infer<typeof pongFrameSchema>;

const userIdsSchema = /* @__PURE__ */ z.optional(z.array(z.string()));

/**
 * `presence`: who is subscribed to `topic` on this hub instance, by user id (never tokens).
 * Sent only to connections that subscribed with `presence: true`: once with `members` (the full
 * list, right after the `subscribed` reply), then with `joined` when a user's first connection
 * subscribes and `left` when their last one unsubscribes or disconnects.
 *
 * @category Frames
 */
export const presenceFrameSchema = /* @__PURE__ */ z.object({
  type: z.literal('presence'),
  topic: z.string(),
  /** Every user subscribed to the topic, the receiver included. Replaces any list the client had. */
  members: userIdsSchema,
  /** Users who just subscribed (their first connection on the topic). */
  joined: userIdsSchema,
  /** Users who just left (their last connection on the topic unsubscribed or closed). */
  left: userIdsSchema,
});
/**
 * @see {@link presenceFrameSchema}
 *
 * @category Frames
 */
export type PresenceFrame = z.infer<typeof presenceFrameSchema>;

/**
 * `telemetry`: link and hub health, sent every `telemetryIntervalMs` to connections that sent
 * `{ type: 'telemetry', enabled: true }`.
 *
 * @category Frames
 */
export const telemetryFrameSchema = /* @__PURE__ */ z.object({
  type: z.literal('telemetry'),
  /** This connection's last WebSocket ping round trip, ms; absent until the first pong. */
  rttMs: z.optional(z.number()),
  /** Open connections on this hub instance. */
  connections: z.int(),
  /** Event loop delay of the hub process over the last interval (p99, ms). */
  eventLoopLagMs: z.number(),
  /** `degraded` when the broker reports trouble reaching other instances. */
  broker: z.enum(['ok', 'degraded']),
  /** When the hub built the frame, ms since epoch. */
  at: z.number(),
});
/**
 * @see {@link telemetryFrameSchema}
 *
 * @category Frames
 */
export type TelemetryFrame = z.infer<typeof telemetryFrameSchema>;

/**
 * Every frame the hub may send, discriminated on `type`.
 *
 * @category Frames
 */
export const serverFrameSchema = /* @__PURE__ */ z.discriminatedUnion('type', [
  welcomeFrameSchema,
  authenticatedFrameSchema,
  subscribedFrameSchema,
  readyFrameSchema,
  unsubscribedFrameSchema,
  notificationFrameSchema,
  receiptFrameSchema,
  errorFrameSchema,
  pongFrameSchema,
  presenceFrameSchema,
  telemetryFrameSchema,
]);
/**
 * Every frame the hub may send.
 *
 * @category Frames
 */
export type ServerFrame = z.infer<typeof serverFrameSchema>;
/**
 * The `type` of a server frame.
 *
 * @category Frames
 */
export type ServerFrameType = ServerFrame['type'];
/**
 * The schema of each server frame, by `type`.
 *
 * @category Frames
 */
export const SERVER_FRAME_SCHEMAS = {
  welcome: welcomeFrameSchema,
  authenticated: authenticatedFrameSchema,
  subscribed: subscribedFrameSchema,
  ready: readyFrameSchema,
  unsubscribed: unsubscribedFrameSchema,
  notification: notificationFrameSchema,
  receipt: receiptFrameSchema,
  error: errorFrameSchema,
  pong: pongFrameSchema,
  presence: presenceFrameSchema,
  telemetry: telemetryFrameSchema,
} as const;
/**
 * The `type` values the hub may send.
 *
 * @category Frames
 */
export const SERVER_FRAME_TYPES: readonly ServerFrameType[] = [
  'welcome',
  'authenticated',
  'subscribed',
  'ready',
  'unsubscribed',
  'notification',
  'receipt',
  'error',
  'pong',
  'presence',
  'telemetry',
];
