import type { PhiLevel, Priority, StreamPosition, TelemetryFrame, WardcastError } from '@wardcast/protocol';
import type { BackoffOptions, CloseInfo } from './backoff.js';

/**
 * An event handler property. Method syntax makes the parameter bivariant, so implementations whose
 * handlers take richer event types (`ws`'s, the DOM's) still match: the client only assigns handlers.
 */
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/**
 * The subset of the WebSocket API the client uses: the browser's, or `ws` in Node.
 *
 * @category Client
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
}

/**
 * A WebSocket constructor: `globalThis.WebSocket` or `ws`'s default export.
 *
 * @category Client
 */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/**
 * A value, or a function returning it (possibly async), resolved on every (re)connect.
 *
 * @category Client
 */
export type Provider<T> = T | (() => T | Promise<T>);

/**
 * Payload types by notification kind, for typed `notification` events (the default when no map
 * is given). Pass your own map, a type or an interface, e.g. `ClinicalKinds` from
 * `@wardcast/protocol/kinds`:
 *
 * @example
 * ```ts
 * interface MyKinds { lab_result: { labOrderId: string; critical: boolean }; appointment: { appointmentId: string } }
 * const client = createNotificationClient<MyKinds>({ url, token });
 * client.on('notification', (n) => { if (n.kind === 'lab_result') n.payload.critical; });
 * ```
 *
 * @category Client
 */
export type NotificationMap = Record<string, unknown>;

/**
 * A notification as the app sees it, typed by `kind` from `M`.
 *
 * @category Client
 */
export type ClientNotification<M extends object = NotificationMap> = {
  [K in keyof M & string]: {
    readonly id: string;
    readonly topic: string;
    readonly epoch: string;
    readonly seq: number;
    readonly kind: K;
    readonly priority: Priority;
    readonly createdAt: string;
    readonly payload: M[K];
  };
}[keyof M & string];

/**
 * Why a socket closed, as shown in `status`.
 *
 * @category Client
 */
export interface CloseReason extends CloseInfo {
  /** `true` when the client will not retry (fatal close code, or `close()` was called). */
  readonly fatal: boolean;
}

/**
 * Connection status: a discriminated union on `state`.
 *
 * @category Client
 */
export type ClientStatus =
  | { readonly state: 'idle' }
  | { readonly state: 'connecting'; readonly attempt: number }
  | { readonly state: 'open'; readonly sessionId: string; readonly userId: string }
  | {
      readonly state: 'reconnecting';
      readonly attempt: number;
      readonly delayMs: number;
      readonly lastClose: CloseInfo;
    }
  | { readonly state: 'closed'; readonly reason: CloseReason };

/**
 * Why the app must resync a topic from its source of truth (e.g. the inbox API).
 *
 * @category Client
 */
export interface GapEvent {
  readonly topic: string;
  /** `history_exceeded`: the hub could not replay everything missed; `seq_jump`/`epoch_changed`: detected on the wire. */
  readonly reason: 'history_exceeded' | 'seq_jump' | 'epoch_changed';
}

/**
 * Events of a notification client; `client.on()` returns the unsubscribe function.
 *
 * @category Client
 */
export interface ClientEvents<M extends object = NotificationMap> {
  /** A new notification, exactly once per id, in seq order per topic. */
  notification: [notification: ClientNotification<M>];
  /** The connection status changed. */
  status: [status: ClientStatus];
  /** A new round-trip measurement of an application ping, ms. */
  latency: [latencyMs: number];
  /** History could not cover a reconnect: resync `topic`. */
  gap: [gap: GapEvent];
  /** The hub refused a topic when (re)subscribing; the client still asks for it on each reconnect. */
  denied: [denied: { readonly topic: string; readonly code: string }];
  /**
   * The hub removed a subscription on its own (`code: 'topic_denied'`: a re-authorization, after
   * a token refresh or on the hub's interval, found `authorize` no longer allows it, e.g. the user
   * left the patient's care team). The topic is dropped from `client.topics` and its resume point
   * forgotten: it is not subscribed again on reconnect (call `subscribe` to ask again).
   */
  revoked: [revoked: { readonly topic: string; readonly code: string }];
  /**
   * The hub refused an ack or read made with `ack()`/`markRead()` with `unknown_notification`: this
   * user was never sent that id and cannot see it (an `error` event with that code comes too). It
   * was dropped from the queue (`pendingReceipts`) and is not resent.
   */
  refused: [refused: { readonly id: string; readonly action: 'ack' | 'read' }];
  /**
   * The hub recorded an ack or read: one this client sent, or, with an inbox on the hub, one made
   * on another of the user's devices (an id this client never marked: mark it read in your UI).
   */
  receipt: [receipt: { readonly id: string; readonly action: 'ack' | 'read' }];
  /**
   * Something went wrong that the client handled (bad frame from the server, token provider threw,
   * ...). `websocket_unavailable`: no WebSocket implementation, the client is `closed`.
   * `handshake_failed`: the socket closed before it opened, with the upgrade's HTTP `status` when
   * the implementation reports it (`ws` does, browsers do not); 403 (origin refused) closes the
   * client, anything else is retried.
   */
  error: [error: WardcastError & { readonly status?: number | undefined }];
  /** The members of a topic followed with presence changed (or the hub sent the full list). */
  presence: [presence: PresenceEvent];
  /** A telemetry frame arrived (with the `telemetry` option). */
  telemetry: [telemetry: TelemetryFrame];
}

/**
 * Who is subscribed to a topic followed with presence: user ids, sorted.
 *
 * @category Client
 */
export interface PresenceEvent {
  readonly topic: string;
  readonly members: readonly string[];
}

/**
 * Key-value storage for resume points across page reloads; `localStorage` fits.
 *
 * @category Client
 */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/**
 * Options of {@link createNotificationClient}.
 *
 * @category Client
 */
export interface ClientOptions {
  /**
   * Hub URL (`wss://host/v1/ws/notifications`), or a function returning it. The client adds the
   * query parameter `protocol=2` (`?protocol=2`, or `&protocol=2` after a query of its own) to ask
   * for protocol 2, and falls back to protocol 1 on a hub that does not speak it.
   */
  readonly url: Provider<string>;
  /**
   * Token sent in the first frame (`hello`, or `auth` to a hub older than protocol 2); a function
   * is called on every (re)connect and before expiry (the refresh goes in an `auth` frame).
   *
   * Leave it out when the upgrade request itself authenticates the connection: a session cookie
   * the browser sends with the upgrade (same site), or a header your `WebSocket` constructor adds
   * (Node). The hub's `authenticate` reads it from `request`. The client then sends its `hello`
   * without a token (to an older hub, no `auth` frame, only `subscribe`) as soon as the socket
   * opens: one frame each way after the upgrade. If the upgrade did not authenticate, the hub
   * refuses the `hello` (an older hub says so in `welcome`); the client reports `auth_failed` and
   * stops (`closed`, code `4401`, fatal), as it does for a refused token.
   * @default none: the upgrade request authenticates
   */
  readonly token?: Provider<string>;
  /** Topics to subscribe to on every connect. @default [] */
  readonly topics?: readonly string[];
  /** WebSocket implementation. @default globalThis.WebSocket (pass `ws` in Node < 22) */
  readonly WebSocket?: WebSocketConstructor;
  /**
   * The Server-Sent Events fallback: `SseSocket` from `@wardcast/client/sse` (a separate entry,
   * so the core stays small without it). With it, the client falls back to SSE where WebSockets
   * are blocked (see `transports`). @default none: WebSocket only
   */
  readonly SSE?: WebSocketConstructor;
  /**
   * Transports to try, in order. A transport that closes or stays silent (no frame within
   * `fallbackTimeoutMs`) before its first frame hands over to the next one at once; the one that
   * worked is remembered for 15 minutes (in memory and in `storage`, or `localStorage` when there
   * is one) and tried first meanwhile. `['sse']` pins SSE. @default ['websocket', 'sse']
   */
  readonly transports?: readonly ('websocket' | 'sse')[];
  /**
   * How long a transport that has a fallback may go without its first frame (a proxy that
   * accepts the WebSocket upgrade and then buffers) before the next one is tried, ms. @default 5_000
   */
  readonly fallbackTimeoutMs?: number;
  /** Connect at creation. @default true */
  readonly autoConnect?: boolean;
  /**
   * Delay before reconnect attempt `attempt` (0-based). A `retryAfterMs` hint from the hub (sent
   * when it refuses a connection for the per-user limit) is a floor under it, capped at 5 minutes.
   * @default full-jitter backoff with `DEFAULT_BACKOFF`
   */
  readonly retryDelay?: (attempt: number) => number;
  /** Backoff settings for the default `retryDelay`. @default DEFAULT_BACKOFF */
  readonly backoff?: Partial<BackoffOptions>;
  /** Whether to reconnect after a close. @default reconnect unless the close code is fatal */
  readonly shouldRetry?: (close: CloseInfo) => boolean;
  /** Interval of application pings that measure latency and detect half-open links, ms. @default 15_000 */
  readonly pingIntervalMs?: number;
  /** Time without any frame after a ping before the link is declared dead and replaced, ms. @default 10_000 */
  readonly pongTimeoutMs?: number;
  /** How long before the token's `expiresAt` to refresh it in-band, ms. @default 60_000 */
  readonly refreshLeewayMs?: number;
  /** Persist resume points here (e.g. `localStorage`) to survive page reloads. @default none */
  readonly storage?: StorageLike;
  /** Key prefix in `storage`. @default 'wardcast' */
  readonly storageKey?: string;
  /** Notification ids remembered for dedupe. @default 2_000 */
  readonly dedupeWindow?: number;
  /**
   * Topics whose members (user ids) to follow, as `presence` events and `client.presence`.
   * Subscribed like `topics`. Change it later with `subscribe(topic, { presence })`. @default []
   */
  readonly presence?: readonly string[];
  /** Ask the hub for `telemetry` frames (link RTT, hub load) on every (re)connect. @default false */
  readonly telemetry?: boolean;
  /**
   * Subscribe to `user:` topics with `unread: true`: when there is no resume point, or the hub's
   * history cannot cover it, a hub with an inbox first replays the user's unread notifications
   * (so a fresh device or a new page gets what arrived while it was away). `false` to get only
   * what history covers. @default true
   */
  readonly unread?: boolean;
  /**
   * PHI level asked for on every topic (`'id-only'` for a wall display or a test tool that must
   * not show names, values or free text). The hub grants the lower of this and its `phiLevel`
   * policy, never more; reduced notifications carry `phi`. @default 'full'
   */
  readonly phi?: PhiLevel;
}

/** Re-exported for convenience. */
export type { StreamPosition, TelemetryFrame };
