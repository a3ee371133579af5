import {
  type AckFrame,
  type AuthFrame,
  type ClientFrame,
  CloseCode,
  ErrorCode,
  type PhiLevel,
  PROTOCOL_VERSION,
  parseClientFrame,
  type ReadFrame,
  type ServerFrame,
  type SubscribeFrame,
  type TelemetryRequestFrame,
  type UnsubscribeFrame,
  WardcastError,
} from '@wardcast/protocol';
import type { AdmissionTicket } from './admission.js';
import { runAuthenticate } from './authenticate.js';
import type { ConnectionInfo, ConnectionRefusalReason } from './events.js';
import { encodeFrame } from './frames.js';
import { leaveTopic, watchPresence } from './presence.js';
import { TokenBucket } from './rate-limiter.js';
import { RecentDeliveries } from './recent-deliveries.js';
import { originOf, reportRefusal } from './refusals.js';
import type { SessionHost } from './session-host.js';
import { reauthorizeTopics, subscribeTopics } from './subscribe.js';
import { schedule } from './timers.js';
import type { EncodedFrame, SocketHandlers, TransportSocket } from './transport.js';
import type { Principal, StoredNotification, UpgradeRequestLike } from './types.js';

/** Where a session is in its life. Changed only by `Session.#setState`. */
export type SessionState =
  | { readonly phase: 'authenticating' }
  | { readonly phase: 'awaiting_token' }
  | { readonly phase: 'open'; readonly principal: Principal; readonly cancelExpiry: (() => void) | undefined }
  | { readonly phase: 'closing'; readonly principal: Principal | undefined }
  | { readonly phase: 'closed'; readonly principal: Principal | undefined };

/** One connection: its socket, state, subscriptions and heartbeat. Internal to the hub. */
export class Session implements SocketHandlers {
  readonly id: string;
  readonly socket: TransportSocket;
  readonly request: UpgradeRequestLike;
  readonly connectedAt = Date.now();
  /** Topics this session subscribed to (live or syncing), with the PHI level granted. */
  readonly topics = new Map<string, PhiLevel>();
  /** Last measured WebSocket ping round trip, ms. */
  rttMs: number | undefined;
  #state: SessionState = { phase: 'authenticating' };
  /** Covers the whole time before authentication, including a slow upgrade-time `authenticate`. */
  #cancelAuthTimer: () => void = () => {};
  #pingSentAt = 0;
  #awaitingPong = false;
  #invalidFrames = 0;
  /** Code and reason of a close the hub started; reported in `disconnect` even if the peer never answered. */
  #closeSent: { readonly code: number; readonly reason: string } | undefined;
  /** Holds a connection slot taken from the broker (cross-instance limit); given back on release. */
  #reserved = false;
  #chain: Promise<void>;
  readonly #bucket: TokenBucket;
  readonly #host: SessionHost<Session>;
  /** What this session was sent lately, for `ack`/`read` checks; created on the first delivery. */
  #recent: RecentDeliveries | undefined;
  /** This connection's hold on the admission limits (total, unauthenticated per address). */
  readonly #ticket: AdmissionTicket;
  /** Frames and UTF-8 bytes received before the session opened (`maxPreAuthFrames`/`maxPreAuthBytes`). */
  #preAuthFrames = 0;
  #preAuthBytes = 0;
  /** When the client last sent a well-formed frame other than `ping` (or authenticated), for `idleTimeoutMs`. */
  #lastActivity = 0;
  #cancelIdle: (() => void) | undefined;

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
    const rate = host.limits.maxFramesPerSecond;
    this.#bucket = new TokenBucket(rate, rate * 2);
    host.emit('connection', this.info());
    host.audit('connection.opened', this);
    this.#cancelAuthTimer = schedule(host.limits.authTimeoutMs, () => {
      if (this.#state.phase === 'authenticating' || this.#state.phase === 'awaiting_token') {
        this.close(CloseCode.AuthTimeout, 'authentication timeout');
      }
    });
    this.#chain = this.#guard(() => this.#start());
  }

  get state(): SessionState {
    return this.#state;
  }

  /** The authenticated principal, if any. */
  get principal(): Principal | undefined {
    return this.#state.phase === 'open' || this.#state.phase === 'closing' || this.#state.phase === 'closed'
      ? this.#state.principal
      : undefined;
  }

  get isOpen(): boolean {
    return this.#state.phase === 'open';
  }

  info(): ConnectionInfo {
    return { sessionId: this.id, userId: this.principal?.userId, remoteAddress: this.request.remoteAddress };
  }

  send(frame: ServerFrame): void {
    this.write(encodeFrame(frame), false);
  }

  /**
   * The one write path of a session: every frame (live, replayed, presence, control) goes through
   * it. It counts the frame (and the delivery), and cuts off a connection whose send buffer is
   * over `maxBufferedBytes` instead of queueing more. Returns `false` when nothing was written.
   */
  write(frame: string | EncodedFrame, delivery: boolean): boolean {
    const phase = this.#state.phase;
    if (phase === 'closing' || phase === 'closed') return false;
    if (this.socket.bufferedAmount > this.#host.limits.maxBufferedBytes) {
      this.slowConsumer();
      return false;
    }
    const { counters } = this.#host;
    counters.framesOut++;
    if (delivery) counters.deliveries++;
    if (typeof frame === 'string') this.socket.send(frame);
    else this.socket.sendEncoded(frame);
    return true;
  }

  /**
   * Writes a notification frame (live, replayed or from the inbox) through {@link Session.write}
   * and remembers its id, so that an `ack` or `read` of it is accepted without asking a store.
   */
  deliver(frame: string | EncodedFrame, n: StoredNotification): boolean {
    if (!this.write(frame, true)) return false;
    this.#recent ??= new RecentDeliveries(this.#host.limits.maxRecentDeliveries);
    this.#recent.add(n.id, n.topic);
    return true;
  }

  // ---- transport callbacks -------------------------------------------------------------

  message(data: string | Uint8Array, binary: boolean): void {
    const phase = this.#state.phase;
    if (phase === 'closing' || phase === 'closed') return;
    // The rate and pre-auth budgets apply from the first frame, before `welcome` too.
    const { counters } = this.#host;
    counters.framesIn++;
    if (!this.#bucket.take()) {
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
      this.#chain = this.#chain.then(() => this.#receive(data, binary));
      return;
    }
    this.#receive(data, binary);
  }

  /** A frame within budget: parsed, then answered at once (`ping`, malformed) or queued in order. */
  #receive(data: string | Uint8Array, binary: boolean): void {
    const phase = this.#state.phase;
    if (phase === 'closing' || phase === 'closed') return;
    if (binary) {
      this.#invalid(ErrorCode.BinaryNotSupported, 'binary frames are not supported', undefined);
      return;
    }
    const parsed = parseClientFrame(data);
    if (!parsed.ok) {
      this.#invalid(parsed.error.code, parsed.error.message, parsed.error.ref);
      return;
    }
    const frame = parsed.frame;
    if (frame.type === 'ping') {
      this.send({ type: 'pong', ...(frame.ts === undefined ? {} : { ts: frame.ts }), ...refOf(frame) });
      return;
    }
    this.#lastActivity = Date.now();
    this.#chain = this.#chain.then(() => this.#guard(() => this.#handle(frame)));
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

  /** Arms the idle check (`idleTimeoutMs`, `0` = off) unless armed; re-arms itself while the connection is open. */
  #armIdle(delayMs: number): void {
    const idleMs = this.#host.limits.idleTimeoutMs;
    if (idleMs === 0 || this.#cancelIdle !== undefined) return;
    this.#cancelIdle = schedule(delayMs, () => {
      this.#cancelIdle = undefined;
      if (this.#state.phase !== 'open') return;
      const quietMs = Date.now() - this.#lastActivity;
      if (this.topics.size === 0 && quietMs >= idleMs) {
        this.#host.logger.debug({ sessionId: this.id }, 'wardcast: idle timeout');
        this.close(CloseCode.IdleTimeout, 'idle');
        return;
      }
      this.#armIdle(this.topics.size === 0 ? idleMs - quietMs : idleMs);
    });
  }

  protocolError(code: number): void {
    const phase = this.#state.phase;
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
    if (this.#state.phase === 'closed') return;
    this.#release();
    this.#ticket.release();
    this.#setState({ phase: 'closed', principal: this.principal });
    this.#host.released(this);
    const final = this.#closeSent ?? { code, reason };
    this.#host.emit('disconnect', { ...this.info(), code: final.code, reason: final.reason });
    this.#host.audit('connection.closed', this, { code: final.code });
  }

  // ---- hub-driven actions ----------------------------------------------------------------

  /** Heartbeat tick: terminates a connection that did not answer the previous ping. */
  heartbeat(now: number): void {
    if (this.#state.phase === 'closed') return;
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
    const phase = this.#state.phase;
    if (phase === 'closing' || phase === 'closed') return;
    this.#release();
    this.#setState({ phase: 'closing', principal: this.principal });
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
    this.#chain = this.#chain.then(() => this.#guard(() => this.#reauthorize()));
    return this.#chain;
  }

  /** Closes a session that reads too slowly. */
  slowConsumer(): void {
    this.#host.counters.slowConsumers++;
    this.close(CloseCode.SlowConsumer, 'slow consumer');
  }

  // ---- internals -------------------------------------------------------------------------

  #setState(state: SessionState): void {
    const opened = state.phase === 'open' && this.#state.phase !== 'open';
    this.#state = state;
    if (opened) {
      // Authenticated: no longer counts as unauthenticated for its address; the idle clock starts.
      this.#ticket.authenticated();
      this.#lastActivity = Date.now();
      this.#armIdle(this.#host.limits.idleTimeoutMs);
    }
  }

  /** Frees registry entries and timers; the session stops receiving deliveries. Idempotent. */
  #release(): void {
    const state = this.#state;
    this.#cancelAuthTimer();
    this.#cancelIdle?.();
    this.#cancelIdle = undefined;
    if (state.phase === 'open') state.cancelExpiry?.();
    const { registry } = this.#host;
    this.#host.telemetry(this, false);
    for (const topic of this.topics.keys()) leaveTopic(this.#host, this, topic);
    this.topics.clear();
    if (state.phase === 'open') registry.removeUser(state.principal.userId, this);
    const userId = this.principal?.userId;
    if (this.#reserved && userId !== undefined) {
      this.#reserved = false;
      this.#host.cluster.release(userId, this.id);
    }
  }

  async #guard(fn: () => Promise<void> | void): Promise<void> {
    try {
      await fn();
    } catch (cause) {
      const error = new WardcastError(ErrorCode.Internal, 'unexpected error while serving a connection', { cause });
      this.#host.logger.error({ sessionId: this.id, err: cause }, 'wardcast: session error');
      this.#host.emit('error', error);
      this.close(CloseCode.InternalError, 'internal error');
    }
  }

  #invalid(code: string, message: string, ref: string | undefined): void {
    this.#host.counters.invalidFrames++;
    this.send({ type: 'error', code, message, ...(ref === undefined ? {} : { ref }) });
    if (++this.#invalidFrames >= this.#host.limits.maxInvalidFrames)
      this.#refuse('bad_frames', CloseCode.BadFrame, 'too many bad frames');
  }

  #authenticate(token: string | undefined): Promise<Principal | undefined> {
    return runAuthenticate(this.#host, this.request, token, this.#state.phase === 'open', { sessionId: this.id });
  }

  async #start(): Promise<void> {
    const principal = await this.#authenticate(undefined);
    if (this.#state.phase !== 'authenticating') return;
    const { limits } = this.#host;
    this.send({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      sessionId: this.id,
      heartbeatMs: limits.heartbeatIntervalMs,
      authenticated: principal !== undefined,
      limits: {
        maxFrameBytes: limits.maxFrameBytes,
        maxFramesPerSecond: limits.maxFramesPerSecond,
        maxSubscriptions: limits.maxSubscriptions,
        authTimeoutMs: limits.authTimeoutMs,
      },
    });
    if (principal) {
      await this.#admit(principal, undefined);
      return;
    }
    this.#setState({ phase: 'awaiting_token' });
  }

  /**
   * Before accepting a new principal (not a refresh), takes a connection slot across instances when
   * the broker counts them (`reserveConnection`); synchronous with a broker that does not.
   */
  async #admit(principal: Principal, ref: string | undefined): Promise<void> {
    const host = this.#host;
    const max = host.limits.maxConnectionsPerUser;
    const local = host.registry.connectionsOf(principal.userId)?.size ?? 0;
    if (this.#state.phase === 'open' || local >= max) return this.#accept(principal, ref, false);
    const pending = host.cluster.reserve(principal.userId, this.id, max);
    const ok = pending === true || (await pending);
    const phase = this.#state.phase;
    if (phase === 'closing' || phase === 'closed') {
      if (ok) host.cluster.release(principal.userId, this.id);
      return;
    }
    this.#reserved = ok;
    this.#accept(principal, ref, !ok);
  }

  #accept(principal: Principal, ref: string | undefined, refused: boolean): void {
    const state = this.#state;
    const refresh = state.phase === 'open';
    this.#cancelAuthTimer();
    if (state.phase === 'open') state.cancelExpiry?.();
    if (!refresh) {
      const existing = this.#host.registry.connectionsOf(principal.userId)?.size ?? 0;
      if (refused || existing >= this.#host.limits.maxConnectionsPerUser) {
        this.#setState({ phase: 'open', principal, cancelExpiry: undefined });
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
    this.#setState({ phase: 'open', principal, cancelExpiry });
    this.send({
      type: 'authenticated',
      userId: principal.userId,
      ...(expiresAt === undefined ? {} : { expiresAt }),
      ...(ref === undefined ? {} : { ref }),
    });
    this.#host.emit('authenticated', { ...this.info(), expiresAt, refresh });
    this.#host.audit('auth.succeeded', this);
  }

  async #handle(frame: Exclude<ClientFrame, { type: 'ping' }>): Promise<void> {
    const phase = this.#state.phase;
    if (phase === 'closing' || phase === 'closed') return;
    if (frame.type === 'auth') return this.#onAuth(frame);
    if (phase !== 'open') {
      this.send({ type: 'error', code: ErrorCode.NotAuthenticated, message: 'authenticate first', ...refOf(frame) });
      this.close(CloseCode.Unauthorized, 'not authenticated');
      return;
    }
    if (frame.type === 'subscribe') return this.#onSubscribe(frame);
    if (frame.type === 'unsubscribe') return this.#onUnsubscribe(frame);
    if (frame.type === 'telemetry') return this.#onTelemetry(frame);
    return this.#onReceipt(frame);
  }

  async #onAuth(frame: AuthFrame): Promise<void> {
    const before = this.principal;
    const refresh = this.#state.phase === 'open';
    const principal = await this.#authenticate(frame.token);
    const phase = this.#state.phase;
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
    await this.#admit(principal, frame.ref);
    // A refreshed token may carry other claims (a care team changed): every subscription is re-checked.
    if (refresh) await this.#reauthorize();
  }

  async #reauthorize(): Promise<void> {
    const principal = this.principal;
    if (!principal || !this.isOpen || this.topics.size === 0) return;
    const revoked = await reauthorizeTopics(this.#host, this, principal);
    if (!revoked || revoked.length === 0) return;
    for (const topic of revoked) this.#recent?.forgetTopic(topic);
    this.send({ type: 'unsubscribed', topics: revoked, code: ErrorCode.TopicDenied });
  }

  async #onSubscribe(frame: SubscribeFrame): Promise<void> {
    const principal = this.principal;
    if (!principal) return;
    const results = await subscribeTopics(this.#host, this, principal, frame.topics);
    if (results === undefined) return;
    this.send({ type: 'subscribed', topics: results, ...refOf(frame) });
    // Last entry wins for a topic named twice, as in subscribeTopics.
    const wanted = new Map(frame.topics.map((t) => [t.topic, t.presence === true]));
    for (const r of results) if (r.status === 'ok' && wanted.get(r.topic)) watchPresence(this.#host, this, r.topic);
  }

  #onUnsubscribe(frame: UnsubscribeFrame): void {
    for (const topic of frame.topics) {
      if (!this.topics.delete(topic)) continue;
      leaveTopic(this.#host, this, topic);
      this.#host.emit('unsubscribe', { ...this.info(), topic });
    }
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

/** UTF-8 length of `text` in bytes, without encoding it. */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** Cuts `text` to at most `max` UTF-8 bytes (close reasons must stay under 123). */
function truncateUtf8(text: string, max: number): string {
  const encoder = new TextEncoder();
  if (encoder.encode(text).length <= max) return text;
  let out = '';
  let bytes = 0;
  for (const char of text) {
    const size = encoder.encode(char).length;
    if (bytes + size > max) break;
    out += char;
    bytes += size;
  }
  return out;
}

function refOf(frame: { readonly ref?: string | undefined }): { ref?: string } {
  return frame.ref === undefined ? {} : { ref: frame.ref };
}
