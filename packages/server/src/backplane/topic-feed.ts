import type { StreamPosition } from '@wardcast/protocol';
import type { BrokerHandler } from '../broker/types.js';
import { type Logger, silentLogger } from '../core/logger.js';
import type { StoredNotification } from '../core/types.js';
import type { ReadResult } from '../history/types.js';
import { DEFAULT_FEED_RETRY_MS, type FeedMessage, type StreamRead, type TopicFeedOptions } from './feed-options.js';

/** Tries of a read that found the feed behind the stream (see `replay`). */
const READ_ATTEMPTS = 3;

/**
 * What a {@link TopicFeed} knows of one watched topic.
 *
 * @example
 * ```ts
 * const watched = feed.watched('user:42');
 * if (watched) await watched.ready;
 * ```
 *
 * @category Backplane authoring
 */
export interface WatchedTopic {
  /** Last position handed to the hub; `undefined` until the first read of the stream. */
  readonly last: StreamPosition | undefined;
  /** Resolves once `last` is known. */
  readonly ready: Promise<void>;
}

interface TopicState extends WatchedTopic {
  readonly channel: string;
  last: StreamPosition | undefined;
  /** Reads of the store in flight; messages wait in `queue` meanwhile. */
  syncs: number;
  readonly queue: FeedMessage[];
  resolve: () => void;
  retry: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The receiving side of a backplane, one channel per watched topic, that hands each topic's
 * notifications to the hub in seq order. For each topic it remembers the last `{ epoch, seq }` it
 * handed over and hands over only the next one: an older or repeated seq is dropped; a jump (a
 * message missed while the connection was down), another epoch, or a message without its
 * notification is first read from the store, in order. After a reconnect ({@link TopicFeed.up})
 * every topic is read from the store again before live messages flow. A gap the store no longer
 * covers is handed over as a jump in seqs: clients report it as a gap.
 *
 * The transport stays with the backplane: it subscribes channels through
 * {@link FeedSubscriptions}, passes every message to {@link TopicFeed.message} and reports its
 * connection with {@link TopicFeed.down} and {@link TopicFeed.up}.
 *
 * @example
 * ```ts
 * const feed = new TopicFeed(options);
 * connection.on('message', (channel, raw) => feed.message(channel, raw));
 * connection.on('close', () => feed.down());
 * connection.on('ready', async () => {
 *   const channels = feed.channels();
 *   await connection.subscribe(...channels);
 *   feed.up(new Set(channels));
 * });
 * feed.start((notification) => deliverLocally(notification));
 * ```
 *
 * @category Backplane authoring
 */
export class TopicFeed {
  readonly #topics = new Map<string, TopicState>();
  readonly #byChannel = new Map<string, string>();
  readonly #o: TopicFeedOptions;
  readonly #logger: Logger;
  readonly #source: string;
  #deliver: BrokerHandler | undefined;
  /** The connection is up and resubscribed. */
  #live = false;
  #gaps = 0;
  /** Resolves at the first {@link TopicFeed.up}. */
  readonly #firstUp: Promise<void>;
  #wentUp: () => void = () => {};

  constructor(options: TopicFeedOptions) {
    this.#o = options;
    this.#logger = options.logger ?? silentLogger;
    this.#source = options.wording.source;
    this.#firstUp = new Promise<void>((resolve) => {
      this.#wentUp = resolve;
    });
  }

  /** `true` between {@link TopicFeed.up} and {@link TopicFeed.down}. */
  get live(): boolean {
    return this.#live;
  }

  /** Gaps the store could not fill (trimmed, or the epoch changed), for tests and metrics. */
  get gapsReported(): number {
    return this.#gaps;
  }

  /** Sets the function that hands notifications to the hub (the broker's `start` handler). */
  start(deliver: BrokerHandler): void {
    this.#deliver = deliver;
  }

  /**
   * Resolves once the feed went live for the first time, or after `timeoutMs` when it has not
   * (the backplane keeps connecting): what a broker's `start` waits for.
   */
  async firstUp(timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#firstUp,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Channels of every watched topic (to resubscribe after a reconnect). */
  channels(): string[] {
    return [...this.#byChannel.keys()];
  }

  /** What the feed knows of `topic`, or `undefined` when it is not watched. */
  watched(topic: string): WatchedTopic | undefined {
    return this.#topics.get(topic);
  }

  /**
   * Starts following `topic`. Registers it synchronously; the subscription and first read follow
   * (at the next {@link TopicFeed.up} while the connection is down).
   */
  watch(topic: string): Promise<void> {
    const existing = this.#topics.get(topic);
    if (existing) return existing.ready;
    let resolve = (): void => {};
    const ready = new Promise<void>((r) => {
      resolve = r;
    });
    const st: TopicState = {
      channel: this.#o.channelOf(topic),
      last: undefined,
      syncs: 0,
      queue: [],
      ready,
      resolve,
      retry: undefined,
    };
    this.#topics.set(topic, st);
    this.#byChannel.set(st.channel, topic);
    if (!this.#live) {
      this.#o.subscriptions.subscribeLater?.(st.channel);
      return Promise.resolve();
    }
    return this.#subscribe(topic, st);
  }

  /** Stops following `topic` and unsubscribes its channel. */
  async unwatch(topic: string): Promise<void> {
    const st = this.#topics.get(topic);
    if (!st) return;
    this.#topics.delete(topic);
    this.#byChannel.delete(st.channel);
    clearTimeout(st.retry);
    st.resolve();
    await this.#o.subscriptions.unsubscribe(st.channel);
  }

  /** Reads the topic's stream now and hands over what the hub has not seen yet. */
  resync(topic: string): Promise<void> {
    const st = this.#topics.get(topic);
    return st ? this.#sync(topic, st) : Promise.resolve();
  }

  /** A message on `channel`; ignored unless it is the channel of a watched topic. */
  message(channel: string, raw: string): void {
    const topic = this.#byChannel.get(channel);
    const st = topic === undefined ? undefined : this.#topics.get(topic);
    if (!st || topic === undefined) return;
    const m = this.#o.decode(raw, topic, channel);
    if (!m) return;
    const last = st.last;
    // The common case: the next seq of the topic, nothing pending.
    if (
      m.notification &&
      this.#live &&
      st.syncs === 0 &&
      st.queue.length === 0 &&
      last?.epoch === m.epoch &&
      m.seq === last.seq + 1
    ) {
      st.last = { epoch: m.epoch, seq: m.seq };
      this.#hand(m.notification);
      return;
    }
    st.queue.push(m);
    this.#pump(topic, st);
  }

  /** The connection dropped: hold everything until {@link TopicFeed.up}. */
  down(): void {
    this.#live = false;
  }

  /**
   * The connection is back with `subscribed` channels: reads every topic from the store, then
   * goes live. Topics whose channel is not in `subscribed` (watched while that subscription was on
   * its way) are subscribed now.
   */
  up(subscribed: ReadonlySet<string>): void {
    this.#live = true;
    this.#wentUp();
    const verb = this.#o.wording.subscribe ?? 'subscribe';
    for (const [topic, st] of this.#topics) {
      if (subscribed.has(st.channel)) void this.#sync(topic, st);
      else
        void this.#subscribe(topic, st).catch((cause: unknown) => {
          this.#logger.warn({ err: cause, topic }, `${this.#source}: ${verb} failed; retrying at the next connect`);
        });
    }
  }

  /**
   * What a client resuming `topic` after `since` missed, aligned with what this feed has handed to
   * the hub: the replay covers up to the feed's position, the live feed everything after, so a
   * client is never told about seqs the feed will bring again, nor misses ones between. When the
   * feed is behind the client's position or on another epoch, it catches up first.
   * @throws the error of {@link TopicFeedOptions.notCaughtUp}, or the store's
   */
  async replay(topic: string, since: StreamPosition): Promise<ReadResult> {
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

  /** The topic's end, aligned with what this feed has handed to the hub (see {@link TopicFeed.replay}). */
  async position(topic: string): Promise<StreamPosition> {
    return (await this.#readAligned(topic, undefined)).end;
  }

  /** Stops everything: pending reads are dropped, `ready` promises resolve. */
  close(): void {
    this.#live = false;
    for (const st of this.#topics.values()) {
      clearTimeout(st.retry);
      st.resolve();
    }
    this.#topics.clear();
    this.#byChannel.clear();
    this.#deliver = undefined;
  }

  async #subscribe(topic: string, st: TopicState): Promise<void> {
    await this.#o.subscriptions.subscribe(st.channel);
    // Anything published from here on reaches us; the first read sets the starting point.
    if (this.#topics.get(topic) === st && this.#live) await this.#sync(topic, st);
  }

  #hand(n: StoredNotification): void {
    try {
      this.#deliver?.(n);
    } catch (cause) {
      this.#logger.error({ err: cause, topic: n.topic }, `${this.#source}: delivery threw`);
    }
  }

  /** Hands over queued messages in order; a jump, a new epoch or a message without its notification sends us to the store. */
  #pump(topic: string, st: TopicState): void {
    if (!this.#live || st.syncs > 0 || st.last === undefined) return;
    while (st.queue.length > 0) {
      const m = st.queue[0] as FeedMessage;
      const last: StreamPosition = st.last;
      if (m.epoch === last.epoch && m.seq <= last.seq) {
        st.queue.shift();
        continue;
      }
      if (m.notification && m.epoch === last.epoch && m.seq === last.seq + 1) {
        st.queue.shift();
        st.last = { epoch: m.epoch, seq: m.seq };
        this.#hand(m.notification);
        continue;
      }
      void this.#sync(topic, st);
      return;
    }
  }

  /**
   * Reads the store after `last` and hands over what it holds, in order; the first read of a topic
   * only records the end. Concurrent reads are safe: each entry is handed over only if it is newer
   * than `last` at that moment.
   */
  async #sync(topic: string, st: TopicState): Promise<void> {
    st.syncs++;
    clearTimeout(st.retry);
    st.retry = undefined;
    try {
      const read = await this.#o.store.read(topic, st.last, 'follow');
      if (this.#topics.get(topic) !== st) return;
      if (st.last === undefined) {
        st.last = read.position;
      } else {
        for (const n of read.entries) {
          const last: StreamPosition = st.last;
          if (n.epoch === last.epoch && n.seq <= last.seq) continue;
          st.last = { epoch: n.epoch, seq: n.seq };
          this.#hand(n);
        }
        const last = st.last;
        if (last.epoch !== read.position.epoch || last.seq < read.position.seq) {
          // Trimmed before we read it (or the topic got a new epoch): subscribers see the jump and
          // clients report a gap. A new, still empty epoch just becomes the starting point.
          if (read.position.seq > 0) {
            this.#gaps++;
            this.#logger.warn(
              { topic, from: last, to: read.position },
              `${this.#source}: ${this.#o.wording.stream ?? 'stream'} no longer covers a gap`,
            );
          }
          st.last = read.position;
        }
      }
      // Messages of another epoch are from a stream that is gone.
      const epoch = st.last.epoch;
      for (let i = st.queue.length - 1; i >= 0; i--) if (st.queue[i]?.epoch !== epoch) st.queue.splice(i, 1);
      st.resolve();
    } catch (cause) {
      this.#logger.warn({ err: cause, topic }, `${this.#source}: stream read failed; retrying`);
      if (this.#topics.get(topic) === st && this.#live) {
        st.retry = setTimeout(() => void this.#sync(topic, st), this.#o.retryMs ?? DEFAULT_FEED_RETRY_MS);
        st.retry.unref?.();
      }
    } finally {
      st.syncs--;
      this.#pump(topic, st);
    }
  }

  /** Reads the store (`'read'` mode) and aligns the answer's end with this feed's position. */
  async #readAligned(
    topic: string,
    since: StreamPosition | undefined,
  ): Promise<{ read: StreamRead; end: StreamPosition }> {
    for (let attempt = 1; ; attempt++) {
      const watched = this.#topics.get(topic);
      if (watched) await this.#ready(watched.ready);
      const read = await this.#o.store.read(topic, since, 'read');
      const last = this.#topics.get(topic)?.last;
      if (!last) return { read, end: read.position };
      const behind =
        last.epoch !== read.position.epoch ||
        (since !== undefined && since.epoch === last.epoch && since.seq > last.seq && since.seq <= read.position.seq);
      if (behind && attempt < READ_ATTEMPTS) {
        await this.resync(topic);
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
          timer = setTimeout(() => reject(this.#o.notCaughtUp()), this.#o.readyTimeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
