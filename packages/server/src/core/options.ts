import type { Broker } from '../broker/types.js';
import type { EscalationStore } from '../escalation/types.js';
import type { HistoryStore } from '../history/types.js';
import type { InboxStore } from '../inbox/types.js';
import type { Logger } from './logger.js';
import type { PublishStage } from './publish-pipeline.js';
import type { Authenticate, Authorize, OriginCheck, PhiPolicy } from './types.js';

/**
 * Limits the hub enforces. Every one has a default in {@link DEFAULT_LIMITS}; pass a smaller
 * value to tighten it.
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
}

/** Default values of {@link HubLimits}. */
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
};

/** Options of `new NotificationHub(options)`. */
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
  /** A pino-compatible logger. Nothing is logged per message. @default no logging */
  readonly logger?: Logger;
  /** Generates notification and session ids. @default crypto.randomUUID */
  readonly generateId?: () => string;
}

/** Checks that every limit is a positive finite number. */
export function resolveLimits(options: HubLimits): Readonly<Required<HubLimits>> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof HubLimits)[]) {
    const value = options[key] ?? DEFAULT_LIMITS[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new TypeError(`NotificationHub: ${key} must be a positive number`);
    }
    out[key] = value;
  }
  return out as Required<HubLimits>;
}
