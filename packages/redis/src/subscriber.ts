import type { Logger } from '@wardcast/server';
import { TopicFeed } from '@wardcast/server/backplane';
import { decodeMessage } from './codec.js';
import type { Connections } from './connections.js';
import { unavailable } from './errors.js';
import type { Keys } from './keys.js';
import type { StreamStore } from './store.js';

/**
 * The subscribing side: the shared ordered {@link TopicFeed} over one pub/sub channel per watched
 * topic, so an instance only receives the topics it has subscribers for. Gaps are filled from the
 * topic's stream. While the connection is down nothing is subscribed: the backplane subscribes
 * `feed.channels()` with the control channel at every connect, then calls `feed.up`.
 */
export function createTopicFeed(
  conns: Connections,
  keys: Keys,
  store: StreamStore,
  logger: Logger,
  commandTimeoutMs: number,
): TopicFeed {
  return new TopicFeed({
    store,
    subscriptions: {
      subscribe: (channel) => conns.sub.subscribe(channel),
      unsubscribe: async (channel) => {
        if (conns.sub.status === 'ready') await conns.sub.unsubscribe(channel);
      },
    },
    channelOf: (topic) => keys.channel(topic),
    decode: (raw, _topic, channel) => {
      const n = decodeMessage(raw);
      if (!n) {
        logger.warn({ channel }, 'wardcast/redis: undecodable message ignored');
        return undefined;
      }
      return { epoch: n.epoch, seq: n.seq, notification: n };
    },
    wording: { source: 'wardcast/redis' },
    logger,
    readyTimeoutMs: commandTimeoutMs,
    notCaughtUp: () => unavailable('subscriber is not caught up with redis'),
  });
}
