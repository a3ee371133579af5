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
    const failed = (cause: unknown): void => {
      logger.warn({ topic, err: cause }, `wardcast: broker ${op} failed`);
      onError(new WardcastError(ErrorCode.StoreUnavailable, `broker ${op} failed`, { cause }));
    };
    // Called synchronously: the broker hears of a first subscriber before that subscriber's
    // history read starts, so a shared backplane can order the two.
    try {
      Promise.resolve(fn.call(broker, topic)).catch(failed);
    } catch (cause) {
      failed(cause);
    }
  };
  return { watch: (topic) => call('watch', topic), unwatch: (topic) => call('unwatch', topic) };
}
