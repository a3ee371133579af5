import type { Logger } from '@wardcast/server';
import { TopicFeed } from '@wardcast/server/backplane';
import { unavailable } from './db.js';
import type { Listener } from './listener.js';
import { decodeMessage, type StreamStore } from './store.js';

/**
 * The receiving side: the shared ordered {@link TopicFeed} over one NOTIFY channel per watched
 * topic. A notification too large for a NOTIFY payload arrives as its position only and is read
 * from the stream table, as are gaps. The listener keeps the channels to LISTEN to, also those of
 * topics watched while it is down, and LISTENs to them at every connect.
 */
export function createTopicFeed(
  listener: Listener,
  store: StreamStore,
  channelOf: (topic: string) => string,
  logger: Logger,
  commandTimeoutMs: number,
): TopicFeed {
  return new TopicFeed({
    store,
    subscriptions: {
      subscribe: (channel) => listener.listen(channel),
      unsubscribe: (channel) => listener.unlisten(channel),
      subscribeLater: (channel) => void listener.listen(channel),
    },
    channelOf,
    decode: (raw, topic) => {
      const m = decodeMessage(raw);
      if (!m || (m.notification && m.notification.topic !== topic)) {
        logger.warn({ topic }, 'wardcast/postgres: undecodable notification ignored');
        return undefined;
      }
      return m;
    },
    wording: { source: 'wardcast/postgres', subscribe: 'LISTEN', stream: 'the stream table' },
    logger,
    readyTimeoutMs: commandTimeoutMs,
    notCaughtUp: () => unavailable('the listener is not caught up with the stream table'),
  });
}
