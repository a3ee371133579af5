import type { StreamPosition } from '@wardcast/protocol';
import type { Logger } from '../core/logger.js';
import type { StoredNotification } from '../core/types.js';

/**
 * Default of {@link TopicFeedOptions.retryMs}.
 *
 * @example
 * ```ts
 * const feed = new TopicFeed({ ...options, retryMs: 2 * DEFAULT_FEED_RETRY_MS });
 * ```
 *
 * @category Backplane authoring
 */
export const DEFAULT_FEED_RETRY_MS = 500;

/**
 * What a store read returns: where the topic's stream ends and the entries it returned.
 *
 * @example
 * ```ts
 * const read: StreamRead = { position: { epoch: 'e1', seq: 2 }, entries: [first, second] };
 * ```
 *
 * @category Backplane authoring
 */
export interface StreamRead {
  /** The topic's committed end (`seq: 0` for a new, empty epoch). */
  readonly position: StreamPosition;
  /** Committed entries after the requested position, oldest first. */
  readonly entries: readonly StoredNotification[];
}

/**
 * The store a {@link TopicFeed} fills gaps from: the backplane's history store.
 *
 * @example
 * ```ts
 * const store: FeedStore = {
 *   async read(topic, since, mode) {
 *     return { position: await endOf(topic), entries: await entriesAfter(topic, since, mode) };
 *   },
 * };
 * ```
 *
 * @category Backplane authoring
 */
export interface FeedStore {
  /**
   * Reads `topic`'s stream after `since`. Without `since`, only the end (`entries` may be empty).
   * With `since` in the current epoch: the entries after `since.seq`. With `since` in another
   * epoch: every entry of the current epoch in `'follow'` mode (the feed moves on to it), none in
   * `'read'` mode (a client's resume point from another stream recovers nothing).
   */
  read(topic: string, since: StreamPosition | undefined, mode: 'follow' | 'read'): Promise<StreamRead>;
}

/**
 * The transport side of a {@link TopicFeed}: one channel per watched topic (a Redis pub/sub
 * channel, a PostgreSQL NOTIFY channel).
 *
 * @example
 * ```ts
 * const subscriptions: FeedSubscriptions = {
 *   subscribe: (channel) => sub.subscribe(channel),
 *   unsubscribe: (channel) => sub.unsubscribe(channel),
 * };
 * ```
 *
 * @category Backplane authoring
 */
export interface FeedSubscriptions {
  /** Subscribes to `channel`; resolves once everything published from then on will arrive. */
  subscribe(channel: string): Promise<unknown>;
  /** Unsubscribes from `channel` (called for a topic no longer watched). */
  unsubscribe(channel: string): Promise<unknown>;
  /**
   * Called instead of `subscribe` for a topic watched while the connection is down, for a
   * transport that keeps its own list of channels to subscribe at the next connect. Without it,
   * the owner subscribes {@link TopicFeed.channels} itself when it reconnects, or
   * {@link TopicFeed.up} subscribes whatever was missing.
   */
  subscribeLater?(channel: string): void;
}

/**
 * One message on a topic channel, decoded by the backplane.
 *
 * @example
 * ```ts
 * const message: FeedMessage = { epoch: n.epoch, seq: n.seq, notification: n };
 * ```
 *
 * @category Backplane authoring
 */
export interface FeedMessage {
  readonly epoch: string;
  readonly seq: number;
  /** The notification; `undefined` when it was too large for the transport: the feed reads it from the store. */
  readonly notification: StoredNotification | undefined;
}

/**
 * Words in the feed's log lines, so they name the backplane and its transport.
 *
 * @example
 * ```ts
 * const wording: FeedWording = { source: 'wardcast/postgres', subscribe: 'LISTEN', stream: 'the stream table' };
 * ```
 *
 * @category Backplane authoring
 */
export interface FeedWording {
  /** Prefix of every line, e.g. `'wardcast/redis'`. */
  readonly source: string;
  /** What subscribing to a channel is called. @default 'subscribe' */
  readonly subscribe?: string;
  /** What the topic's stored history is called. @default 'stream' */
  readonly stream?: string;
}

/**
 * Options of {@link TopicFeed}.
 *
 * @example
 * ```ts
 * const options: TopicFeedOptions = {
 *   store,
 *   subscriptions,
 *   channelOf: (topic) => `wardcast:topic:${topic}`,
 *   decode: (raw) => decodeMessage(raw),
 *   wording: { source: 'my-backplane' },
 *   readyTimeoutMs: 2_000,
 *   notCaughtUp: () => new WardcastError(ErrorCode.StoreUnavailable, 'my-backplane: not caught up'),
 * };
 * ```
 *
 * @category Backplane authoring
 */
export interface TopicFeedOptions {
  /** Where gaps are filled from. */
  readonly store: FeedStore;
  /** Subscribes the channel of each watched topic. */
  readonly subscriptions: FeedSubscriptions;
  /** The channel of a topic (one per topic, never the same for two topics). */
  readonly channelOf: (topic: string) => string;
  /**
   * Decodes a message that arrived on `channel` (the channel of `topic`); `undefined` drops it
   * (log the reason there: the feed does not).
   */
  readonly decode: (raw: string, topic: string, channel: string) => FeedMessage | undefined;
  /** Names in the log lines. */
  readonly wording: FeedWording;
  /** Receives failed reads, lost gaps and throwing handlers. @default no logging */
  readonly logger?: Logger;
  /** Wait (ms) before a failed read of a topic is tried again. @default {@link DEFAULT_FEED_RETRY_MS} */
  readonly retryMs?: number;
  /** How long (ms) {@link TopicFeed.replay} waits for the first read of a watched topic. */
  readonly readyTimeoutMs: number;
  /** The error {@link TopicFeed.replay} and {@link TopicFeed.position} reject with when that wait runs out. */
  readonly notCaughtUp: () => Error;
}
