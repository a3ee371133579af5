import type { StoredNotification } from './types.js';

/** Subscribers of one topic: live ones get frames at once, syncing ones buffer until replay is done. */
export interface TopicSubscribers<C> {
  readonly live: Set<C>;
  readonly syncing: Map<C, StoredNotification[]>;
}

/**
 * The hub's maps: user id -> connections, topic -> subscribers. Knows nothing about sockets;
 * every add has a matching remove, and empty entries are deleted, so nothing leaks.
 */
export class Registry<C> {
  readonly #users = new Map<string, Set<C>>();
  readonly #topics = new Map<string, TopicSubscribers<C>>();

  /** Number of users with at least one authenticated connection. */
  get userCount(): number {
    return this.#users.size;
  }

  /** Number of topics with at least one subscriber on this instance. */
  get topicCount(): number {
    return this.#topics.size;
  }

  connectionsOf(userId: string): ReadonlySet<C> | undefined {
    return this.#users.get(userId);
  }

  addUser(userId: string, conn: C): void {
    let set = this.#users.get(userId);
    if (!set) {
      set = new Set();
      this.#users.set(userId, set);
    }
    set.add(conn);
  }

  removeUser(userId: string, conn: C): void {
    const set = this.#users.get(userId);
    if (!set) return;
    set.delete(conn);
    if (set.size === 0) this.#users.delete(userId);
  }

  subscribers(topic: string): TopicSubscribers<C> | undefined {
    return this.#topics.get(topic);
  }

  /** Adds `conn` to `topic` in syncing mode. Returns `true` when the topic had no subscriber before. */
  beginSync(topic: string, conn: C): boolean {
    let subs = this.#topics.get(topic);
    const fresh = subs === undefined;
    if (!subs) {
      subs = { live: new Set(), syncing: new Map() };
      this.#topics.set(topic, subs);
    }
    subs.live.delete(conn);
    subs.syncing.set(conn, []);
    return fresh;
  }

  /** Moves `conn` from syncing to live and returns what was buffered meanwhile. */
  goLive(topic: string, conn: C): StoredNotification[] {
    const subs = this.#topics.get(topic);
    if (!subs) return [];
    const buffered = subs.syncing.get(conn);
    if (buffered === undefined) return [];
    subs.syncing.delete(conn);
    subs.live.add(conn);
    return buffered;
  }

  /** Removes `conn` from `topic`. Returns `true` when the topic has no subscriber left. */
  unsubscribe(topic: string, conn: C): boolean {
    const subs = this.#topics.get(topic);
    if (!subs) return false;
    subs.live.delete(conn);
    subs.syncing.delete(conn);
    if (subs.live.size === 0 && subs.syncing.size === 0) {
      this.#topics.delete(topic);
      return true;
    }
    return false;
  }

  /** Subscriber counts of every topic, for stats. */
  *topicSizes(): IterableIterator<[string, number]> {
    for (const [topic, subs] of this.#topics) yield [topic, subs.live.size + subs.syncing.size];
  }
}
