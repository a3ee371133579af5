import { ErrorCode, WardcastError } from '@wardcast/protocol';
import type { Logger } from '../core/logger.js';
import type { Broker } from './types.js';

/**
 * Tells a broker which topics this instance has local subscribers on, without ever throwing
 * into the session that caused it: failures are logged and reported as `store_unavailable`.
 */
export function brokerInterest(
  broker: Broker,
  logger: Logger,
  onError: (error: WardcastError) => void,
): { watch(topic: string): void; unwatch(topic: string): void } {
  const call = (op: 'watch' | 'unwatch', topic: string): void => {
    const fn = broker[op];
    if (!fn) return;
    Promise.resolve(topic)
      .then((t) => fn.call(broker, t))
      .catch((cause: unknown) => {
        logger.warn({ topic, err: cause }, `wardcast: broker ${op} failed`);
        onError(new WardcastError(ErrorCode.StoreUnavailable, `broker ${op} failed`, { cause }));
      });
  };
  return { watch: (topic) => call('watch', topic), unwatch: (topic) => call('unwatch', topic) };
}
