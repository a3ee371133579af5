import type { Broker } from '../broker/types.js';
import type { EscalationStore } from '../escalation/types.js';
import type { HistoryStore } from '../history/types.js';
import type { InboxStore } from '../inbox/types.js';
import type { Logger } from './logger.js';
import type { PublishStage } from './publish-pipeline.js';
import type { Authenticate, Authorize, OriginCheck, PhiPolicy, UpgradeRequestLike } from './types.js';

/**
 * Limits the hub enforces. Every one has a default in {@link DEFAULT_LIMITS}; pass a smaller
 * value to tighten it.
 *
 * @category Hub
 */
export interface HubLimits {
  /**
   * Largest frame a client may send, in bytes. A larger one closes the socket with `1009`.
   * @default 65_536 (64 KiB)
   */
  readonly maxFrameBytes?: number;
  /**
   * Largest published payload (its JSON), in bytes; a larger one is rejected with `payload_too_large`.
   * @default 32_768 (32 KiB)
   */
  readonly maxPayloadBytes?: number;
  /**
   * Frames per second a connection may send, averaged over a burst of twice this many.
   * Past it the socket is closed with `4429` (RateLimited).
   * @default 20
   */
  readonly maxFramesPerSecond?: number;
  /**
   * Open connections per user (tabs, devices). One more is closed with `4430` (TooManyConnections).
   * @default 10
   */
  readonly maxConnectionsPerUser?: number;
  /**
   * Topics one connection may subscribe to; further topics are denied with `too_many_subscriptions`.
   * @default 100
   */
  readonly maxSubscriptions?: number;
  /**
   * Bytes that may wait in a connection's send buffer. A delivery (live or replayed) that finds
   * more than this queued closes the socket with `4440` (SlowConsumer) instead of growing server
   * memory, so a buffer never exceeds it by more than one frame; the client resumes.
   * @default 1_048_576 (1 MiB)
   */
  readonly maxBufferedBytes?: number;
  /**
   * Malformed frames that close a connection with `4400` (BadFrame): the connection is closed
   * at its `maxInvalidFrames`-th malformed frame. Each one is answered with an `error` frame.
   * @default 10
   */
  readonly maxInvalidFrames?: number;
  /**
   * Time a new connection has to authenticate before it is closed with `4408` (AuthTimeout).
   * @default 10_000
   */
  readonly authTimeoutMs?: number;
  /**
   * Time past a principal's `expiresAt` before the socket is closed with `4419` (TokenExpired),
   * unless it re-authenticated in-band.
   * @default 30_000
   */
  readonly tokenExpiryGraceMs?: number;
  /**
   * Interval of WebSocket pings. A connection that has not answered one ping by the next is
   * terminated and freed.
   * @default 30_000
   */
  readonly heartbeatIntervalMs?: number;
  /**
   * Time `close()` waits for clients to finish the closing handshake before terminating them;
   * also the time any connection the hub closes has to answer its close frame.
   * @default 5_000
   */
  readonly closeTimeoutMs?: number;
  /**
   * Interval of `telemetry` frames to connections that opted in (`{ type: 'telemetry', enabled: true }`).
   * One hub-wide timer, running only while some connection is opted in.
   * @default 1_000
   */
  readonly telemetryIntervalMs?: number;
  /**
   * Most unread inbox notifications replayed to a subscribe with `unread: true` (the newest
   * ones, sent oldest first); older unread ones stay listed in the inbox.
   * @default 500
   */
  readonly maxInboxReplay?: number;
  /**
   * Notifications per connection the hub remembers as sent to it (live, replayed or from the
   * inbox), newest kept, so that an `ack` or `read` of one of them is accepted without asking a
   * store. An `ack`/`read` of any other id is accepted only when the user's inbox has it or it is
   * an escalation the user may acknowledge; otherwise it is refused with `unknown_notification`.
   * Allocated on a connection's first delivery (an idle connection holds none) and grown with
   * use; two references per entry, about 5 KiB per connection once full at the default.
   * @default 256
   */
  readonly maxRecentDeliveries?: number;
  /**
   * Frames a connection may send before it is authenticated (while the upgrade-time
   * `authenticate` runs and until an `auth` or `hello` frame succeeds). One more closes the
   * socket with `4429` (RateLimited). A well-behaved client sends one (`hello`, or `auth` in
   * protocol 1), perhaps with a few `subscribe`s pipelined behind it.
   * @default 8
   */
  readonly maxPreAuthFrames?: number;
  /**
   * Bytes (UTF-8) a connection may send before it is authenticated, all frames together. More
   * closes the socket with `4429` (RateLimited). Bounds what the hub holds for a connection whose
   * upgrade-time `authenticate` is slow.
   * @default 65_536 (64 KiB)
   */
  readonly maxPreAuthBytes?: number;
  /**
   * Time an authenticated connection may stay open with no subscription and no frame from the
   * client (application `ping` frames and WebSocket pongs do not count) before it is closed with
   * `4409` (IdleTimeout). A connection with subscriptions is never idle. `0` turns it off.
   * @default 300_000 (5 minutes)
   */
  readonly idleTimeoutMs?: number;
  /**
   * Open connections on this hub instance, authenticated or not (upgrades in progress
   * included). An upgrade past it is refused with HTTP 503 and `Retry-After`.
   * @default 50_000
   */
  readonly maxConnections?: number;
  /**
   * Connections from one client address (see `clientAddress`; IPv6 counted per /64) that are
   * not authenticated yet. An upgrade past it is refused with HTTP 429 and `Retry-After`.
   * @default 256
   */
  readonly maxUnauthenticatedPerAddress?: number;
  /**
   * Upgrade requests per second from one client address (IPv6 per /64), with bursts up to twice
   * this many; refused or not, every request counts. Past it: HTTP 429 with `Retry-After`.
   * @default 200
   */
  readonly maxUpgradesPerSecondPerAddress?: number;
  /**
   * Client addresses whose upgrade rate is remembered at once. The least recently seen one is
   * forgotten first (and any address idle long enough to have its whole burst back), so the
   * state stays bounded whatever the number of addresses.
   * @default 10_000
   */
  readonly maxTrackedAddresses?: number;
}

/**
 * Default values of {@link HubLimits}.
 *
 * @category Hub
 */
export const DEFAULT_LIMITS: Readonly<Required<HubLimits>> = {
  maxFrameBytes: 65_536,
  maxPayloadBytes: 32_768,
  maxFramesPerSecond: 20,
  maxConnectionsPerUser: 10,
  maxSubscriptions: 100,
  maxBufferedBytes: 1_048_576,
  maxInvalidFrames: 10,
  authTimeoutMs: 10_000,
  tokenExpiryGraceMs: 30_000,
  heartbeatIntervalMs: 30_000,
  closeTimeoutMs: 5_000,
  telemetryIntervalMs: 1_000,
  maxInboxReplay: 500,
  maxRecentDeliveries: 256,
  maxPreAuthFrames: 8,
  maxPreAuthBytes: 65_536,
  idleTimeoutMs: 300_000,
  maxConnections: 50_000,
  maxUnauthenticatedPerAddress: 256,
  maxUpgradesPerSecondPerAddress: 200,
  maxTrackedAddresses: 10_000,
};

/** Limits that accept `0` to turn them off. */
const OFF_AT_ZERO: ReadonlySet<keyof HubLimits> = new Set(['idleTimeoutMs']);

/**
 * Options of `new NotificationHub(options)`.
 *
 * @category Hub
 */
export interface HubOptions extends HubLimits {
  /**
   * Decides who a connection is: called once with the upgrade request (read a header or cookie;
   * return `null` to wait for an in-band token) and again with the token of each `auth` frame.
   * Required: the hub accepts no anonymous connections.
   */
  readonly authenticate: Authenticate;
  /**
   * Decides every subscription.
   * @default allows only the principal's own topic, `user:<userId>`
   */
  readonly authorize?: Authorize;
  /**
   * The most of each payload a principal may receive on a topic: `full`, `id-only` or `empty`.
   * Clients may ask for less per subscription. Use it for shared screens, lock-screen
   * notifications, or roles that must not see results.
   * @default () => 'full'
   */
  readonly phiLevel?: PhiPolicy;
  /**
   * Browser origins allowed to connect, compared exactly (scheme, host and port), or a function.
   * Requests without an `Origin` header (servers, native apps) are not browser requests and pass.
   * A rejected origin gets HTTP 403 before the upgrade.
   * @default same host only: the `Origin`'s host and port must match the request's `Host` (the scheme is not compared, since TLS often ends at a proxy)
   */
  readonly allowedOrigins?: readonly string[] | OriginCheck;
  /** Where topic streams live. @default new MemoryHistoryStore() */
  readonly history?: HistoryStore;
  /**
   * Per-user inbox: notifications to `user:<id>` are recorded (committed) before anyone receives them, `read`/`ack`
   * frames update their shared state (and reach the user's other connections as `receipt`s), and
   * a subscribe with `unread: true` replays the unread ones. Needed by the `/v1/notifications` endpoints.
   * @default none
   */
  readonly inbox?: InboxStore;
  /** How publishes reach every instance. @default new MemoryBroker() */
  readonly broker?: Broker;
  /**
   * Where the state of escalating critical notifications (`publish` with `escalation`) lives.
   * Pending escalations found here are resumed when the hub starts, by their absolute deadlines;
   * the hub closes the store in `close()`.
   * @default new MemoryEscalationStore()
   */
  readonly escalations?: EscalationStore;
  /**
   * More durable side effects of every publish, run in order after the hub's own (the inbox row,
   * the escalation registration), after the history store assigned `(epoch, seq)` and before
   * anyone receives the notification. A stage that throws refuses the publish: it rejects, the
   * stages that ran are reverted, and nobody receives it. See {@link PublishStage}.
   * @default none
   */
  readonly publishStages?: readonly PublishStage[];
  /**
   * Interval (ms) at which the hub calls `authorize` (and `phiLevel`) again for every subscription
   * of every open connection, dropping the ones no longer allowed (the client gets an
   * `unsubscribed` frame with `code: 'topic_denied'`) and lowering PHI levels that policy lowered.
   * The same re-check runs on every in-band token refresh (`auth` frame on an open connection),
   * whatever this is. At least 1 000; one hub-wide timer, at most 8 connections re-checked at a
   * time, and a sweep still running when the next is due is not overlapped.
   * @default off: re-authorization happens on token refresh only (set it when principals have no
   * `expiresAt`, e.g. cookie sessions, or when care-team changes must apply within minutes)
   */
  readonly reauthorizeIntervalMs?: number;
  /**
   * The client address the per-address admission limits count by, and that events, audit
   * records and `authenticate` see as `request.remoteAddress`. Receives the upgrade request with
   * `remoteAddress` set to the TCP peer. Behind a reverse proxy every peer is the proxy: return
   * the client address your proxy reports (e.g. the last `X-Forwarded-For` entry it appended),
   * and only when the hub is reachable through that proxy alone; anyone who reaches the hub
   * directly could otherwise claim any address. A throwing hook counts as the TCP peer.
   *
   * @example
   * ```ts
   * clientAddress: (req) => String(req.headers['x-forwarded-for'] ?? '').split(',').at(-1)?.trim() || req.remoteAddress,
   * ```
   * @default (request) => request.remoteAddress (the TCP peer)
   */
  readonly clientAddress?: (request: UpgradeRequestLike) => string | undefined;
  /** A pino-compatible logger. Nothing is logged per message. @default no logging */
  readonly logger?: Logger;
  /** Generates notification and session ids. @default a random (version 4) UUID, from `crypto.getRandomValues` bytes drawn in batches */
  readonly generateId?: () => string;
}

/**
 * Checks that every limit is a positive finite number. The result starts as a copy of
 * {@link DEFAULT_LIMITS} whose values are then replaced, so that it keeps the literal's shape: an
 * object built key by key ends up a dictionary, and every read of a limit on the fan-out path
 * (`maxBufferedBytes`, once per delivery) would be a hash lookup instead of a field load.
 */
export function resolveLimits(options: HubLimits): Readonly<Required<HubLimits>> {
  const out: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof HubLimits)[]) {
    const value = options[key] ?? DEFAULT_LIMITS[key];
    const min = OFF_AT_ZERO.has(key) ? 0 : Number.MIN_VALUE;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
      throw new TypeError(`NotificationHub: ${key} must be a ${min === 0 ? 'non-negative' : 'positive'} number`);
    }
    out[key] = value;
  }
  return out as Required<HubLimits>;
}
