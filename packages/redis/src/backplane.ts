import { ErrorCode, type StreamPosition, WardcastError } from '@wardcast/protocol';
import type {
  AppendOptions,
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
import { Connections } from './connections.js';
import { ControlChannel } from './control.js';
import { type Keys, makeKeys } from './keys.js';
import { type RedisBackplaneOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { ConnectionSlots } from './slots.js';
import { StreamStore } from './store.js';
import { createTopicFeed } from './subscriber.js';

/**
 * Broker and history store on Redis for several hub instances: pass the same object as both
 * `history` and `broker`. See {@link createRedisBackplane}.
 *
 * @category Backplane
 */
export class RedisBackplane implements Broker, HistoryStore {
  /** This instance's id in presence and connection slots. */
  readonly instanceId: string;
  /** Cross-instance control channel (disconnect everywhere, receipts, presence). */
  readonly control: BrokerControl;
  readonly #options: ResolvedOptions;
  readonly #logger: Logger;
  readonly #keys: Keys;
  readonly #conns: Connections;
  readonly #store: StreamStore;
  readonly #feed: TopicFeed;
  readonly #channel: ControlChannel;
  readonly #slots: ConnectionSlots;
  /** Notifications `append` returned: `commit` publishes them. */
  readonly #appended = new WeakSet<StoredNotification>();
  /** Notifications `append` committed at once (`commit: true`): `commit` has nothing left to do. */
  readonly #committed = new WeakSet<StoredNotification>();
  #started = false;
  #closing: Promise<void> | undefined;
  #online = 0;
  #controlSynced = false;
  #heartbeat: ReturnType<typeof setInterval> | undefined;

  constructor(options: RedisBackplaneOptions) {
    this.#options = resolveOptions(options);
    this.#logger = options.logger ?? silentLogger;
    this.instanceId = this.#options.instanceId;
    this.#keys = makeKeys(this.#options.keyPrefix);
    this.#conns = new Connections(options.redis, this.#options.commandTimeoutMs, this.#logger);
    this.#store = new StreamStore(this.#conns, this.#keys, this.#options);
    this.#feed = createTopicFeed(this.#conns, this.#keys, this.#store, this.#logger, this.#options.commandTimeoutMs);
    this.#slots = new ConnectionSlots(this.#conns, this.#keys, this.instanceId, this.#options.instanceTtlMs);
    this.#channel = new ControlChannel(
      this.#conns,
      this.#keys,
      this.instanceId,
      this.#options.instanceTtlMs,
      this.#slots,
      this.#logger,
    );
    this.control = this.#channel;
    const { sub } = this.#conns;
    sub.on('message', (channel: string, message: string) => {
      if (channel === this.#keys.control) this.#channel.message(message);
      else this.#feed.message(channel, message);
    });
    sub.on('ready', () => void this.#goOnline());
    sub.on('close', () => {
      if (this.#feed.live) this.#logger.warn({}, 'wardcast/redis: pub/sub connection lost; will resync');
      this.#feed.down();
    });
  }

  // ---- Broker ------------------------------------------------------------------------------

  /** Subscribes, then resolves once Redis answered (or after `commandTimeoutMs`: it keeps trying). */
  async start(handler: BrokerHandler): Promise<void> {
    this.#feed.start(handler);
    this.#started = true;
    if (this.#conns.sub.status === 'ready') void this.#goOnline();
    const every = Math.max(50, Math.floor(this.#options.instanceTtlMs / 3));
    this.#heartbeat = setInterval(() => void this.#beat(), every);
    this.#heartbeat.unref?.();
    await this.#feed.firstUp(this.#options.commandTimeoutMs);
  }

  /**
   * Nothing to do: `commit` published the notification. A notification that did not come from
   * this backplane's `append` is refused (use the backplane as both
   * `history` and `broker`: seqs and the gap fill need the stream).
   */
  publish(notification: StoredNotification): void {
    if (this.#appended.has(notification)) return;
    throw new WardcastError(
      ErrorCode.InvalidOption,
      'RedisBackplane: pass the backplane as both history and broker (it publishes what it appended)',
    );
  }

  watch(topic: string): Promise<void> {
    return this.#feed.watch(topic);
  }

  unwatch(topic: string): Promise<void> {
    return this.#feed.unwatch(topic);
  }

  /**
   * `'degraded'` while a Redis connection is down or the subscriber is catching up after one.
   * Serves as both `Broker.health` and `HistoryStore.health` (one Redis behind both), so the hub's
   * readiness (`hub.health()`, `GET /v1/health/ready`) fails while it is `'degraded'`.
   *
   * @example
   * ```ts
   * if (backplane.health() === 'degraded') console.warn('redis unreachable: publishes fail with store_unavailable');
   * ```
   */
  health(): 'ok' | 'degraded' {
    return this.#conns.healthy && this.#feed.live ? 'ok' : 'degraded';
  }

  reserveConnection(userId: string, sessionId: string, max: number): Promise<boolean> {
    return this.#slots.reserve(userId, sessionId, max);
  }

  releaseConnection(userId: string, sessionId: string): Promise<void> {
    return this.#slots.release(userId, sessionId);
  }

  /**
   * `instanceTtlMs`: the longest the connection slots of a crashed instance keep counting, so a
   * client refused for the limit because of them gets in on its first retry after this hint.
   */
  get connectionRetryAfterMs(): number {
    return this.#options.instanceTtlMs;
  }

  // ---- HistoryStore ------------------------------------------------------------------------

  /**
   * Reserves the next seq (dedupe by id, epoch get-or-create): nothing is visible or published
   * until {@link RedisBackplane.commit}.
   *
   * With `commit: true` (the hub passes it when no stage has work for the publish: no inbox row,
   * escalation or publish stage, so nothing can fail between the two phases), reserves and commits
   * in one script, one round trip: same dedupe, seq order across instances and takeover of a dead
   * instance's reservation; resolves once the notification was published to every instance, and
   * `commit` has nothing left to do.
   * @throws {WardcastError} `store_unavailable`; with `commit: true`, the message says "delivery
   * unknown" when Redis's answer was lost (retry with the same id: dedupe makes it safe).
   */
  async append(draft: NotificationDraft, options?: AppendOptions): Promise<AppendResult> {
    const now = options?.commit === true;
    const result = now ? await this.#store.appendCommitted(draft) : await this.#store.append(draft);
    this.#appended.add(result.notification);
    if (now) this.#committed.add(result.notification);
    return result;
  }

  /**
   * Makes a reserved notification visible and publishes it to every instance, after every earlier
   * seq of its topic (on any instance) was committed or given up; resolves once it was published.
   * @throws {WardcastError} `store_unavailable`
   */
  commit(notification: StoredNotification): Promise<void> | undefined {
    if (this.#committed.has(notification)) return undefined;
    return this.#store.commit(notification);
  }

  /** Gives a reservation up: nobody will receive it. `false` when it was committed after all. */
  abort(notification: StoredNotification): Promise<boolean> {
    if (this.#committed.has(notification)) return Promise.resolve(false);
    return this.#store.abort(notification);
  }

  read(topic: string, since: StreamPosition): Promise<ReadResult> {
    return this.#feed.replay(topic, since);
  }

  position(topic: string): Promise<StreamPosition> {
    return this.#feed.position(topic);
  }

  /** Frees the pub/sub connection (and the command connection when created from a URL). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  // ---- internals ---------------------------------------------------------------------------

  /** On every (re)connect of the pub/sub connection: resubscribe, catch up, resync presence. */
  async #goOnline(): Promise<void> {
    if (!this.#started || this.#closing) return;
    const generation = ++this.#online;
    try {
      const channels = this.#feed.channels();
      await this.#conns.sub.subscribe(this.#keys.control, ...channels);
      if (generation !== this.#online || this.#closing) return;
      this.#feed.up(new Set(channels));
      this.#logger.info({ instanceId: this.instanceId }, 'wardcast/redis: subscribed');
      this.#controlSynced = false;
      await this.#channel.sync();
      this.#controlSynced = true;
    } catch (cause) {
      this.#logger.warn({ err: cause }, 'wardcast/redis: resync after connect failed; retrying with the heartbeat');
    }
  }

  async #beat(): Promise<void> {
    if (this.#closing || !this.#feed.live) return;
    try {
      if (this.#controlSynced) await this.#channel.heartbeat();
      else {
        await this.#channel.sync();
        this.#controlSynced = true;
      }
    } catch (cause) {
      this.#logger.debug({ err: cause }, 'wardcast/redis: heartbeat failed');
    }
  }

  async #shutdown(): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#feed.close();
    this.#channel.close();
    if (this.#conns.commands.status === 'ready') {
      await Promise.allSettled([this.#slots.releaseAll(), this.#channel.leave()]);
    }
    await this.#conns.close();
  }
}

/**
 * Creates the Redis backplane: a broker that fans publishes out to every hub instance and a
 * history store on Redis Streams that assigns each topic's seqs (shared by all instances) and
 * replays what resuming clients missed. Also carries `disconnectUser`, receipts, presence and
 * the per-user connection limit across instances. Pass it as both `history` and `broker`.
 *
 * @throws {WardcastError} `invalid_option` for a bad option.
 *
 * @example
 * ```ts
 * import { NotificationHub } from '@wardcast/server';
 * import { createRedisBackplane } from '@wardcast/redis';
 *
 * const backplane = createRedisBackplane({ redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
 * const hub = new NotificationHub({ authenticate, history: backplane, broker: backplane });
 * ```
 *
 * @category Backplane
 */
export function createRedisBackplane(options: RedisBackplaneOptions): RedisBackplane {
  return new RedisBackplane(options);
}
