import { CloseCode, ErrorCode, isWardcastError, type PhiLevel, WardcastError } from '@wardcast/protocol';
import { EventEmitter } from 'eventemitter3';
import { MemoryBroker } from '../broker/memory-broker.js';
import type { Broker } from '../broker/types.js';
import { MemoryHistoryStore } from '../history/memory-history.js';
import type { HistoryStore } from '../history/types.js';
import { type InboxStore, userOfTopic } from '../inbox/types.js';
import { type KindDefinition, KindRegistry } from '../kinds/kind-registry.js';
import { createNotifyHelpers, type NotifyHelpers } from '../notify/helpers.js';
import type { AuditEventType, HubEvents } from './events.js';
import { encodeNotification } from './frames.js';
import { type Logger, silentLogger } from './logger.js';
import { type HubLimits, type HubOptions, resolveLimits } from './options.js';
import { checkOrigin } from './origin.js';
import { toDraft } from './publish-input.js';
import { Registry } from './registry.js';
import { Session } from './session.js';
import { type Counters, newCounters, type SessionHost } from './session-host.js';
import { buildStats, type ConnectionSnapshot, type HubStats, snapshotOf } from './stats.js';
import { EncodedFrame, type SocketHandlers, type TransportSocket } from './transport.js';
import type { PublishInput, PublishResult, StoredNotification, UpgradeRequestLike } from './types.js';

const REDUCED_LEVELS = ['id-only', 'empty'] as const;

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
  readonly #brokerReady: Promise<void>;
  #closing: Promise<void> | undefined;
  /** `topic\0id` of notifications stored whose broker publish failed; a retry re-sends them. */
  readonly #unsent = new Set<string>();
  readonly #kinds = new KindRegistry();
  readonly #inbox: InboxStore | undefined;

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
    this.#host = this.#makeHost(options);
    this.#brokerReady = Promise.resolve(this.#broker.start((n) => this.#deliver(n)));
    this.#brokerReady.catch(() => {});
    this.#heartbeat = setInterval(() => this.#tick(), this.limits.heartbeatIntervalMs);
    this.#heartbeat.unref?.();
  }

  /** `true` once `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
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
   * @throws {WardcastError} `invalid_topic`, `invalid_notification`, `payload_too_large`,
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
      if (inboxUser !== undefined) await this.#inbox?.record(inboxUser, stored);
      await this.#broker.publish(stored);
      this.#unsent.delete(key);
    } catch (cause) {
      if (isWardcastError(cause)) throw cause;
      throw new WardcastError(ErrorCode.StoreUnavailable, 'history store or broker failed; not published', { cause });
    }
    this.#counters.published++;
    const { id, epoch, seq, kind, priority } = stored;
    this.#host.emit('publish', { id, topic, epoch, seq, kind, priority });
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
   * Closes every connection of a user on this instance (logout, revoked access) with `4410`.
   * Returns how many were closed.
   */
  disconnectUser(userId: string, reason = 'session revoked'): number {
    const sessions = [...(this.#registry.connectionsOf(userId) ?? [])];
    for (const s of sessions) s.close(CloseCode.SessionRevoked, reason);
    return sessions.length;
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

  /** One entry per open connection: who, since when, subscriptions, RTT, buffered bytes. */
  connections(): ConnectionSnapshot[] {
    return [...this.#sessions].map(snapshotOf);
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
    clearInterval(this.#heartbeat);
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
    } catch (cause) {
      this.#logger.warn({ err: cause }, 'wardcast: error while closing broker or history');
    }
    this.#events.removeAllListeners();
  }

  #deliver(n: StoredNotification): void {
    const subs = this.#registry.subscribers(n.topic);
    if (!subs) return;
    const max = this.limits.maxBufferedBytes;
    let sent = 0;
    if (subs.live.size > 0) sent += this.#fanOut(subs.live, new EncodedFrame(encodeNotification(n)), max);
    for (const level of REDUCED_LEVELS) {
      const set = subs.reduced[level];
      if (set.size > 0) sent += this.#fanOut(set, new EncodedFrame(this.#encode(n, level)), max);
    }
    for (const buffer of subs.syncing.values()) buffer.push(n);
    this.#counters.deliveries += sent;
    this.#counters.framesOut += sent;
  }

  #fanOut(sessions: ReadonlySet<Session>, frame: EncodedFrame, max: number): number {
    let sent = 0;
    for (const s of sessions) {
      if (s.socket.bufferedAmount > max) {
        s.slowConsumer();
        continue;
      }
      s.socket.sendEncoded(frame);
      sent++;
    }
    return sent;
  }

  #encode(n: StoredNotification, level: PhiLevel): string {
    return level === 'full'
      ? encodeNotification(n)
      : encodeNotification(n, this.#kinds.redact(n.kind, n.payload, level), level);
  }

  #tick(): void {
    const now = Date.now();
    for (const s of this.#sessions) s.heartbeat(now);
  }

  #makeHost(options: HubOptions): SessionHost<Session> {
    const events = this.#events;
    const broker = this.#broker;
    const logger = this.#logger;
    const onBrokerError = (op: string, topic: string) => (cause: unknown) => {
      logger.warn({ topic, err: cause }, `wardcast: broker ${op} failed`);
      events.emit('error', new WardcastError(ErrorCode.StoreUnavailable, `broker ${op} failed`, { cause }));
    };
    return {
      limits: this.limits,
      authenticate: options.authenticate,
      authorize: options.authorize ?? defaultAuthorize,
      phiLevel: options.phiLevel ?? (() => 'full'),
      kinds: this.#kinds,
      encode: (n, level) => this.#encode(n, level),
      history: this.#history,
      registry: this.#registry,
      counters: this.#counters,
      logger,
      emit: (event, ...args) => {
        try {
          (events.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
        } catch (err) {
          // A throwing listener must not break the session that emitted the event.
          logger.error({ err, event }, 'wardcast: event listener threw');
        }
      },
      audit: (type: AuditEventType, session, extra) => {
        if (events.listenerCount('audit') === 0) return;
        events.emit('audit', {
          type,
          at: new Date().toISOString(),
          sessionId: session.id,
          userId: session.principal?.userId,
          ...extra,
        });
      },
      watch: (topic) => {
        if (broker.watch)
          Promise.resolve(topic)
            .then((t) => broker.watch?.(t))
            .catch(onBrokerError('watch', topic));
      },
      unwatch: (topic) => {
        if (broker.unwatch)
          Promise.resolve(topic)
            .then((t) => broker.unwatch?.(t))
            .catch(onBrokerError('unwatch', topic));
      },
      released: (session) => {
        this.#sessions.delete(session);
      },
    };
  }
}
