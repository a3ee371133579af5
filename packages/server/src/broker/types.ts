import type { StoredNotification } from '../core/types.js';

/**
 * Receives notifications that a broker fans out, from this or another hub instance.
 *
 * @category History and broker
 */
export type BrokerHandler = (notification: StoredNotification) => void;

/**
 * One `(topic, user)` pair of a presence snapshot.
 *
 * @category History and broker
 */
export interface PresenceMember {
  readonly topic: string;
  readonly userId: string;
}

/**
 * What hub instances tell each other through {@link BrokerControl}. The hub publishes
 * `disconnect`, `receipt`, `presence` and `escalation_ack`; `presence_snapshot` comes only from
 * brokers (the full membership of one instance, when a broker (re)connects, and an empty one when
 * an instance is gone).
 *
 * @category History and broker
 */
export type ControlMessage =
  /** Close every connection of `userId` with `4410` (logout, revoked access). */
  | { readonly type: 'disconnect'; readonly userId: string; readonly reason: string }
  /** Send a `receipt` frame to every connection of `userId` (read state changed elsewhere). */
  | { readonly type: 'receipt'; readonly userId: string; readonly id: string; readonly action: 'read' | 'ack' }
  /** The sending instance has (`present: true`) or no longer has a subscription of `userId` to `topic`. */
  | { readonly type: 'presence'; readonly topic: string; readonly userId: string; readonly present: boolean }
  /** Replaces everything known about the sending instance's presence. */
  | { readonly type: 'presence_snapshot'; readonly members: readonly PresenceMember[] }
  /**
   * `userId` acknowledged notification `id` (an escalating notification's id or a re-sent
   * `<id>~<step>`) on the sending instance, which does not track its escalation: the instance that
   * tracks it stops it.
   */
  | { readonly type: 'escalation_ack'; readonly userId: string; readonly id: string };

/**
 * Receives control messages from other hub instances; `origin` names the sending instance.
 *
 * @category History and broker
 */
export type ControlHandler = (message: ControlMessage, origin: string) => void;

/**
 * A channel between hub instances for everything that is not a notification: closing a user's
 * connections everywhere, read receipts, presence, acks of escalations tracked elsewhere.
 *
 * @category History and broker
 */
export interface BrokerControl {
  /** Sends `message` to every other instance (not back to this one). Resolves once the broker accepted it. */
  publish(message: ControlMessage): Promise<void> | void;
  /** Called once by the hub, with the function that handles messages from other instances. */
  subscribe(handler: ControlHandler): void;
}

/**
 * Fans notifications out to every hub instance, this one included. The in-memory default
 * ({@link MemoryBroker}) serves one process; `@wardcast/redis` serves many.
 *
 * A broker must hand each instance a topic's notifications in seq order.
 *
 * @category History and broker
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
  /**
   * Cross-instance coordination (`disconnectUser` everywhere, receipts, presence). Without it
   * (the memory broker) those stay per instance.
   */
  readonly control?: BrokerControl;
  /**
   * Takes one of `userId`'s connection slots for `sessionId` across all instances: resolves
   * `false` when the user already has `max` connections. Without it the hub counts per instance.
   */
  reserveConnection?(userId: string, sessionId: string, max: number): Promise<boolean> | boolean;
  /** Gives back a slot taken by {@link Broker.reserveConnection}. */
  releaseConnection?(userId: string, sessionId: string): Promise<void> | void;
  /**
   * How long (ms) a client refused for the connection limit should wait before retrying: the
   * longest the slots of a crashed instance keep counting. The hub sends it as `retryAfterMs` in the
   * `too_many_connections` error frame before closing with `4430`.
   * @default 5_000 when absent (a slot then frees only when one of the user's connections closes)
   */
  readonly connectionRetryAfterMs?: number;
  /** Frees everything. */
  close?(): Promise<void> | void;
}
