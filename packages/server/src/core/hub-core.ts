import { CloseCode, ErrorCode, type PhiLevel, WardcastError } from '@wardcast/protocol';
import { EventEmitter } from 'eventemitter3';
import { brokerInterest } from '../broker/interest.js';
import { MemoryBroker } from '../broker/memory-broker.js';
import type { Broker } from '../broker/types.js';
import { EscalationManager } from '../escalation/manager.js';
import { MemoryEscalationStore } from '../escalation/memory-store.js';
import { checkEscalation } from '../escalation/validate.js';
import { MemoryHistoryStore } from '../history/memory-history.js';
import type { HistoryStore } from '../history/types.js';
import type { InboxStore } from '../inbox/types.js';
import { type KindDefinition, KindRegistry } from '../kinds/kind-registry.js';
import { createNotifyHelpers, type NotifyHelpers } from '../notify/helpers.js';
import type { AdmissionTicket, AdmitResult } from './admission.js';
import { runAuthenticate } from './authenticate.js';
import { Cluster } from './cluster.js';
import { Delivery } from './delivery.js';
import type { AuditEventType, HubEvents, UpgradeRefusalReason } from './events.js';
import { type HubHealth, hubHealth, probe } from './health.js';
import { warnInsecureOrigins } from './insecure-origins.js';
import { type Logger, silentLogger } from './logger.js';
import { NotificationHandles } from './notification-handles.js';
import { type HubLimits, type HubOptions, resolveLimits } from './options.js';
import { checkOrigin } from './origin.js';
import { payloadViews } from './payload-views.js';
import { presenceOf, remotePresenceChanged } from './presence.js';
import { checkPublish } from './publish-input.js';
import { NO_ESCALATION, PublishPipeline } from './publish-pipeline.js';
import { randomId } from './random-id.js';
import { ReauthorizeSweep } from './reauthorize.js';
import { Receipts } from './receipts.js';
import { Registry } from './registry.js';
import { createSafeEmit, emitAudit } from './safe-events.js';
import { Session } from './session.js';
import { type Counters, newCounters, type SessionHost } from './session-host.js';
import { escalationStage, inboxStage } from './stages.js';
import { buildStats, type ConnectionSnapshot, type HubStats, snapshotOf } from './stats.js';
import { TelemetryTicker } from './telemetry.js';
import { TimerQueue } from './timers.js';
import type { SocketHandlers, TransportHost, TransportSocket } from './transport.js';
import type { Principal, PublishInput, PublishResult, StoredNotification, UpgradeRequestLike } from './types.js';
import { unreadReplay } from './unread-replay.js';
import { UpgradeGate } from './upgrade-gate.js';

const defaultAuthorize = (principal: { userId: string }, topic: string): boolean =>
  topic === `user:${principal.userId}`;

/** The transport host of each hub, for this package's transports (see {@link transportHostOf}). */
const transportHosts = new WeakMap<HubCore, TransportHost>();

/**
 * The {@link TransportHost} of `hub`: what this package's transports (SSE) use of it, refusal
 * reporting included. Not exported from the package.
 */
export function transportHostOf(hub: HubCore): TransportHost {
  return transportHosts.get(hub) as TransportHost;
}

/**
 * The transport-agnostic heart of the hub: sessions, topics, authorization, heartbeat and
 * delivery. {@link NotificationHub} adds the `ws` transport; another transport calls
 * {@link HubCore.open} for each socket it accepts.
 *
 * @category Hub
 */
export class HubCore {
  /** The limits in force, defaults filled in. */
  readonly limits: Readonly<Required<HubLimits>>;
  /**
   * Typed helpers for the clinical kinds: `appointment`, `labResult`, `aiAnalysis`, `diagnosis`,
   * `systemAlert` and `custom`.
   *
   * @example
   * ```ts
   * await hub.notify.labResult('dr-lee', { labOrderId: 'L-1', testName: 'Potassium', status: 'final',
   *   abnormal: true, critical: true, resultAt: new Date().toISOString() });
   * ```
   */
  readonly notify: NotifyHelpers = createNotifyHelpers((topic, input) => this.publish(topic, input));
  readonly #options: HubOptions;
  readonly #events = new EventEmitter<HubEvents>();
  readonly #registry = new Registry<Session>();
  readonly #sessions = new Set<Session>();
  readonly #counters: Counters = newCounters();
  /** What the connections' recent-deliveries rings refer to (see {@link NotificationHandles}). */
  readonly #handles = new NotificationHandles();
  readonly #history: HistoryStore;
  readonly #broker: Broker;
  readonly #logger: Logger;
  readonly #host: SessionHost<Session>;
  readonly #generateId: () => string;
  readonly #startedAt = Date.now();
  readonly #heartbeat: ReturnType<typeof setInterval>;
  readonly #telemetry: TelemetryTicker;
  /** Set synchronously when shutdown starts (before `close()` has stored its promise). */
  #shuttingDown = false;
  readonly #brokerReady: Promise<void>;
  #closing: Promise<void> | undefined;
  readonly #kinds = new KindRegistry();
  readonly #inbox: InboxStore | undefined;
  readonly #escalations: EscalationManager;
  readonly #emit: ReturnType<typeof createSafeEmit>;
  readonly #delivery: Delivery;
  readonly #cluster: Cluster;
  readonly #pipeline: PublishPipeline;
  readonly #receipts: Receipts;
  readonly #gate: UpgradeGate;
  readonly #reauthorize: ReauthorizeSweep;

  constructor(options: HubOptions) {
    if (typeof options?.authenticate !== 'function') {
      throw new WardcastError(ErrorCode.InvalidOption, 'NotificationHub: authenticate is required');
    }
    this.#options = options;
    try {
      this.limits = resolveLimits(options);
    } catch (cause) {
      throw new WardcastError(ErrorCode.InvalidOption, (cause as Error).message);
    }
    this.#reauthorize = new ReauthorizeSweep(options.reauthorizeIntervalMs, () => this.#sessions);
    this.#history = options.history ?? new MemoryHistoryStore();
    this.#broker = options.broker ?? new MemoryBroker();
    this.#inbox = options.inbox;
    this.#logger = options.logger ?? silentLogger;
    this.#gate = new UpgradeGate({
      limits: this.limits,
      clientAddress: options.clientAddress,
      logger: this.#logger,
      emit: (event, ...args) => this.#emit(event, ...args),
      closed: () => this.closed,
      checkOrigin: (request) => this.checkOrigin(request),
    });
    warnInsecureOrigins(options.allowedOrigins, this.#logger);
    this.#generateId = options.generateId ?? randomId;
    this.#emit = createSafeEmit(this.#events, this.#logger);
    this.#delivery = new Delivery(this.#registry, this.#kinds, this.#handles, this.#counters);
    this.#cluster = new Cluster(this.#broker, this.#logger, (error) => this.#emit('error', error));
    this.#host = this.#makeHost(options);
    this.#brokerReady = Promise.resolve(this.#broker.start((n) => void this.#delivery.deliver(n)));
    this.#brokerReady.catch(() => {});
    this.#escalations = this.#makeEscalations(options);
    this.#receipts = new Receipts({
      inbox: this.#inbox,
      escalations: this.#escalations,
      registry: this.#registry,
      cluster: this.#cluster,
      logger: this.#logger,
      error: (error) => this.#emit('error', error),
    });
    this.#pipeline = new PublishPipeline({
      history: this.#history,
      broker: this.#broker,
      stages: [
        ...(this.#inbox ? [inboxStage(this.#inbox)] : []),
        escalationStage(this.#escalations),
        ...(options.publishStages ?? []),
      ],
      counters: this.#counters,
      logger: this.#logger,
      brokerReady: this.#brokerReady,
      error: (error) => this.#emit('error', error),
    });
    this.#cluster.start({
      disconnect: (userId, reason) => this.#closeUser(userId, reason),
      receipt: (userId, id, action) => this.#receipts.sendLocal(userId, id, action),
      escalationAck: (userId, id) => void this.#escalations.onRemoteAck({ userId, id }),
      presence: (flip) => remotePresenceChanged(this.#host, flip),
    });
    this.#heartbeat = setInterval(() => this.#tick(), this.limits.heartbeatIntervalMs);
    this.#heartbeat.unref?.();
    transportHosts.set(this, {
      limits: this.limits,
      admit: (request) => this.admit(request),
      checkOrigin: (request) => this.checkOrigin(request),
      open: (socket, request, ticket) => this.open(socket, request, ticket),
      reportRefusal: (request, reason, status, message) => {
        this.#gate.refuse(this.#gate.clientRequest(request), reason, status, message);
      },
    });
    this.#telemetry = new TelemetryTicker(this.limits.telemetryIntervalMs, this.limits.maxBufferedBytes, () => ({
      connections: this.#sessions.size,
      broker: this.#brokerHealth(),
    }));
  }

  /** `true` once `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * The per-user inbox passed as `options.inbox`, or `undefined`. The `/v1/notifications`
   * HTTP endpoints read it.
   *
   * @example
   * ```ts
   * const page = await hub.inbox?.list('u42', { limit: 20 });
   * ```
   */
  get inbox(): InboxStore | undefined {
    return this.#inbox;
  }

  /**
   * Listens to a hub event. Returns a function that removes the listener.
   *
   * @example
   * ```ts
   * const off = hub.on('disconnect', ({ userId, code }) => metrics.count('ws.close', { code }));
   * off();
   * ```
   */
  on<K extends keyof HubEvents>(event: K, listener: (...args: HubEvents[K]) => void): () => void {
    this.#events.on(event, listener as never);
    return () => {
      this.#events.off(event, listener as never);
    };
  }

  /**
   * Whether an upgrade request's `Origin` is allowed (see `allowedOrigins`). Transports call it
   * before upgrading and answer 403 when it is not.
   */
  checkOrigin(request: UpgradeRequestLike): boolean {
    return checkOrigin(this.#options.allowedOrigins, request);
  }

  /**
   * Decides an upgrade request before the upgrade, in this order: refused with 503 once the hub is
   * closing; 429 past `maxUpgradesPerSecondPerAddress` (every request counts); 403 for an `Origin`
   * `allowedOrigins` refuses; 503 past `maxConnections`; 429 past `maxUnauthenticatedPerAddress`.
   * Limits count by the client address (`clientAddress`, IPv6 per /64). Every refusal is logged at
   * `debug` and emitted as a `refused` event. On success, upgrade, then pass the returned `request`
   * and `ticket` to {@link HubCore.open}; if the upgrade fails, or whenever the socket closes, call
   * `ticket.release()` (idempotent) so the slot is never leaked.
   *
   * @example
   * ```ts
   * const verdict = hub.admit({ headers: req.headers, url: req.url, remoteAddress: req.socket.remoteAddress });
   * if (!verdict.ok) return refuse(socket, verdict.status, verdict.message, verdict.retryAfterS);
   * socket.once('close', () => verdict.ticket.release());
   * ```
   */
  admit(request: UpgradeRequestLike): AdmitResult {
    return this.#gate.admit(request);
  }

  /**
   * Reports an upgrade refused before the WebSocket opened (`debug` log and `refused` event) and
   * returns the refusal for the transport to answer. For transports: `admit()` calls it itself.
   */
  protected refuseUpgrade(
    request: UpgradeRequestLike,
    reason: UpgradeRefusalReason,
    status: number,
    message: string,
    retryAfterS?: number,
  ): AdmitResult & { readonly ok: false } {
    return this.#gate.refuse(request, reason, status, message, retryAfterS);
  }

  /** The request as the hub sees it: `remoteAddress` is what the `clientAddress` hook returns. */
  protected clientRequest(request: UpgradeRequestLike): UpgradeRequestLike {
    return this.#gate.clientRequest(request);
  }

  /**
   * Adopts a socket a transport accepted. Returns the callbacks the transport must call.
   * Pass the `ticket` from {@link HubCore.admit}; without one the connection still counts
   * towards the limits (its address is `request.remoteAddress` as given) but is never refused.
   * `socket` must take writes at once: with a synchronous `authenticate`, `welcome` (and
   * `authenticated`) are written before this returns (protocol 1; a `request.url` that asks for
   * protocol 2 with `?protocol=2` is sent nothing before its `hello`).
   *
   * @example
   * ```ts
   * const handlers = hub.open(mySocket, { headers: req.headers, remoteAddress: req.ip });
   * raw.on('message', (data, binary) => handlers.message(data, binary));
   * raw.on('pong', () => handlers.pong());
   * raw.on('close', (code, reason) => handlers.closed(code, String(reason)));
   * ```
   */
  open(socket: TransportSocket, request: UpgradeRequestLike, ticket?: AdmissionTicket): SocketHandlers {
    if (this.closed) {
      ticket?.release();
      socket.close(CloseCode.ServerShuttingDown, 'server shutting down');
      return { message() {}, pong() {}, closed() {}, protocolError() {} };
    }
    const held = ticket ?? this.#gate.untracked(request);
    const session = new Session(this.#host, this.#generateId(), socket, request, held);
    this.#sessions.add(session);
    session.start();
    return session;
  }

  /**
   * Publishes a notification to a topic: stores it (assigning `epoch` and `seq`), then delivers it
   * to every subscriber on every instance. Resolves once the history store and broker accepted it.
   * Publishing an id already in the topic's history returns the stored position with
   * `duplicate: true` and delivers nothing.
   *
   * For a built-in kind written as a literal (`kind: 'lab_result'`) the payload's type is checked
   * at compile time (see {@link PublishInput}); every payload is also validated at runtime by its
   * kind's schema.
   *
   * @throws {WardcastError} `invalid_topic`, `invalid_notification`, `unknown_kind`, `invalid_payload`, `payload_too_large`,
   * `hub_closed`, or `store_unavailable` when the history store or broker failed (nothing was delivered).
   *
   * @example
   * ```ts
   * const { id, epoch, seq } = await hub.publish('user:u1', {
   *   kind: 'appointment',
   *   priority: 'routine',
   *   payload: { appointmentId: 'a1', status: 'rescheduled', startsAt: '2026-12-01T09:00:00Z' },
   * });
   * ```
   */
  publish<K extends string>(topic: string, input: PublishInput<K>): Promise<PublishResult>;
  // The implementation sees every input as the wide `PublishInput`: payloads are validated at runtime.
  async publish(topic: string, input: PublishInput): Promise<PublishResult> {
    if (this.closed) throw new WardcastError(ErrorCode.HubClosed, 'hub is closed');
    // Validate (once): nothing is stored or sent for a bad input.
    const { draft, payloadJson } = checkPublish(
      topic,
      input,
      this.limits.maxPayloadBytes,
      this.#generateId,
      this.#kinds,
    );
    const context =
      input.escalation === undefined
        ? NO_ESCALATION
        : { escalation: checkEscalation(input.escalation, draft.priority, draft.id) };
    // The frame reuses the payload text measured above instead of serialising the payload again.
    const expected = payloadJson !== undefined && this.#delivery.expect(draft.payload, payloadJson);
    let result: PublishResult;
    try {
      // Append, durable stages, commit, fan-out: see PublishPipeline. Not awaited when it finished
      // synchronously (memory store and broker): the publish then costs one promise, this one.
      const running = this.#pipeline.run(draft, context);
      result = running instanceof Promise ? await running : running;
    } finally {
      if (expected) this.#delivery.forget(draft.payload);
    }
    if (!result.duplicate && this.#events.listenerCount('publish') > 0) {
      const { id, epoch, seq } = result;
      this.#host.emit('publish', { id, topic, epoch, seq, kind: draft.kind, priority: draft.priority });
    }
    return result;
  }

  /**
   * Runs every check `publish` runs on `input` (topic, kind, payload schema and size, priority,
   * escalation policy) without storing or sending anything, and returns the id the notification
   * will be published under (`input.id`, or a new one). For producers that publish later, such
   * as `@wardcast/postgres`'s transactional outbox, so a bad notification fails at once.
   *
   * @throws {WardcastError} the validation codes of {@link HubCore.publish}.
   *
   * @example
   * ```ts
   * const id = hub.validatePublish('user:dr-lee', { kind: 'custom', payload: { note: 'ready' } });
   * ```
   */
  validatePublish<K extends string>(topic: string, input: PublishInput<K>): string;
  validatePublish(topic: string, input: PublishInput): string {
    const { draft } = checkPublish(topic, input, this.limits.maxPayloadBytes, this.#generateId, this.#kinds);
    if (input.escalation !== undefined) checkEscalation(input.escalation, draft.priority, draft.id);
    return draft.id;
  }

  /**
   * Defines a namespaced custom kind whose payloads are validated on every publish.
   *
   * @throws {WardcastError} `invalid_option` when the name is not namespaced or already defined.
   *
   * @example
   * ```ts
   * import { z } from 'zod';
   * hub.defineKind('acme.discharge', {
   *   schema: z.object({ encounterId: z.string(), status: z.enum(['planned', 'done']), note: z.string() }),
   *   idOnlyFields: ['encounterId', 'status'],
   * });
   * await hub.publish('patient:p9', { kind: 'acme.discharge', payload: { encounterId: 'e1', status: 'done', note: '...' } });
   * ```
   */
  defineKind<T>(kind: string, definition: KindDefinition<T>): void {
    this.#kinds.define(kind, definition);
  }

  /**
   * Closes every connection of a user (logout, revoked access) with `4410`: at once on this
   * instance, and on the other instances through the broker's control channel when it has one
   * (`@wardcast/redis`; a failure to reach them is logged and emitted as a `store_unavailable`
   * `error` event). Returns how many were closed on this instance.
   */
  disconnectUser(userId: string, reason = 'session revoked'): number {
    this.#cluster.post({ type: 'disconnect', userId, reason });
    return this.#closeUser(userId, reason);
  }

  /**
   * Sends a `receipt` frame (`read` or `ack` of notification `id`) to every connection of `userId`,
   * on this instance and, through the broker's control channel, on the others, so that all the
   * user's devices see a read state that changed elsewhere (an HTTP endpoint, another tab).
   * Resolves with the number of connections on this instance that got it.
   *
   * @throws {WardcastError} `store_unavailable` when the broker could not reach the other instances
   * (this instance's connections got the frame).
   *
   * @example
   * ```ts
   * await hub.shareReceipt('dr-lee', 'lab:L-778:final', 'read');
   * ```
   */
  async shareReceipt(userId: string, id: string, action: 'read' | 'ack'): Promise<number> {
    const sent = this.#receipts.sendLocal(userId, id, action);
    await this.#cluster.send({ type: 'receipt', userId, id, action });
    return sent;
  }

  #closeUser(userId: string, reason: string): number {
    const sessions = [...(this.#registry.connectionsOf(userId) ?? [])];
    for (const s of sessions) s.close(CloseCode.SessionRevoked, reason);
    return sessions.length;
  }

  /**
   * Whether this instance should get traffic: `ready` is `false` while the broker or the history
   * store reports `'degraded'` (with `@wardcast/redis`: Redis is unreachable or the subscriber is
   * catching up), and from the moment `close()` is called. States only: no ids, tokens or
   * payloads. The `/v1/health/ready` endpoint answers it. See {@link HubHealth}.
   *
   * @example
   * ```ts
   * const { ready, status, failing } = hub.health(); // true, 'ok', []
   * ```
   */
  health(): HubHealth {
    return hubHealth({ broker: probe(this.#broker), history: probe(this.#history) }, this.#shuttingDown);
  }

  /**
   * Counters and gauges for dashboards and a stats endpoint. Contains no tokens and no payloads.
   *
   * @example
   * ```ts
   * const { connections, users, deliveries, rttMs } = hub.stats();
   * ```
   */
  stats(): HubStats {
    return buildStats(this.#sessions, this.#registry, this.#counters, this.#startedAt);
  }

  /**
   * Who is subscribed to `topic`: distinct user ids (never tokens), sorted, derived from this
   * instance's live subscriptions plus, with a broker that has a control channel (`@wardcast/redis`),
   * what the other instances reported. Subscribers that asked for `presence` get the same list
   * and its changes as `presence` frames.
   *
   * @example
   * ```ts
   * hub.presence('patient:p9'); // ['dr-lee', 'nurse-kim']
   * ```
   */
  presence(topic: string): string[] {
    return presenceOf(this.#registry, topic, this.#cluster.remote);
  }

  /** One entry per open connection: who, since when, subscriptions, RTT, buffered bytes. */
  connections(): ConnectionSnapshot[] {
    return [...this.#sessions].map(snapshotOf);
  }

  /**
   * Authenticates a plain HTTP request with the hub's `authenticate` (`reauthenticate: false`),
   * for endpoints that share the hub's credentials. `token` is e.g. the `Authorization: Bearer`
   * value. Resolves `undefined` when rejected; a throwing `authenticate` counts as a rejection
   * (logged at `warn`, emitted as an `auth_failed` error event), as for WebSocket connections.
   *
   * @example
   * ```ts
   * const principal = await hub.authenticateRequest({ headers: req.headers, url: req.url }, bearerToken);
   * if (!principal) return res.status(401).end();
   * ```
   */
  authenticateRequest(request: UpgradeRequestLike, token?: string): Promise<Principal | undefined> {
    return runAuthenticate(this.#host, request, token, false);
  }

  /**
   * Records a `read` or `ack` made outside a WebSocket (an HTTP endpoint, a push action): updates
   * the inbox, sends a `receipt` frame to the user's connections (all but `source.sessionId`; on
   * every instance with a broker control channel), then emits the `read`/`ack` event and audit
   * record as a frame would, with
   * `sessionId` `'http'` unless given. Resolves `false`, emitting nothing, when an inbox is
   * configured and the user has no such notification.
   *
   * @throws {WardcastError} `store_unavailable` when the inbox store failed.
   *
   * @example
   * ```ts
   * const found = await hub.recordReceipt('dr-lee', 'lab:L-778:final', 'ack', { remoteAddress: req.ip });
   * ```
   */
  async recordReceipt(
    userId: string,
    id: string,
    action: 'read' | 'ack',
    source: { readonly sessionId?: string; readonly remoteAddress?: string | undefined } = {},
  ): Promise<boolean> {
    const sessionId = source.sessionId ?? 'http';
    if (!(await this.#receipts.fromRequest({ action, userId, id, sessionId }))) return false;
    this.#emit(action, { sessionId, userId, remoteAddress: source.remoteAddress, id });
    emitAudit(this.#events, this.#emit, () => ({
      type: action === 'ack' ? 'notification.acknowledged' : 'notification.read',
      at: new Date().toISOString(),
      sessionId,
      userId,
      notificationId: id,
    }));
    return true;
  }

  /**
   * The payloads of stored notifications as `principal` may see them: each reduced to the
   * `phiLevel` the policy grants on its topic (`empty` when the policy throws), for endpoints
   * that serve notifications outside a WebSocket, such as the inbox.
   *
   * @example
   * ```ts
   * const [view] = await hub.visiblePayloads(principal, [stored]); // { payload, phi: 'id-only' }
   * ```
   */
  visiblePayloads(
    principal: Principal,
    notifications: readonly StoredNotification[],
  ): Promise<{ readonly payload: unknown; readonly phi: PhiLevel }[]> {
    return payloadViews(this.#options.phiLevel, this.#kinds, this.#logger, principal, notifications);
  }

  /**
   * Shuts down: refuses new connections, closes every socket with `4503` (ServerShuttingDown),
   * waits up to `closeTimeoutMs` for the closing handshakes, terminates the rest, and frees
   * timers, history and broker. Safe to call more than once.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#shuttingDown = true;
    clearInterval(this.#heartbeat);
    this.#reauthorize.stop();
    this.#telemetry.close();
    const escalationsStopped = this.#escalations.stop();
    for (const s of this.#sessions) s.close(CloseCode.ServerShuttingDown, 'server shutting down');
    const deadline = Date.now() + this.limits.closeTimeoutMs;
    while (this.#sessions.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const s of [...this.#sessions]) {
      s.socket.terminate();
      s.closed(1006, 'terminated at shutdown');
    }
    this.#host.timers.clear();
    try {
      await this.#broker.close?.();
      await this.#history.close?.();
      await this.#inbox?.close?.();
      await escalationsStopped;
    } catch (cause) {
      this.#logger.warn({ err: cause }, 'wardcast: error while closing broker or history');
    }
    this.#events.removeAllListeners();
  }

  #brokerHealth(): 'ok' | 'degraded' {
    return probe(this.#broker);
  }

  /** The principal of `userId`'s connection `sessionId` on this instance (the user's connections only, not every session). */
  #principalOf(userId: string, sessionId: string): Principal | undefined {
    for (const s of this.#registry.connectionsOf(userId) ?? []) if (s.id === sessionId) return s.principal;
    return undefined;
  }

  #tick(): void {
    const now = Date.now();
    for (const s of this.#sessions) s.heartbeat(now);
  }

  /** Escalation of critical notifications: resumes pending escalations from the store; acks come from `Receipts`. */
  #makeEscalations(options: HubOptions): EscalationManager {
    const authorize = options.authorize ?? defaultAuthorize;
    const manager = new EscalationManager(options.escalations ?? new MemoryEscalationStore(), {
      publish: (topic, input) => this.publish(topic, input),
      // An ack from outside a connection (recordReceipt) is checked with a bare `{ userId }` principal.
      mayAcknowledge: (sessionId, userId, topic) =>
        authorize(this.#principalOf(userId, sessionId) ?? { userId }, topic),
      emit: this.#host.emit,
      logger: this.#logger,
      broadcastAck: (userId, id) => this.#cluster.post({ type: 'escalation_ack', userId, id }),
    });
    this.#brokerReady.then(
      () => manager.resume(),
      () => {},
    );
    return manager;
  }

  #makeHost(options: HubOptions): SessionHost<Session> {
    const interest = brokerInterest(this.#broker, this.#logger, (error) => this.#emit('error', error));
    return {
      limits: this.limits,
      authenticate: options.authenticate,
      authorize: options.authorize ?? defaultAuthorize,
      phiLevel: options.phiLevel ?? (() => 'full'),
      kinds: this.#kinds,
      encode: (n, level) => this.#delivery.encode(n, level),
      history: this.#history,
      registry: this.#registry,
      timers: new TimerQueue(),
      counters: this.#counters,
      handles: this.#handles,
      logger: this.#logger,
      emit: this.#emit,
      wants: (event) => this.#events.listenerCount(event) > 0,
      receipt: (receipt, delivered) => this.#receipts.fromFrame(receipt, delivered),
      audit: (type: AuditEventType, session, extra) => {
        // Checked here: no closure per call when nobody listens (as on every connect).
        if (this.#events.listenerCount('audit') === 0) return;
        emitAudit(this.#events, this.#emit, () => ({
          type,
          at: new Date().toISOString(),
          sessionId: session.id,
          userId: session.principal?.userId,
          ...extra,
        }));
      },
      watch: interest.watch,
      unwatch: interest.unwatch,
      released: (session) => {
        this.#sessions.delete(session);
      },
      telemetry: (session, enabled) => this.#telemetry.set(session, enabled),
      closing: () => this.#shuttingDown,
      unreadReplay: (userId, topic) =>
        unreadReplay(this.#inbox, this.#history, this.#pipeline, this.limits, userId, topic),
      cluster: this.#cluster,
    };
  }
}
