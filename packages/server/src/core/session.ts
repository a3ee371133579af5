import {
  type AckFrame,
  type AuthFrame,
  type ClientFrame,
  CloseCode,
  decodeClientFrame,
  ErrorCode,
  type HelloFrame,
  type ParseResult,
  parseClientFrame,
  type ReadFrame,
  type ServerFrame,
  type SubscribeFrame,
  type SubscriptionResult,
  type TelemetryRequestFrame,
  type UnsubscribeFrame,
  WardcastError,
} from '@wardcast/protocol';
import type { AdmissionTicket } from './admission.js';
import { authenticateNow } from './authenticate.js';
import { encodeAuthenticated, encodeReady, encodeSubscribed, encodeWelcome } from './connect-frames.js';
import type { ConnectionInfo, ConnectionRefusalReason } from './events.js';
import { encodeFrame } from './frames.js';
import { asksProtocol2 } from './negotiate.js';
import { leaveTopic, watchPresence } from './presence.js';
import { reauthorizeTopics } from './reauthorize-topics.js';
import { RecentDeliveries } from './recent-deliveries.js';
import { originOf, reportRefusal } from './refusals.js';
import type { SessionHost } from './session-host.js';
import { subscribeTopics } from './subscribe.js';
import { TaskChain, type TaskChainOwner } from './task-chain.js';
import { type QueuedTimer, schedule } from './timers.js';
import { TopicLevels } from './topic-levels.js';
import type { EncodedFrame, SocketHandlers, TransportSocket } from './transport.js';
import type { Principal, UpgradeRequestLike } from './types.js';
import { truncateUtf8, utf8Length } from './utf8.js';

/** Where a session is in its life (a snapshot: the session keeps it in plain fields). */
export type SessionState =
  | { readonly phase: 'authenticating' }
  | { readonly phase: 'awaiting_token' }
  | { readonly phase: 'open'; readonly principal: Principal; readonly cancelExpiry: (() => void) | undefined }
  | { readonly phase: 'closing'; readonly principal: Principal | undefined }
  | { readonly phase: 'closed'; readonly principal: Principal | undefined };

type Phase = SessionState['phase'];

/**
 * One connection: its socket, state, subscriptions and heartbeat. Internal to the hub.
 *
 * Lean by design, as an idle connection holds one of these for hours: plain fields instead of
 * per-session objects (state, token bucket), timers in the hub's shared {@link TimerQueue}
 * (entries only while pending, fired through static methods, no closures), the frame chain back
 * to a shared settled promise whenever nothing is queued, and the recent-deliveries ring created
 * on the first delivery.
 */
export class Session implements SocketHandlers, TaskChainOwner {
  // The four fields a delivery reads come first, side by side: objects are laid out in the order
  // fields are declared, and with thousands of sessions the one a publish goes to is out of cache.
  /** Where the session is in its life (see {@link SessionState}); changed only by `#open`/`#end`. */
  #phase: Phase = 'authenticating';
  readonly socket: TransportSocket;
  readonly #host: SessionHost<Session>;
  /** What this session was sent lately, for `ack`/`read` checks; created on the first delivery. */
  #recent: RecentDeliveries | undefined;
  readonly id: string;
  readonly request: UpgradeRequestLike;
  readonly connectedAt = Date.now();
  /** Topics this session subscribed to (live or syncing), with the PHI level granted. */
  readonly topics = new TopicLevels();
  /** Last measured WebSocket ping round trip, ms. */
  rttMs: number | undefined;
  /** Set when the session opens; kept through `closing` and `closed`. */
  #principal: Principal | undefined;
  /** Cancels the token-expiry close of the current principal (only when it has `expiresAt`). */
  #cancelExpiry: (() => void) | undefined;
  /** Covers the whole time before authentication, including a slow upgrade-time `authenticate`. */
  #authTimer: QueuedTimer | undefined;
  #pingSentAt = 0;
  #awaitingPong = false;
  #invalidFrames = 0;
  /** Code and reason of a close the hub started; reported in `disconnect` even if the peer never answered. */
  #closeSent: { readonly code: number; readonly reason: string } | undefined;
  /** Holds a connection slot taken from the broker (cross-instance limit); given back on release. */
  #reserved = false;
  /** This connection's frames (and reauthorizations), handled one at a time, in order. */
  readonly #tasks: TaskChain = new TaskChain(this);
  /** Token bucket of `maxFramesPerSecond` (burst twice that), refilled lazily on each frame. */
  #tokens: number;
  #tokensAt: number;
  /** This connection's hold on the admission limits (total, unauthenticated per address). */
  readonly #ticket: AdmissionTicket;
  /** Frames and UTF-8 bytes received before the session opened (`maxPreAuthFrames`/`maxPreAuthBytes`). */
  #preAuthFrames = 0;
  #preAuthBytes = 0;
  /** When the client last sent a well-formed frame other than `ping` (or authenticated), for `idleTimeoutMs`. */
  #lastActivity = 0;
  /** Pending idle check: armed only while the open session has no subscription. */
  #idleTimer: QueuedTimer | undefined;
  /**
   * Protocol 2 (the URL asked for it): `true` until its `hello` is taken, then that frame until
   * `ready` is written, then `false`. Always `false` on a protocol 1 connection.
   */
  #hello: boolean | HelloFrame;

  constructor(
    host: SessionHost<Session>,
    id: string,
    socket: TransportSocket,
    request: UpgradeRequestLike,
    ticket: AdmissionTicket,
  ) {
    this.#host = host;
    this.id = id;
    this.socket = socket;
    this.request = request;
    this.#ticket = ticket;
    this.#tokens = host.limits.maxFramesPerSecond * 2;
    this.#tokensAt = this.connectedAt;
    this.#hello = asksProtocol2(request.url);
    if (host.wants('connection')) host.emit('connection', this.info());
    host.audit('connection.opened', this);
  }

  /**
   * Starts the session: the upgrade-time `authenticate`, then `welcome` (and, when the upgrade
   * authenticated it, `authenticated`), as the first task of the frame chain; in this turn when
   * `authenticate` answers synchronously. In protocol 2, nothing: the session waits for `hello`.
   * Called once by the hub, once it counts the session. The authentication timeout is armed
   * only when the session is not open by then.
   */
  start(): void {
    if (this.#hello === true) this.#phase = 'awaiting_token';
    else this.#tasks.runNow(() => this.#start());
    const phase = this.#phase;
    if (phase === 'authenticating' || phase === 'awaiting_token') {
      // From when the session was made, in this turn: no second clock read.
      const { timers, limits } = this.#host;
      this.#authTimer = timers.add(limits.authTimeoutMs, this, Session.#authTimeout, this.connectedAt);
    }
  }

  static #authTimeout(session: Session): void {
    session.#authTimer = undefined;
    if (session.#phase === 'authenticating' || session.#phase === 'awaiting_token') {
      session.close(CloseCode.AuthTimeout, 'authentication timeout');
    }
  }

  get state(): SessionState {
    const phase = this.#phase;
    if (phase === 'authenticating' || phase === 'awaiting_token') return { phase };
    if (phase === 'open') {
      return { phase, principal: this.#principal as Principal, cancelExpiry: this.#cancelExpiry };
    }
    return { phase, principal: this.#principal };
  }

  /** The authenticated principal, if any. */
  get principal(): Principal | undefined {
    return this.#principal;
  }

  get isOpen(): boolean {
    return this.#phase === 'open';
  }

  info(): ConnectionInfo {
    return { sessionId: this.id, userId: this.principal?.userId, remoteAddress: this.request.remoteAddress };
  }

  send(frame: ServerFrame): void {
    this.write(encodeFrame(frame), false);
  }

  /**
   * The one write path of a session: every frame (live, replayed, presence, control) goes through
   * it or, for a fan-out, through {@link Session.deliverShared}. It counts the frame (and the
   * delivery), and cuts off a connection whose send buffer is over `maxBufferedBytes` instead of
   * queueing more. Returns `false` when nothing was written.
   */
  write(frame: string | EncodedFrame, delivery: boolean): boolean {
    if (!this.#writable()) return false;
    const { counters } = this.#host;
    counters.framesOut++;
    if (delivery) counters.deliveries++;
    if (typeof frame === 'string') this.socket.send(frame);
    else this.socket.sendEncoded(frame);
    return true;
  }

  /**
   * Writes a notification frame (replayed or from the inbox) through {@link Session.write} and
   * remembers its id, so that an `ack` or `read` of it is accepted without asking a store.
   * `handle` is the notification's in the hub's `NotificationHandles`, held by the caller.
   */
  deliver(frame: string | EncodedFrame, handle: number): boolean {
    if (!this.write(frame, true)) return false;
    this.#remember(handle);
    return true;
  }

  /**
   * {@link Session.deliver} for a fan-out, frame shared by every subscriber: the same checks and
   * write, but the caller counts the frames written (`true`), once for the whole fan-out.
   */
  deliverShared(frame: EncodedFrame, handle: number): boolean {
    if (!this.#writable()) return false;
    this.socket.sendEncoded(frame);
    this.#remember(handle);
    return true;
  }

  /** Whether a frame may be written: not closing, and the send buffer within `maxBufferedBytes` (else cut off). */
  #writable(): boolean {
    const phase = this.#phase;
    if (phase === 'closing' || phase === 'closed') return false;
    if (this.socket.bufferedAmount > this.#host.limits.maxBufferedBytes) {
      this.slowConsumer();
      return false;
    }
    return true;
  }

  /** Records a delivery of the notification of `handle` in the ring, created on the first. */
  #remember(handle: number): void {
    const recent = this.#recent;
    if (recent === undefined) this.#firstDelivery(handle);
    else recent.add(handle);
  }

  /** The ring, created on the first delivery (apart, so that the fan-out path stays small). */
  #firstDelivery(handle: number): void {
    this.#recent = new RecentDeliveries(this.#host.limits.maxRecentDeliveries, this.#host.handles);
    this.#recent.add(handle);
  }

  // ---- transport callbacks -------------------------------------------------------------

  message(data: string | Uint8Array, binary: boolean): void {
    const phase = this.#phase;
    if (phase === 'closing' || phase === 'closed') return;
    // The rate and pre-auth budgets apply from the first frame, before `welcome` too.
    const { counters } = this.#host;
    counters.framesIn++;
    // One clock read per frame, for the rate bucket and the idle clock.
    const now = Date.now();
    if (!this.#takeToken(now)) {
      counters.rateLimited++;
      // Nothing, not even an error, is sent before `welcome`.
      if (phase !== 'authenticating') {
        this.send({ type: 'error', code: ErrorCode.RateLimited, message: 'too many frames per second' });
      }
      this.#refuse('rate_limited', CloseCode.RateLimited, 'rate limited');
      return;
    }
    if (phase !== 'open' && this.#overPreAuthBudget(data)) {
      counters.rateLimited++;
      this.#refuse('pre_auth_limit', CloseCode.RateLimited, 'too many frames before authentication');
      return;
    }
    if (phase === 'authenticating') {
      // Nothing is answered before `welcome`: hold the frame (within the budget just checked)
      // until the upgrade-time auth is done.
      this.#tasks.enqueue(() => this.#receive(data, binary, now));
      return;
    }
    this.#receive(data, binary, now);
  }

  /** A frame within budget, received at `receivedAt`: parsed, then answered at once (`ping`, malformed) or queued in order. */
  #receive(data: string | Uint8Array, binary: boolean, receivedAt: number): void {
    const phase = this.#phase;
    if (phase === 'closing' || phase === 'closed') return;
    if (binary) {
      this.#invalid(ErrorCode.BinaryNotSupported, 'binary frames are not supported', undefined);
      return;
    }
    const parsed = readClientFrame(data);
    if (!parsed.ok) {
      this.#invalid(parsed.error.code, parsed.error.message, parsed.error.ref);
      return;
    }
    const frame = parsed.frame;
    if (frame.type === 'ping') {
      this.send({ type: 'pong', ...(frame.ts === undefined ? {} : { ts: frame.ts }), ...refOf(frame) });
      return;
    }
    this.#lastActivity = receivedAt;
    this.#tasks.enqueue(() => this.#handle(frame));
  }

  /** Takes one token of the frame-rate bucket at time `now`; `false` when it is empty. */
  #takeToken(now: number): boolean {
    const elapsed = now - this.#tokensAt;
    if (elapsed > 0) {
      const rate = this.#host.limits.maxFramesPerSecond;
      this.#tokens = Math.min(rate * 2, this.#tokens + (elapsed * rate) / 1000);
      this.#tokensAt = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** A task of this session's chain threw: logged, reported, and the session closed. Called by the chain. */
  taskFailed(cause: unknown): void {
    const error = new WardcastError(ErrorCode.Internal, 'unexpected error while serving a connection', { cause });
    this.#host.logger.error({ sessionId: this.id, err: cause }, 'wardcast: session error');
    this.#host.emit('error', error);
    this.close(CloseCode.InternalError, 'internal error');
  }

  /** Counts a frame received before the session opened; `true` once past `maxPreAuthFrames`/`maxPreAuthBytes`. */
  #overPreAuthBudget(data: string | Uint8Array): boolean {
    const { maxPreAuthFrames, maxPreAuthBytes } = this.#host.limits;
    this.#preAuthBytes += typeof data === 'string' ? utf8Length(data) : data.byteLength;
    return ++this.#preAuthFrames > maxPreAuthFrames || this.#preAuthBytes > maxPreAuthBytes;
  }

  /** Cuts the connection off for what its client sent: `debug` log, `refused` event, close. */
  #refuse(reason: ConnectionRefusalReason, code: number, closeReason: string): void {
    const { logger, emit } = this.#host;
    reportRefusal(logger, emit, { stage: 'connection', reason, code, ...this.info(), origin: originOf(this.request) });
    this.close(code, closeReason);
  }

  /**
   * The idle check (`idleTimeoutMs`, `0` = off): an open session with no subscription and no
   * activity for `idleTimeoutMs` is closed with `4409`. A timer is pending only while the session
   * has no subscription: armed when it opens and whenever its last subscription goes, cancelled
   * when it subscribes (a subscribed session is never idle, and holds no timer for it).
   */
  #checkIdle(): void {
    const idleMs = this.#host.limits.idleTimeoutMs;
    if (idleMs === 0 || this.#phase !== 'open') return;
    if (this.topics.size > 0) {
      this.#host.timers.cancel(this.#idleTimer);
      this.#idleTimer = undefined;
      return;
    }
    if (this.#idleTimer !== undefined) return;
    const quietMs = Date.now() - this.#lastActivity;
    this.#idleTimer = this.#host.timers.add(idleMs - quietMs, this, Session.#idleTimeout);
  }

  static #idleTimeout(session: Session): void {
    session.#idleTimer = undefined;
    if (session.#phase !== 'open' || session.topics.size > 0) return;
    if (Date.now() - session.#lastActivity >= session.#host.limits.idleTimeoutMs) {
      session.#host.logger.debug({ sessionId: session.id }, 'wardcast: idle timeout');
      session.close(CloseCode.IdleTimeout, 'idle');
      return;
    }
    session.#checkIdle();
  }

  protocolError(code: number): void {
    const phase = this.#phase;
    if (phase === 'closing' || phase === 'closed') return;
    const { logger, emit } = this.#host;
    const reason = code === 1009 ? 'frame_too_large' : 'protocol_error';
    reportRefusal(logger, emit, { stage: 'connection', reason, code, ...this.info(), origin: originOf(this.request) });
  }

  pong(): void {
    if (!this.#awaitingPong) return;
    this.#awaitingPong = false;
    this.rttMs = Date.now() - this.#pingSentAt;
  }

  closed(code: number, reason: string): void {
    if (this.#phase === 'closed') return;
    this.#release();
    this.#ticket.release();
    this.#phase = 'closed';
    this.#host.released(this);
    const final = this.#closeSent ?? { code, reason };
    if (this.#host.wants('disconnect')) {
      this.#host.emit('disconnect', { ...this.info(), code: final.code, reason: final.reason });
    }
    this.#host.audit('connection.closed', this, { code: final.code });
  }

  // ---- hub-driven actions ----------------------------------------------------------------

  /** Heartbeat tick: terminates a connection that did not answer the previous ping. */
  heartbeat(now: number): void {
    if (this.#phase === 'closed') return;
    if (this.#awaitingPong) {
      this.#host.counters.heartbeatTimeouts++;
      this.#host.logger.debug({ sessionId: this.id }, 'wardcast: heartbeat timeout');
      this.socket.terminate();
      this.closed(1006, 'heartbeat timeout');
      return;
    }
    this.#awaitingPong = true;
    this.#pingSentAt = now;
    this.socket.ping();
  }

  /** Starts the closing handshake and stops all delivery to this session. */
  close(code: number, reason: string): void {
    const phase = this.#phase;
    if (phase === 'closing' || phase === 'closed') return;
    this.#release();
    this.#phase = 'closing';
    const safeReason = truncateUtf8(reason, 120);
    this.#closeSent = { code, reason: safeReason };
    try {
      this.socket.close(code, safeReason);
    } catch {
      this.socket.terminate();
    }
  }

  /**
   * Calls `authorize` (and `phiLevel`) again for every subscription, after the frames already
   * queued: drops the topics no longer allowed (telling the client with an `unsubscribed` frame
   * with `code: 'topic_denied'`) and lowers PHI levels policy lowered. Never rejects.
   */
  reauthorize(): Promise<void> {
    return this.#tasks.enqueue(() => this.#reauthorize());
  }

  /** Closes a session that reads too slowly. */
  slowConsumer(): void {
    this.#host.counters.slowConsumers++;
    this.close(CloseCode.SlowConsumer, 'slow consumer');
  }

  // ---- internals -------------------------------------------------------------------------

  /** Opens the session for `principal` (or replaces it, on a token refresh). */
  #open(principal: Principal, cancelExpiry: (() => void) | undefined): void {
    const opened = this.#phase !== 'open';
    this.#phase = 'open';
    this.#principal = principal;
    this.#cancelExpiry = cancelExpiry;
    if (opened) {
      // Authenticated: no longer counts as unauthenticated for its address; the idle clock starts.
      this.#ticket.authenticated();
      this.#lastActivity = Date.now();
      // A `hello` being answered checks once its topics are subscribed (no timer armed and cancelled).
      if (typeof this.#hello !== 'object') this.#checkIdle();
    }
  }

  /** Frees registry entries and timers; the session stops receiving deliveries. Idempotent. */
  #release(): void {
    const { registry, timers } = this.#host;
    timers.cancel(this.#authTimer);
    this.#authTimer = undefined;
    timers.cancel(this.#idleTimer);
    this.#idleTimer = undefined;
    const open = this.#phase === 'open';
    if (open) {
      this.#cancelExpiry?.();
      this.#cancelExpiry = undefined;
    }
    this.#host.telemetry(this, false);
    // Nothing is delivered nor acknowledged on this connection any more.
    this.#recent?.clear();
    const sole = this.topics.sole;
    if (sole !== undefined) leaveTopic(this.#host, this, sole);
    else for (const topic of this.topics.keys()) leaveTopic(this.#host, this, topic);
    this.topics.clear();
    const userId = this.#principal?.userId;
    if (open && userId !== undefined) registry.removeUser(userId, this);
    if (this.#reserved && userId !== undefined) {
      this.#reserved = false;
      this.#host.cluster.release(userId, this.id);
    }
  }

  #invalid(code: string, message: string, ref: string | undefined): void {
    this.#host.counters.invalidFrames++;
    this.send({ type: 'error', code, message, ...(ref === undefined ? {} : { ref }) });
    if (++this.#invalidFrames >= this.#host.limits.maxInvalidFrames)
      this.#refuse('bad_frames', CloseCode.BadFrame, 'too many bad frames');
  }

  /** The application's verdict on `token`: itself when `authenticate` answered synchronously. */
  #authenticate(token: string | undefined): Principal | undefined | Promise<Principal | undefined> {
    return authenticateNow(this.#host, this.request, token, this.#phase === 'open', this.id);
  }

  #start(): void | Promise<void> {
    const principal = this.#authenticate(undefined);
    if (principal instanceof Promise) return principal.then((p) => this.#started(p));
    return this.#started(principal);
  }

  /** What the upgrade-time `authenticate` said: `welcome`, then the session opens or awaits a token. */
  #started(principal: Principal | undefined): void | Promise<void> {
    if (this.#phase !== 'authenticating') return;
    this.write(encodeWelcome(this.#host.limits, this.id, principal !== undefined), false);
    if (principal) return this.#admit(principal, undefined);
    this.#phase = 'awaiting_token';
  }

  /**
   * Before accepting a new principal (not a refresh), takes a connection slot across instances when
   * the broker counts them (`reserveConnection`); synchronous (no promise) with a broker that does not.
   */
  #admit(principal: Principal, ref: string | undefined): void | Promise<void> {
    const host = this.#host;
    const max = host.limits.maxConnectionsPerUser;
    const local = host.registry.connectionCount(principal.userId);
    if (this.#phase === 'open' || local >= max) return this.#accept(principal, ref, false);
    const pending = host.cluster.reserve(principal.userId, this.id, max);
    if (typeof pending === 'boolean') return this.#reserve(principal, ref, pending);
    return pending.then((ok) => this.#reserve(principal, ref, ok));
  }

  /** The cross-instance slot was taken (`ok`) or refused. */
  #reserve(principal: Principal, ref: string | undefined, ok: boolean): void | Promise<void> {
    const host = this.#host;
    const phase = this.#phase;
    if (phase === 'closing' || phase === 'closed') {
      if (ok) host.cluster.release(principal.userId, this.id);
      return;
    }
    this.#reserved = ok;
    return this.#accept(principal, ref, !ok);
  }

  #accept(principal: Principal, ref: string | undefined, refused: boolean): void | Promise<void> {
    const refresh = this.#phase === 'open';
    this.#host.timers.cancel(this.#authTimer);
    this.#authTimer = undefined;
    if (refresh) {
      this.#cancelExpiry?.();
      this.#cancelExpiry = undefined;
    }
    if (!refresh) {
      const existing = this.#host.registry.connectionCount(principal.userId);
      if (refused || existing >= this.#host.limits.maxConnectionsPerUser) {
        this.#open(principal, undefined);
        this.#host.registry.addUser(principal.userId, this);
        this.send({
          type: 'error',
          code: ErrorCode.TooManyConnections,
          message: 'too many connections',
          retryAfterMs: this.#host.cluster.connectionRetryAfterMs,
          ...(ref === undefined ? {} : { ref }),
        });
        this.close(CloseCode.TooManyConnections, 'too many connections');
        return;
      }
      this.#host.registry.addUser(principal.userId, this);
    }
    const expiresAt = principal.expiresAt;
    const cancelExpiry =
      expiresAt === undefined
        ? undefined
        : schedule(expiresAt + this.#host.limits.tokenExpiryGraceMs - Date.now(), () =>
            this.close(CloseCode.TokenExpired, 'token expired'),
          );
    this.#open(principal, cancelExpiry);
    const hello = this.#hello;
    if (hello === false) this.write(encodeAuthenticated(principal.userId, expiresAt, ref), false);
    if (this.#host.wants('authenticated')) this.#host.emit('authenticated', { ...this.info(), expiresAt, refresh });
    this.#host.audit('auth.succeeded', this);
    // Protocol 2: the hello's topics, then `ready` (in place of `authenticated` and `subscribed`).
    if (typeof hello === 'object') return this.#onSubscribe(hello);
  }

  #handle(frame: Exclude<ClientFrame, { type: 'ping' }>): void | Promise<void> {
    const phase = this.#phase;
    if (phase === 'closing' || phase === 'closed') return;
    if (frame.type === 'hello') return this.#onHello(frame);
    if (frame.type === 'auth' && this.#hello === false) return this.#onAuth(frame);
    // In protocol 2, `hello` comes first: an `auth` before it is refused as any frame before authenticating.
    if (phase !== 'open' || frame.type === 'auth') {
      this.send({ type: 'error', code: ErrorCode.NotAuthenticated, message: 'authenticate first', ...refOf(frame) });
      this.close(CloseCode.Unauthorized, 'not authenticated');
      return;
    }
    if (frame.type === 'subscribe') return this.#onSubscribe(frame);
    if (frame.type === 'unsubscribe') return this.#onUnsubscribe(frame);
    if (frame.type === 'telemetry') return this.#onTelemetry(frame);
    return this.#onReceipt(frame);
  }

  /** Protocol 2's first frame: authenticate with its token (or the upgrade request), then subscribe. */
  #onHello(frame: HelloFrame): void | Promise<void> {
    if (this.#hello !== true) {
      this.#invalid(ErrorCode.BadFrame, 'hello: only the first frame of a protocol 2 connection', frame.ref);
      return;
    }
    this.#hello = frame;
    const principal = this.#authenticate(frame.token);
    if (principal instanceof Promise) return principal.then((p) => this.#onVerdict(frame, undefined, false, p));
    return this.#onVerdict(frame, undefined, false, principal);
  }

  #onAuth(frame: AuthFrame): void | Promise<void> {
    const before = this.principal;
    const refresh = this.#phase === 'open';
    const principal = this.#authenticate(frame.token);
    if (principal instanceof Promise) return principal.then((p) => this.#onVerdict(frame, before, refresh, p));
    return this.#onVerdict(frame, before, refresh, principal);
  }

  /** What `authenticate` said about the token of an `auth` (or `hello`) frame. */
  #onVerdict(
    frame: AuthFrame | HelloFrame,
    before: Principal | undefined,
    refresh: boolean,
    principal: Principal | undefined,
  ): void | Promise<void> {
    const phase = this.#phase;
    if (phase === 'closing' || phase === 'closed') return;
    if (!principal) {
      this.#host.counters.authFailures++;
      this.#host.audit('auth.failed', this, { code: ErrorCode.AuthFailed });
      this.send({ type: 'error', code: ErrorCode.AuthFailed, message: 'authentication failed', ...refOf(frame) });
      if (phase !== 'open') this.close(CloseCode.Unauthorized, 'unauthorized');
      return;
    }
    if (before && before.userId !== principal.userId) {
      this.#host.audit('auth.failed', this, { code: ErrorCode.AuthUserMismatch });
      this.send({
        type: 'error',
        code: ErrorCode.AuthUserMismatch,
        message: 'token is for another user',
        ...refOf(frame),
      });
      this.close(CloseCode.Forbidden, 'user mismatch');
      return;
    }
    const admitted = this.#admit(principal, frame.ref);
    // A refreshed token may carry other claims (a care team changed): every subscription is re-checked.
    if (!refresh) return admitted;
    return admitted === undefined ? this.#reauthorize() : admitted.then(() => this.#reauthorize());
  }

  async #reauthorize(): Promise<void> {
    const principal = this.principal;
    if (!principal || !this.isOpen || this.topics.size === 0) return;
    const revoked = await reauthorizeTopics(this.#host, this, principal);
    if (!revoked || revoked.length === 0) return;
    this.#checkIdle();
    for (const topic of revoked) this.#recent?.forgetTopic(topic);
    this.send({ type: 'unsubscribed', topics: revoked, code: ErrorCode.TopicDenied });
  }

  /**
   * A `subscribe`, or the topics of a `hello` (none: `ready` at once): answered in this turn
   * when the hooks and the history store answer synchronously.
   */
  #onSubscribe(frame: SubscribeFrame | HelloFrame): void | Promise<void> {
    const principal = this.principal;
    if (!principal) return;
    const topics = frame.topics ?? [];
    const results = topics.length === 0 ? [] : subscribeTopics(this.#host, this, principal, topics);
    if (results instanceof Promise) return results.then((r) => this.#subscribed(frame, r));
    this.#subscribed(frame, results);
  }

  /** The results of a `subscribe` (`hello`): the `subscribed` (`ready`) reply, then presence for the topics that asked. */
  #subscribed(frame: SubscribeFrame | HelloFrame, results: SubscriptionResult[] | undefined): void {
    this.#checkIdle();
    if (results === undefined) return;
    const principal = this.principal as Principal;
    if (frame.type === 'hello') {
      this.#hello = false;
      const { limits } = this.#host;
      this.write(encodeReady(limits, this.id, principal.userId, principal.expiresAt, results, frame.ref), false);
    } else this.write(encodeSubscribed(results, frame.ref), false);
    const topics = frame.topics ?? [];
    if (!topics.some((t) => t.presence === true)) return;
    // Last entry wins for a topic named twice, as in subscribeTopics.
    const wanted = new Map(topics.map((t) => [t.topic, t.presence === true]));
    for (const r of results) if (r.status === 'ok' && wanted.get(r.topic)) watchPresence(this.#host, this, r.topic);
  }

  #onUnsubscribe(frame: UnsubscribeFrame): void {
    for (const topic of frame.topics) {
      if (!this.topics.delete(topic)) continue;
      leaveTopic(this.#host, this, topic);
      this.#host.emit('unsubscribe', { ...this.info(), topic });
    }
    this.#checkIdle();
    this.send({ type: 'unsubscribed', topics: frame.topics, ...refOf(frame) });
  }

  #onTelemetry(frame: TelemetryRequestFrame): void {
    this.#host.telemetry(this, frame.enabled);
  }

  /**
   * An `ack` or `read`: accepted at once for an id this session was sent lately; otherwise only
   * when the inbox or the escalation store vouches for it (see `Receipts.fromFrame`). A refused one
   * gets an `error` frame and reaches nothing else: no event, audit record, inbox or escalation.
   */
  async #onReceipt(frame: AckFrame | ReadFrame): Promise<void> {
    const userId = this.principal?.userId;
    if (userId === undefined) return;
    const receipt = { action: frame.type, userId, id: frame.id, sessionId: this.id };
    const verdict = await this.#host.receipt(receipt, this.#recent?.topicOf(frame.id) !== undefined);
    if (verdict !== 'recorded') {
      this.#host.logger.debug({ sessionId: this.id, code: verdict }, `wardcast: ${frame.type} refused`);
      const message =
        verdict === ErrorCode.UnknownNotification ? 'unknown notification' : 'receipt not recorded; retry later';
      this.send({ type: 'error', code: verdict, message, ...refOf(frame) });
      return;
    }
    if (frame.type === 'ack') {
      this.#host.emit('ack', { ...this.info(), userId, id: frame.id });
      this.#host.audit('notification.acknowledged', this, { notificationId: frame.id });
    } else {
      this.#host.emit('read', { ...this.info(), userId, id: frame.id });
      this.#host.audit('notification.read', this, { notificationId: frame.id });
    }
    this.send({ type: 'receipt', id: frame.id, action: frame.type, ...refOf(frame) });
  }
}

/**
 * A client frame, decoded by the lean decoder; one it refuses is parsed again by the zod schemas,
 * which refuse it too (the protocol's tests hold the two to the same verdict) and name the problem.
 */
function readClientFrame(data: string | Uint8Array): ParseResult<ClientFrame> {
  const decoded = decodeClientFrame(data);
  return decoded.ok ? decoded : parseClientFrame(data);
}

function refOf(frame: { readonly ref?: string | undefined }): { ref?: string } {
  return frame.ref === undefined ? {} : { ref: frame.ref };
}
