import { ErrorCode, isWardcastError, WardcastError } from '@wardcast/protocol';
import type { Broker, ControlMessage, PresenceMember } from '../broker/types.js';
import type { Logger } from './logger.js';

const pairKey = (topic: string, userId: string): string => `${topic}\n${userId}`;

/** A change of a user's presence on a topic. */
export interface PresenceFlip {
  readonly topic: string;
  readonly userId: string;
  readonly present: boolean;
}

/**
 * Who is subscribed to what on the other hub instances, as their control messages said: for each
 * `(topic, user)` the set of instances that have it, so one instance leaving does not hide another.
 */
export class RemotePresence {
  readonly #topics = new Map<string, Map<string, Set<string>>>();
  readonly #origins = new Map<string, Set<string>>();

  /** Whether `userId` is subscribed to `topic` on another instance. */
  has(topic: string, userId: string): boolean {
    return this.#topics.get(topic)?.has(userId) === true;
  }

  /** Users subscribed to `topic` on other instances. */
  members(topic: string): Iterable<string> {
    return this.#topics.get(topic)?.keys() ?? [];
  }

  /** Records one instance's change. Returns `true` when the user's remote presence on the topic flipped. */
  set(origin: string, topic: string, userId: string, present: boolean): boolean {
    const before = this.has(topic, userId);
    const users = this.#topics.get(topic);
    const keys = this.#origins.get(origin);
    if (present) {
      const byUser = users ?? new Map<string, Set<string>>();
      if (!users) this.#topics.set(topic, byUser);
      const origins = byUser.get(userId) ?? new Set<string>();
      origins.add(origin);
      byUser.set(userId, origins);
      const pairs = keys ?? new Set<string>();
      pairs.add(pairKey(topic, userId));
      if (!keys) this.#origins.set(origin, pairs);
    } else {
      const origins = users?.get(userId);
      origins?.delete(origin);
      if (origins?.size === 0) users?.delete(userId);
      if (users?.size === 0) this.#topics.delete(topic);
      keys?.delete(pairKey(topic, userId));
      if (keys?.size === 0) this.#origins.delete(origin);
    }
    return before !== this.has(topic, userId);
  }

  /** Replaces everything known about one instance. Returns the pairs whose remote presence flipped. */
  replace(origin: string, members: readonly PresenceMember[]): PresenceFlip[] {
    const wanted = new Set(members.map((m) => pairKey(m.topic, m.userId)));
    const flips: PresenceFlip[] = [];
    for (const key of [...(this.#origins.get(origin) ?? [])]) {
      if (wanted.has(key)) continue;
      const [topic, userId] = splitKey(key);
      if (this.set(origin, topic, userId, false)) flips.push({ topic, userId, present: false });
    }
    for (const { topic, userId } of members) {
      if (this.set(origin, topic, userId, true)) flips.push({ topic, userId, present: true });
    }
    return flips;
  }
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('\n');
  return [key.slice(0, i), key.slice(i + 1)];
}

/**
 * The `retryAfterMs` hint sent with a refusal for the connection limit when the broker gives none
 * ({@link Broker.connectionRetryAfterMs}).
 */
export const DEFAULT_CONNECTION_RETRY_AFTER_MS = 5_000;

/** What the hub does with control messages from other instances. */
export interface ClusterActions {
  disconnect(userId: string, reason: string): void;
  receipt(userId: string, id: string, action: 'read' | 'ack'): void;
  /** Another instance received an ack of `id` by `userId` for an escalation it does not track. */
  escalationAck(userId: string, id: string): void;
  /** A user's presence on a topic flipped on the other instances (the hub checks its own). */
  presence(flip: PresenceFlip): void;
}

/**
 * The hub's side of cross-instance coordination over the broker's optional control channel and
 * connection slots. With a broker that has neither (the memory broker) every method is a local no-op,
 * so a single instance behaves exactly as before.
 */
export class Cluster {
  readonly remote = new RemotePresence();
  readonly #broker: Broker;
  readonly #logger: Logger;
  readonly #onError: (error: WardcastError) => void;

  constructor(broker: Broker, logger: Logger, onError: (error: WardcastError) => void) {
    this.#broker = broker;
    this.#logger = logger;
    this.#onError = onError;
  }

  /** Starts handling other instances' control messages. */
  start(actions: ClusterActions): void {
    this.#broker.control?.subscribe((message, origin) => {
      try {
        this.#handle(message, origin, actions);
      } catch (cause) {
        this.#logger.error({ err: cause, type: message?.type }, 'wardcast: control message failed');
      }
    });
  }

  /** Sends `message` to the other instances. Resolves at once without a control channel. */
  async send(message: ControlMessage): Promise<void> {
    const control = this.#broker.control;
    if (!control) return;
    try {
      await control.publish(message);
    } catch (cause) {
      if (isWardcastError(cause)) throw cause;
      throw new WardcastError(ErrorCode.StoreUnavailable, `broker control ${message.type} failed`, { cause });
    }
  }

  /** {@link Cluster.send} in the background: a failure is logged and emitted as an `error` event. */
  post(message: ControlMessage): void {
    if (!this.#broker.control) return;
    this.send(message).catch((error: WardcastError) => {
      this.#logger.warn({ err: error, type: message.type }, 'wardcast: broker control publish failed');
      this.#onError(error);
    });
  }

  /**
   * Takes a connection slot across instances. `true` (synchronously) when the broker does not count
   * connections; a failing broker also admits the connection (the per-instance limit still applies).
   */
  reserve(userId: string, sessionId: string, max: number): boolean | Promise<boolean> {
    const broker = this.#broker;
    if (!broker.reserveConnection) return true;
    return Promise.resolve()
      .then(() => broker.reserveConnection?.(userId, sessionId, max) ?? true)
      .catch((cause: unknown) => {
        this.#logger.warn({ err: cause }, 'wardcast: broker reserveConnection failed; admitting');
        return true;
      });
  }

  /**
   * The `retryAfterMs` hint for a connection refused for the limit: the broker's
   * {@link Broker.connectionRetryAfterMs} when it is a non-negative number, else
   * {@link DEFAULT_CONNECTION_RETRY_AFTER_MS}.
   */
  get connectionRetryAfterMs(): number {
    const hint = this.#broker.connectionRetryAfterMs;
    return typeof hint === 'number' && Number.isFinite(hint) && hint >= 0
      ? Math.ceil(hint)
      : DEFAULT_CONNECTION_RETRY_AFTER_MS;
  }

  /** Gives a slot back, in the background. */
  release(userId: string, sessionId: string): void {
    const broker = this.#broker;
    if (!broker.releaseConnection) return;
    Promise.resolve()
      .then(() => broker.releaseConnection?.(userId, sessionId))
      .catch((cause: unknown) => this.#logger.warn({ err: cause }, 'wardcast: broker releaseConnection failed'));
  }

  #handle(message: ControlMessage, origin: string, actions: ClusterActions): void {
    switch (message.type) {
      case 'disconnect':
        actions.disconnect(message.userId, message.reason);
        return;
      case 'receipt':
        actions.receipt(message.userId, message.id, message.action);
        return;
      case 'escalation_ack':
        actions.escalationAck(message.userId, message.id);
        return;
      case 'presence':
        if (this.remote.set(origin, message.topic, message.userId, message.present)) {
          actions.presence({ topic: message.topic, userId: message.userId, present: message.present });
        }
        return;
      case 'presence_snapshot':
        for (const flip of this.remote.replace(origin, message.members)) actions.presence(flip);
        return;
      default:
        return;
    }
  }
}
