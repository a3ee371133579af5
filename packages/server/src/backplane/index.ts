/**
 * `@wardcast/server/backplane`: the building blocks shared by backplanes (`@wardcast/redis`,
 * `@wardcast/postgres`), for writing one on another transport. {@link TopicFeed} hands each
 * watched topic's notifications to the hub in seq order, fills gaps from the store and aligns
 * resume reads with what it has handed over; {@link ControlRouter} and
 * {@link parseControlEnvelope} route control messages between instances. The transport
 * (subscribing channels, reconnecting) and the store stay in the backplane. Never imported by the
 * main entry.
 *
 * @packageDocumentation
 * @module \@wardcast/server/backplane
 */

export {
  type ControlEnvelope,
  ControlRouter,
  type ControlRouterOptions,
  PresencePairs,
  parseControlEnvelope,
} from './control-router.js';
export {
  DEFAULT_FEED_RETRY_MS,
  type FeedMessage,
  type FeedStore,
  type FeedSubscriptions,
  type FeedWording,
  type StreamRead,
  type TopicFeedOptions,
} from './feed-options.js';
export { TopicFeed, type WatchedTopic } from './topic-feed.js';
