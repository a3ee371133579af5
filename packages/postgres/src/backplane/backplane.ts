import { ErrorCode, type StreamPosition, WardcastError } from '@wardcast/protocol';
import type {
  AppendResult,
  Broker,
  BrokerControl,
  BrokerHandler,
  HistoryStore,
  Logger,
  NotificationDraft,
  ReadResult,
  StoredNotification,
} from '@wardcast/server';
import { silentLogger } from '@wardcast/server';
import type { TopicFeed } from '@wardcast/server/backplane';
import { ConnectionSlots, ControlChannel } from './control.js';
import { Db } from './db.js';
import { createTopicFeed } from './feed.js';
import { Listener, listenerSource } from './listener.js';
import { type PostgresBackplaneOptions, type ResolvedBackplaneOptions, resolveBackplaneOptions } from './options.js';
import { StreamStore } from './store.js';

/** How often idle topics are swept (history past `maxAgeMs`, rows idle past `topicTtlMs`). */
const SWEEP_INTERVAL_MS = 60_000;

/**
 * Broker and history store on PostgreSQL for several hub instances, without Redis: pass the same
 * object as both `history` and `broker`. See {@link createPostgresBackplane}.
 *
 * @example
 * ```ts
 * const backplane = new PostgresBackplane({ pool });
 * const hub = new NotificationHub({ authenticate, history: backplane, broker: backplane });
 * ```
 *
 * @category Backplane
 */
export class PostgresBackplane implements Broker, HistoryStore {
  /** This instance's id in presence and connection slots. */
  readonly instanceId: string;
  /** Cross-instance control channel (disconnect everywhere, receipts, presence, escalation acks). */
  readonly control: BrokerControl;
  readonly #o: ResolvedBackplaneOptions;
  readonly #logger: Logger;
  readonly #db: Db;
  readonly #store: StreamStore;
  readonly #listener: Listener;
  readonly #feed: TopicFeed;
  readonly #channel: ControlChannel;
  readonly #slots: ConnectionSlots;
  /** Notifications `append` returned (the broker's `publish` accepts only these). */
  readonly #appended = new WeakSet<StoredNotification>();
  #started = false;
  #closing: Promise<void> | undefined;
  #controlSynced = false;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #sweep: ReturnType<typeof setInterval> | undefined;

  constructor(options: PostgresBackplaneOptions) {
    this.#o = resolveBackplaneOptions(options);
    this.#logger = options.logger ?? silentLogger;
    this.instanceId = this.#o.instanceId;
    this.#db = new Db(this.#o.pool, this.#o.commandTimeoutMs);
    this.#store = new StreamStore(this.#db, this.#o, this.#logger);
    this.#slots = new ConnectionSlots(this.#db, this.#o);
    this.#channel = new ControlChannel(this.#db, this.#o, this.#slots, this.#logger);
    this.control = this.#channel;
    this.#listener = new Listener(
      listenerSource(options.listener, this.#o.pool),
      this.#o.commandTimeoutMs,
      this.#logger,
      {
        notification: (channel, payload) => {
          if (channel === this.#o.controlChannel) this.#channel.message(payload);
          else this.#feed.message(channel, payload);
        },
        up: (channels) => void this.#goOnline(channels),
        down: () => this.#feed.down(),
      },
    );
    this.#feed = createTopicFeed(this.#listener, this.#store, this.#o.channel, this.#logger, this.#o.commandTimeoutMs);
  }

  // ---- Broker ------------------------------------------------------------------------------

  /** Connects the listener, then resolves once it listens (or after `commandTimeoutMs`: it keeps trying). */
  async start(handler: BrokerHandler): Promise<void> {
    if (this.#started) return;
    this.#feed.start(handler);
    this.#started = true;
    void this.#listener.listen(this.#o.controlChannel);
    this.#listener.start();
    const every = Math.max(50, Math.floor(this.#o.instanceTtlMs / 3));
    this.#heartbeat = setInterval(() => void this.#beat(), every);
    this.#heartbeat.unref?.();
    this.#sweep = setInterval(() => void this.#sweepOnce(), Math.min(SWEEP_INTERVAL_MS, this.#o.maxAgeMs));
    this.#sweep.unref?.();
    await this.#feed.firstUp(this.#o.commandTimeoutMs);
  }

  /**
   * Nothing to do: `commit` delivered the notification (its NOTIFY went out with the commit). A
   * notification that did not come from this backplane's `append` is refused with `invalid_option`
   * (use the backplane as both `history` and `broker`).
   */
  publish(notification: StoredNotification): void {
    if (this.#appended.has(notification)) return;
    throw new WardcastError(
      ErrorCode.InvalidOption,
      'PostgresBackplane: pass the backplane as both history and broker (it publishes what it appended)',
    );
  }

  /** Starts following `topic` (LISTEN on its channel, then a read of where its stream ends). */
  watch(topic: string): Promise<void> {
    return this.#feed.watch(topic);
  }

  /** Stops following `topic` (UNLISTEN). */
  unwatch(topic: string): Promise<void> {
    return this.#feed.unwatch(topic);
  }

  /**
   * `'degraded'` while the listening session is down (or catching up after a reconnect) or the last
   * query on the pool failed. Serves as both `Broker.health` and `HistoryStore.health`, so the hub's
   * readiness (`GET /v1/health/ready`) fails while it is `'degraded'`.
   *
   * @example
   * ```ts
   * if (backplane.health() === 'degraded') console.warn('postgres unreachable: publishes fail with store_unavailable');
   * ```
   */
  health(): 'ok' | 'degraded' {
    return this.#db.healthy && this.#feed.live && this.#listener.live ? 'ok' : 'degraded';
  }

  /** Takes one of `userId`'s connection slots across instances; `false` at `max`. */
  reserveConnection(userId: string, sessionId: string, max: number): Promise<boolean> {
    return this.#slots.reserve(userId, sessionId, max);
  }

  /** Gives a slot back. */
  releaseConnection(userId: string, sessionId: string): Promise<void> {
    return this.#slots.release(userId, sessionId);
  }

  /** `instanceTtlMs`: the longest the connection slots of a crashed instance keep counting. */
  get connectionRetryAfterMs(): number {
    return this.#o.instanceTtlMs;
  }

  // ---- HistoryStore ------------------------------------------------------------------------

  /**
   * Reserves the next seq of the topic (dedupe by id, epoch get-or-create) in a transaction that
   * stays open until {@link PostgresBackplane.commit} or {@link PostgresBackplane.abort}.
   * @throws {WardcastError} `store_unavailable`
   */
  async append(draft: NotificationDraft): Promise<AppendResult> {
    const result = await this.#store.append(draft);
    this.#appended.add(result.notification);
    return result;
  }

  /**
   * Commits the reservation: the notification becomes visible to reads and is NOTIFYed to every
   * instance, after every earlier seq. @throws {WardcastError} `store_unavailable`
   */
  commit(notification: StoredNotification): Promise<void> {
    return this.#store.commit(notification, this.#o.channel(notification.topic));
  }

  /** Rolls a reservation back (its seq is reused, no hole). `false` when it was committed after all. */
  abort(notification: StoredNotification): Promise<boolean> {
    return this.#store.abort(notification);
  }

  /** What came after `since`, aligned with this instance's live feed. */
  read(topic: string, since: StreamPosition): Promise<ReadResult> {
    return this.#feed.replay(topic, since);
  }

  /** The topic's committed end, aligned with this instance's live feed. */
  position(topic: string): Promise<StreamPosition> {
    return this.#feed.position(topic);
  }

  /**
   * Deletes history of topics idle past `maxAgeMs` and topic rows idle past `topicTtlMs` now (it
   * also runs every minute). Resolves the number of stream rows deleted.
   */
  sweep(): Promise<number> {
    return this.#store.sweep();
  }

  /**
   * Rolls back open reservations, leaves (presence, connection slots), stops listening. Never ends
   * the pool. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  // ---- internals ---------------------------------------------------------------------------

  /** On every (re)connect of the listener: read every topic from the table, resync presence. */
  async #goOnline(channels: ReadonlySet<string>): Promise<void> {
    if (!this.#started || this.#closing) return;
    this.#feed.up(channels);
    this.#controlSynced = false;
    try {
      await this.#channel.sync();
      this.#controlSynced = true;
    } catch (cause) {
      this.#logger.warn({ err: cause }, 'wardcast/postgres: presence sync failed; retrying with the heartbeat');
    }
  }

  async #beat(): Promise<void> {
    if (this.#closing) return;
    // A listener that stopped answering (a half-open connection) is dropped and reconnected.
    if (this.#listener.live) await this.#listener.ping();
    if (!this.#feed.live) return;
    try {
      if (this.#controlSynced && !this.#channel.needsSync) await this.#channel.heartbeat();
      else {
        await this.#channel.sync();
        this.#controlSynced = true;
      }
    } catch (cause) {
      this.#logger.debug({ err: cause }, 'wardcast/postgres: heartbeat failed');
    }
  }

  async #sweepOnce(): Promise<void> {
    if (this.#closing) return;
    try {
      await this.#store.sweep();
    } catch (cause) {
      this.#logger.warn({ err: cause }, 'wardcast/postgres: sweep of idle topics failed');
    }
  }

  async #shutdown(): Promise<void> {
    clearInterval(this.#heartbeat);
    clearInterval(this.#sweep);
    this.#feed.close();
    this.#channel.close();
    await this.#store.close();
    if (this.#started) await Promise.allSettled([this.#slots.releaseAll(), this.#channel.leave()]);
    await this.#listener.close();
  }
}

/**
 * Creates the PostgreSQL backplane: a history store on a stream table (one epoch and a gap-free
 * seq per topic, shared by all instances, trimmed by count and age) and a broker that fans
 * commits out with LISTEN/NOTIFY, filling gaps from the table. Also carries `disconnectUser`,
 * receipts, presence, escalation acks and the per-user connection limit across instances. Pass it
 * as both `history` and `broker`; run {@link migrate} first. Share one `pg.Pool` with the inbox
 * and the escalation store.
 *
 * @throws {WardcastError} `invalid_option` for a bad option.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { NotificationHub } from '@wardcast/server';
 * import { createPostgresBackplane, migrate, PostgresEscalationStore, PostgresInbox } from '@wardcast/postgres';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
 * await migrate(pool);
 * const backplane = createPostgresBackplane({ pool });
 * const hub = new NotificationHub({
 *   authenticate,
 *   history: backplane,
 *   broker: backplane,
 *   inbox: new PostgresInbox({ pool }),
 *   escalations: new PostgresEscalationStore({ pool }),
 * });
 * ```
 *
 * @category Backplane
 */
export function createPostgresBackplane(options: PostgresBackplaneOptions): PostgresBackplane {
  return new PostgresBackplane(options);
}
