import type { StoredNotification } from '../core/types.js';
import type { Broker, BrokerHandler } from './types.js';

/**
 * The single-process broker: a publish is delivered to this hub's subscribers synchronously,
 * so order is the order of `publish` calls. Use `@wardcast/redis` for several instances.
 *
 * @example
 * ```ts
 * const hub = new NotificationHub({ authenticate, broker: new MemoryBroker() });
 * ```
 *
 * @category History and broker
 */
export class MemoryBroker implements Broker {
  #handler: BrokerHandler | undefined;

  start(handler: BrokerHandler): void {
    this.#handler = handler;
  }

  publish(notification: StoredNotification): void {
    this.#handler?.(notification);
  }

  close(): void {
    this.#handler = undefined;
  }
}
