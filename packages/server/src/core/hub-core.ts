import { CloseCode, ErrorCode, isWardcastError, type PhiLevel, WardcastError } from '@wardcast/protocol';
import { EventEmitter } from 'eventemitter3';
import { brokerInterest } from '../broker/interest.js';
import { MemoryBroker } from '../broker/memory-broker.js';
import type { Broker } from '../broker/types.js';
import { EscalationManager } from '../escalation/manager.js';
import { MemoryEscalationStore } from '../escalation/memory-store.js';
import { checkEscalation } from '../escalation/validate.js';
import { MemoryHistoryStore } from '../history/memory-history.js';
import type { HistoryStore } from '../history/types.js';
import { type InboxStore, userOfTopic } from '../inbox/types.js';
import { type KindDefinition, KindRegistry } from '../kinds/kind-registry.js';
import { createNotifyHelpers, type NotifyHelpers } from '../notify/helpers.js';
import { Cluster } from './cluster.js';
import { Delivery } from './delivery.js';
import type { AuditEventType, HubEvents } from './events.js';
import { type Logger, silentLogger } from './logger.js';
import { type HubLimits, type HubOptions, resolveLimits } from './options.js';
import { checkOrigin } from './origin.js';
import { presenceOf, remotePresenceChanged } from './presence.js';
import { toDraft } from './publish-input.js';
import { Registry } from './registry.js';
import { createSafeEmit, emitAudit } from './safe-events.js';
import { Session } from './session.js';
import { type Counters, newCounters, type SessionHost } from './session-host.js';
import { buildStats, type ConnectionSnapshot, type HubStats, snapshotOf } from './stats.js';
import { TelemetryTicker } from './telemetry.js';
import type { SocketHandlers, TransportSocket } from './transport.js';
import type { Principal, PublishInput, PublishResult, StoredNotification, UpgradeRequestLike } from './types.js';

const defaultAuthorize = (principal: { userId: string }, topic: string): boolean =>
  topic === `user:${principal.userId}`;

/**
 * The transport-agnostic heart of the hub: sessions, topics, authorization, heartbeat and
 * delivery. {@link NotificationHub} adds the `ws` transport; another transport calls
 * {@link HubCore.open} for each socket it accepts.
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
  /** `topic\0id` of notifications stored whose broker publish failed; a retry re-sends them. */
  readonly #unsent = new Set<string>();
  readonly #kinds = new KindRegistry();
  readonly #inbox: InboxStore | undefined;
  readonly #escalations: EscalationManager;
  readonly #emit: ReturnType<typeof createSafeEmit>;
  readonly #delivery: Delivery;
  /** User topics -> this instance's publishes between history append and broker publish (see `unreadReplay`). */
  readonly #inFlight = new Map<string, Set<Promise<void>>>();
  readonly #cluster: Cluster;

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
    this.#history = options.history ?? new MemoryHistoryStore();
    this.#broker = options.broker ?? new MemoryBroker();
    this.#inbox = options.inbox;
    this.#logger = options.logger ?? silentLogger;
    this.#generateId = options.generateId ?? (() => globalThis.crypto.randomUUID());
    this.#emit = createSafeEmit(this.#events, this.#logger);
    this.#delivery = new Delivery(this.#registry, this.#kinds, this.#counters, this.limits.maxBufferedBytes);
    this.#cluster = new Cluster(this.#broker, this.#logger, (error) => this.#emit('error', error));
    this.#host = this.#makeHost(options);
    this.#cluster.start({
      disconnect: (userId, reason) => this.#closeUser(userId, reason),
      receipt: (userId, id, action) => this.#sendReceipt(userId, id, action),
      presence: (flip) => remotePresenceChanged(this.#host, flip),
    });
    this.#brokerReady = Promise.resolve(this.#broker.start((n) => this.#delivery.deliver(n)));
    this.#brokerReady.catch(() => {});
    this.#heartbeat = setInterval(() => this.#tick(), this.limits.heartbeatIntervalMs);
    this.#heartbeat.unref?.();
    this.#telemetry = new TelemetryTicker(this.limits.telemetryIntervalMs, this.limits.maxBufferedBytes, () => ({
      connections: this.#sessions.size,
      broker: this.#brokerHealth(),
    }));
    this.#escalations = this.#makeEscalations(options);
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
   * Adopts a socket a transport accepted. Returns the callbacks the transport must call.
   *
   * @example
   * ```ts
   * const handlers = hub.open(mySocket, { headers: req.headers, remoteAddress: req.ip });
   * raw.on('message', (data, binary) => handlers.message(data, binary));
   * raw.on('pong', () => handlers.pong());
   * raw.on('close', (code, reason) => handlers.closed(code, String(reason)));
   * ```
   */
  open(socket: TransportSocket, request: UpgradeRequestLike): SocketHandlers {
    if (this.closed) {
      socket.close(CloseCode.ServerShuttingDown, 'server shutting down');
      return { message() {}, pong() {}, closed() {} };
    }
    const session = new Session(this.#host, this.#generateId(), socket, request);
    this.#sessions.add(session);
    return session;
  }

  /**
   * Publishes a notification to a topic: stores it (assigning `epoch` and `seq`), then delivers it
   * to every subscriber on every instance. Resolves once the history store and broker accepted it.
   * Publishing an id already in the topic's history returns the stored position with
   * `duplicate: true` and delivers nothing.
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
  async publish(topic: string, input: PublishInput): Promise<PublishResult> {
    if (this.closed) throw new WardcastError(ErrorCode.HubClosed, 'hub is closed');
    const draft = toDraft(topic, input, this.limits.maxPayloadBytes, this.#generateId, this.#kinds);
    const escalation =
      input.escalation === undefined ? undefined : checkEscalation(input.escalation, draft.priority, draft.id);
    let stored: StoredNotification;
    try {
      await this.#brokerReady;
      const appended = await this.#history.append(draft);
      stored = appended.notification;
      const key = `${stored.topic}\u0000${stored.id}`;
      if (appended.duplicate && !this.#unsent.has(key)) {
        this.#counters.duplicates++;
        return { id: stored.id, epoch: stored.epoch, seq: stored.seq, duplicate: true };
      }
      // Stored but not yet handed to the broker: a retry with the same id must finish the job.
      this.#unsent.add(key);
      if (this.#unsent.size > 10_000) this.#unsent.delete(this.#unsent.values().next().value as string);
      const inboxUser = this.#inbox ? userOfTopic(stored.topic) : undefined;
      const settled = inboxUser === undefined ? undefined : this.#beginInFlight(stored.topic);
      try {
        if (inboxUser !== undefined) await this.#inbox?.record(inboxUser, stored);
        await this.#broker.publish(stored);
      } finally {
        settled?.();
      }
      this.#unsent.delete(key);
    } catch (cause) {
      if (isWardcastError(cause)) throw cause;
      throw new WardcastError(ErrorCode.StoreUnavailable, 'history store or broker failed; not published', { cause });
    }
    this.#counters.published++;
    const { id, epoch, seq, kind, priority } = stored;
    this.#host.emit('publish', { id, topic, epoch, seq, kind, priority });
    if (escalation) await this.#escalations.start(stored, escalation);
    return { id, epoch, seq, duplicate: false };
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
    const sent = this.#sendReceipt(userId, id, action);
    await this.#cluster.send({ type: 'receipt', userId, id, action });
    return sent;
  }

  #closeUser(userId: string, reason: string): number {
    const sessions = [...(this.#registry.connectionsOf(userId) ?? [])];
    for (const s of sessions) s.close(CloseCode.SessionRevoked, reason);
    return sessions.length;
  }

  /** Sends a `receipt` frame to every open connection of `userId` on this instance but `exceptSessionId`. */
  #sendReceipt(userId: string, id: string, action: 'read' | 'ack', exceptSessionId?: string): number {
    let sent = 0;
    for (const s of this.#registry.connectionsOf(userId) ?? []) {
      if (!s.isOpen || s.id === exceptSessionId) continue;
      s.send({ type: 'receipt', id, action });
      sent++;
    }
    return sent;
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
  async authenticateRequest(request: UpgradeRequestLike, token?: string): Promise<Principal | undefined> {
    try {
      const principal = await this.#options.authenticate(
        token === undefined ? { request, reauthenticate: false } : { request, token, reauthenticate: false },
      );
      return principal && typeof principal.userId === 'string' && principal.userId !== '' ? principal : undefined;
    } catch (cause) {
      this.#logger.warn({ err: cause }, 'wardcast: authenticate threw');
      this.#host.emit('error', new WardcastError(ErrorCode.AuthFailed, 'authenticate threw', { cause }));
      return undefined;
    }
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
    const inbox = this.#inbox;
    if (inbox) {
      let found: boolean;
      try {
        found = await (action === 'ack' ? inbox.acknowledge(userId, id) : inbox.markRead(userId, id));
      } catch (cause) {
        if (isWardcastError(cause)) throw cause;
        throw new WardcastError(ErrorCode.StoreUnavailable, 'inbox store failed', { cause });
      }
      if (!found) return false;
      this.#shareReceipt(userId, id, action, source.sessionId);
    }
    const sessionId = source.sessionId ?? 'http';
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
  async visiblePayloads(
    principal: Principal,
    notifications: readonly StoredNotification[],
  ): Promise<{ readonly payload: unknown; readonly phi: PhiLevel }[]> {
    const policy = this.#options.phiLevel ?? (() => 'full' as const);
    const levels = new Map<string, PhiLevel>();
    const out: { payload: unknown; phi: PhiLevel }[] = [];
    for (const n of notifications) {
      let level = levels.get(n.topic);
      if (level === undefined) {
        try {
          level = await policy(principal, n.topic);
        } catch (cause) {
          this.#logger.warn({ topic: n.topic, err: cause }, 'wardcast: phiLevel threw; using empty');
          level = 'empty';
        }
        if (level !== 'full' && level !== 'id-only') level = 'empty';
        levels.set(n.topic, level);
      }
      out.push({ payload: level === 'full' ? n.payload : this.#kinds.redact(n.kind, n.payload, level), phi: level });
    }
    return out;
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

  /** A `read`/`ack` frame: updates the inbox; an unknown id or a failing store does not affect the session. */
  #frameReceipt(
    action: 'read' | 'ack',
    info: { readonly userId?: string | undefined; readonly id: string; readonly sessionId?: string },
  ): void {
    const inbox = this.#inbox;
    if (!inbox || info.userId === undefined) return;
    const onError = (cause: unknown): void => {
      this.#logger.warn({ err: cause }, `wardcast: inbox ${action} failed`);
      this.#host.emit('error', new WardcastError(ErrorCode.StoreUnavailable, `inbox ${action} failed`, { cause }));
    };
    const { userId, id, sessionId } = info;
    try {
      const result = action === 'ack' ? inbox.acknowledge(userId, id) : inbox.markRead(userId, id);
      if (result instanceof Promise) {
        result.then((found) => {
          if (found) this.#shareReceipt(userId, id, action, sessionId);
        }, onError);
      } else if (result) {
        this.#shareReceipt(userId, id, action, sessionId);
      }
    } catch (cause) {
      onError(cause);
    }
  }

  /**
   * The inbox accepted a `read`/`ack` of `userId` (frame or `recordReceipt`): sends a `receipt`
   * frame to the user's other connections on this instance (the one that sent the frame already
   * got its own) and, through the broker's control channel, on the others, so that read state
   * changes live on every device. A failing control channel is logged and emitted, never thrown.
   */
  #shareReceipt(userId: string, id: string, action: 'read' | 'ack', exceptSessionId: string | undefined): void {
    this.#sendReceipt(userId, id, action, exceptSessionId);
    this.#cluster.post({ type: 'receipt', userId, id, action });
  }

  /** Registers an in-flight publish to `topic`; returns the function that ends it. */
  #beginInFlight(topic: string): () => void {
    let set = this.#inFlight.get(topic);
    if (!set) {
      set = new Set();
      this.#inFlight.set(topic, set);
    }
    const pending = set;
    let end = (): void => {};
    const promise = new Promise<void>((resolve) => {
      end = resolve;
    });
    pending.add(promise);
    return () => {
      end();
      pending.delete(promise);
      if (pending.size === 0 && this.#inFlight.get(topic) === pending) this.#inFlight.delete(topic);
    };
  }

  /** See {@link SessionHost.unreadReplay}. */
  async #unreadReplay(userId: string, topic: string): Promise<readonly StoredNotification[] | undefined> {
    const inbox = this.#inbox;
    if (!inbox) return undefined;
    const inFlight = this.#inFlight.get(topic);
    if (inFlight) await Promise.all([...inFlight]);
    const limit = this.limits.maxInboxReplay;
    if (inbox.unread) return inbox.unread(userId, limit);
    // A store without `unread`: scan at most `limit` entries, newest first.
    const out: StoredNotification[] = [];
    let cursor: string | undefined;
    for (let scanned = 0; scanned < limit; ) {
      const size = Math.min(100, limit - scanned);
      const page = await inbox.list(userId, cursor === undefined ? { limit: size } : { cursor, limit: size });
      for (const e of page.items) if (e.readAt === undefined) out.push(e.notification);
      scanned += page.items.length;
      cursor = page.nextCursor;
      if (cursor === undefined || page.items.length === 0) break;
    }
    return out.reverse();
  }

  #brokerHealth(): 'ok' | 'degraded' {
    try {
      return this.#broker.health?.() === 'degraded' ? 'degraded' : 'ok';
    } catch {
      return 'degraded';
    }
  }

  #tick(): void {
    const now = Date.now();
    for (const s of this.#sessions) s.heartbeat(now);
  }

  /** Escalation of critical notifications: listens to acks, resumes pending escalations from the store. */
  #makeEscalations(options: HubOptions): EscalationManager {
    const authorize = options.authorize ?? defaultAuthorize;
    const manager = new EscalationManager(options.escalations ?? new MemoryEscalationStore(), {
      publish: (topic, input) => this.publish(topic, input),
      // An ack from outside a connection (recordReceipt) is checked with a bare `{ userId }` principal.
      mayAcknowledge: (sessionId, userId, topic) =>
        authorize([...this.#sessions].find((s) => s.id === sessionId)?.principal ?? { userId }, topic),
      emit: this.#host.emit,
      logger: this.#logger,
    });
    this.#events.on('ack', (info) => void manager.onAck(info));
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
      counters: this.#counters,
      logger: this.#logger,
      emit: (event, ...args) => {
        if ((event === 'read' || event === 'ack') && this.#inbox) {
          this.#frameReceipt(
            event,
            args[0] as { readonly userId?: string | undefined; readonly id: string; readonly sessionId?: string },
          );
        }
        this.#emit(event, ...args);
      },
      audit: (type: AuditEventType, session, extra) =>
        emitAudit(this.#events, this.#emit, () => ({
          type,
          at: new Date().toISOString(),
          sessionId: session.id,
          userId: session.principal?.userId,
          ...extra,
        })),
      watch: interest.watch,
      unwatch: interest.unwatch,
      released: (session) => {
        this.#sessions.delete(session);
      },
      telemetry: (session, enabled) => this.#telemetry.set(session, enabled),
      closing: () => this.#shuttingDown,
      unreadReplay: (userId, topic) => this.#unreadReplay(userId, topic),
      cluster: this.#cluster,
    };
  }
}
