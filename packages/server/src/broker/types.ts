import type { StoredNotification } from '../core/types.js';

/** Receives notifications that a broker fans out, from this or another hub instance. */
export type BrokerHandler = (notification: StoredNotification) => void;

/**
 * Fans notifications out to every hub instance, this one included. The in-memory default
 * ({@link MemoryBroker}) serves one process; `@wardcast/redis` serves many.
 *
 * A broker must hand each instance a topic's notifications in seq order.
 */
export interface Broker {
  /** Called once by the hub before any publish, with the function that delivers locally. */
  start(handler: BrokerHandler): Promise<void> | void;
  /** Sends a stored notification to every instance. Resolves once the broker accepted it. */
  publish(notification: StoredNotification): Promise<void> | void;
  /** This instance has its first local subscriber on `topic` (brokers may use it to limit traffic). */
  watch?(topic: string): Promise<void> | void;
  /** This instance has no local subscriber on `topic` any more. */
  unwatch?(topic: string): Promise<void> | void;
  /**
   * Whether the broker currently reaches the other instances; reported to clients in `telemetry`
   * frames. Must be cheap and synchronous. @default always `'ok'` when absent (the memory broker)
   */
  health?(): 'ok' | 'degraded';
  /** Frees everything. */
  close?(): Promise<void> | void;
}
