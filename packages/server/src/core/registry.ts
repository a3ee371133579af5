import type { PhiLevel } from '@wardcast/protocol';
import { NOTHING_BUFFERED, TopicSubscribers } from './topic-subscribers.js';
import type { StoredNotification } from './types.js';

/**
 * The hub's maps: user id -> connections, topic -> subscribers. Knows nothing about sockets;
 * every add has a matching remove, and empty entries are deleted, so nothing leaks.
 */
export class Registry<C> {
  /** A user's connection, or a set of them when there are several (most users have one). */
  readonly #users = new Map<string, C | Set<C>>();
  readonly #topics = new Map<string, TopicSubscribers<C>>();

  /** Number of users with at least one authenticated connection. */
  get userCount(): number {
    return this.#users.size;
  }

  /** Number of topics with at least one subscriber on this instance. */
  get topicCount(): number {
    return this.#topics.size;
  }

  /** The authenticated connections of `userId` on this instance (`undefined` when none). */
  connectionsOf(userId: string): Iterable<C> | undefined {
    const entry = this.#users.get(userId);
    if (entry === undefined || entry instanceof Set) return entry as Set<C> | undefined;
    return [entry];
  }

  /**
   * Whether any connection of `userId` is subscribed to `topic` (live or syncing): presence, read
   * without allocating (one topic lookup, then the user's one connection or each of several).
   */
  hasUserOn(topic: string, userId: string): boolean {
    const entry = this.#users.get(userId);
    if (entry === undefined) return false;
    const subs = this.#topics.get(topic);
    if (subs === undefined) return false;
    if (!(entry instanceof Set)) return subs.has(entry);
    for (const conn of entry) if (subs.has(conn)) return true;
    return false;
  }

  /** How many authenticated connections `userId` has on this instance. */
  connectionCount(userId: string): number {
    const entry = this.#users.get(userId);
    if (entry === undefined) return 0;
    return entry instanceof Set ? entry.size : 1;
  }

  addUser(userId: string, conn: C): void {
    const entry = this.#users.get(userId);
    if (entry === undefined) this.#users.set(userId, conn);
    else if (entry instanceof Set) entry.add(conn);
    else if (entry !== conn) this.#users.set(userId, new Set([entry, conn]));
  }

  removeUser(userId: string, conn: C): void {
    const entry = this.#users.get(userId);
    if (entry === undefined) return;
    if (!(entry instanceof Set)) {
      if (entry === conn) this.#users.delete(userId);
      return;
    }
    entry.delete(conn);
    if (entry.size === 1) this.#users.set(userId, entry.values().next().value as C);
    else if (entry.size === 0) this.#users.delete(userId);
  }

  subscribers(topic: string): TopicSubscribers<C> | undefined {
    return this.#topics.get(topic);
  }

  /** Adds `conn` to `topic` in syncing mode. Returns `true` when the topic had no subscriber before. */
  beginSync(topic: string, conn: C): boolean {
    let subs = this.#topics.get(topic);
    const fresh = subs === undefined;
    if (!subs) {
      subs = new TopicSubscribers<C>();
      this.#topics.set(topic, subs);
    }
    // A subscribe again starts over: out of the live groups and the presence watch.
    subs.remove(conn);
    subs.startSync(conn);
    return fresh;
  }

  /** Moves `conn` from syncing to live at `level` and returns what was buffered meanwhile. */
  goLive(topic: string, conn: C, level: PhiLevel): readonly StoredNotification[] {
    const subs = this.#topics.get(topic);
    const buffered = subs?.endSync(conn);
    if (subs === undefined || buffered === undefined) return NOTHING_BUFFERED;
    subs.addLive(conn, level);
    return buffered;
  }

  /**
   * Moves live subscriber `conn` of `topic` to the group of `level` (a re-authorization lowered
   * it), keeping its presence watch. Returns `false` (and changes nothing) when it is not live.
   */
  setLevel(topic: string, conn: C, level: PhiLevel): boolean {
    const subs = this.#topics.get(topic);
    if (!subs || subs.levelOf(conn) === undefined) return false;
    subs.removeLive(conn);
    subs.addLive(conn, level);
    return true;
  }

  /** Removes `conn` from `topic`. Returns `true` when the topic has no subscriber left. */
  unsubscribe(topic: string, conn: C): boolean {
    const subs = this.#topics.get(topic);
    if (!subs) return false;
    subs.remove(conn);
    if (subs.size === 0) {
      this.#topics.delete(topic);
      return true;
    }
    return false;
  }

  /** Whether `conn` is subscribed to `topic` (live or syncing). */
  has(topic: string, conn: C): boolean {
    return this.#topics.get(topic)?.has(conn) === true;
  }

  /** Every subscriber of `topic` (live or syncing). */
  *connections(topic: string): IterableIterator<C> {
    const subs = this.#topics.get(topic);
    if (subs) yield* subs.members();
  }

  /**
   * Marks subscriber `conn` as wanting `presence` frames on `topic` until it unsubscribes or
   * subscribes again. Returns `false` (and marks nothing) when it is not a subscriber.
   */
  watchPresence(topic: string, conn: C): boolean {
    const subs = this.#topics.get(topic);
    if (!subs?.has(conn)) return false;
    subs.watch(conn);
    return true;
  }

  /** Subscriber counts of every topic, for stats. */
  *topicSizes(): IterableIterator<[string, number]> {
    for (const [topic, subs] of this.#topics) {
      yield [topic, subs.size];
    }
  }
}
