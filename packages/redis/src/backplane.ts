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
import { Connections } from './connections.js';
import { ControlChannel } from './control.js';
import { unavailable } from './errors.js';
import { type Keys, makeKeys } from './keys.js';
import { type RedisBackplaneOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { ConnectionSlots } from './slots.js';
import { type StreamRead, StreamStore } from './store.js';
import { TopicFeed } from './subscriber.js';

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Tries of a read that found this instance behind the stream (see `read`). */
const READ_ATTEMPTS = 3;

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
  #firstOnline: () => void = () => {};

  constructor(options: RedisBackplaneOptions) {
    this.#options = resolveOptions(options);
    this.#logger = options.logger ?? silentLogger;
    this.instanceId = this.#options.instanceId;
    this.#keys = makeKeys(this.#options.keyPrefix);
    this.#conns = new Connections(options.redis, this.#options.commandTimeoutMs, this.#logger);
    this.#store = new StreamStore(this.#conns, this.#keys, this.#options);
    this.#feed = new TopicFeed(this.#conns, this.#keys, this.#store, this.#logger);
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
    const online = new Promise<void>((resolve) => {
      this.#firstOnline = resolve;
    });
    if (this.#conns.sub.status === 'ready') void this.#goOnline();
    const every = Math.max(50, Math.floor(this.#options.instanceTtlMs / 3));
    this.#heartbeat = setInterval(() => void this.#beat(), every);
    this.#heartbeat.unref?.();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      online,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#options.commandTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
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

  async read(topic: string, since: StreamPosition): Promise<ReadResult> {
    const { read, end } = await this.#readAligned(topic, since);
    if (since.epoch !== end.epoch || since.seq > end.seq) {
      return { recovered: false, notifications: [], position: end };
    }
    if (since.seq === end.seq) return { recovered: true, notifications: [], position: end };
    const notifications = read.entries.filter((n) => n.seq > since.seq && n.seq <= end.seq);
    const complete = notifications.length === end.seq - since.seq && notifications[0]?.seq === since.seq + 1;
    return complete
      ? { recovered: true, notifications, position: end }
      : { recovered: false, notifications: [], position: end };
  }

  async position(topic: string): Promise<StreamPosition> {
    return (await this.#readAligned(topic, undefined)).end;
  }

  /** Frees the pub/sub connection (and the command connection when created from a URL). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  // ---- internals ---------------------------------------------------------------------------

  /**
   * Reads the stream and aligns the answer with what this instance's subscriber has handed to the
   * hub (`end`), so that a subscribing client is never told about seqs its live feed will bring
   * again, nor misses ones between: the replay covers up to `end`, the feed everything after.
   * When the subscriber is behind the client's own position or on another epoch, it catches up first.
   */
  async #readAligned(
    topic: string,
    since: StreamPosition | undefined,
  ): Promise<{ read: StreamRead; end: StreamPosition }> {
    for (let attempt = 1; ; attempt++) {
      const watched = this.#feed.watched(topic);
      if (watched) await this.#ready(watched.ready);
      const read = await this.#store.read(topic, since, 'read');
      const last = this.#feed.watched(topic)?.last;
      if (!last) return { read, end: read.position };
      const behind =
        last.epoch !== read.position.epoch ||
        (since !== undefined && since.epoch === last.epoch && since.seq > last.seq && since.seq <= read.position.seq);
      if (behind && attempt < READ_ATTEMPTS) {
        await this.#feed.resync(topic);
        continue;
      }
      const end = last.epoch === read.position.epoch && last.seq < read.position.seq ? last : read.position;
      return { read, end };
    }
  }

  async #ready(ready: Promise<void>): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        ready,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(unavailable('subscriber is not caught up with redis')),
            this.#options.commandTimeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

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
      this.#firstOnline();
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
