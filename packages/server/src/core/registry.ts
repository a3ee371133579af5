import type { PhiLevel } from '@wardcast/protocol';
import type { StoredNotification } from './types.js';

/**
 * Subscribers of one topic: live ones get frames at once (one set per PHI level, so a fan-out
 * encodes each level once), syncing ones buffer until their replay is done.
 */
export interface TopicSubscribers<C> {
  /** Live subscribers at the `full` level. */
  readonly live: Set<C>;
  /** Live subscribers at the `id-only` and `empty` levels. */
  readonly reduced: { readonly 'id-only': Set<C>; readonly empty: Set<C> };
  readonly syncing: Map<C, StoredNotification[]>;
  /** Subscribers (of any of the above) that asked for `presence` frames on this topic. */
  readonly watchers: Set<C>;
  /**
   * How many subscribers are not in {@link live} (reduced levels and syncing): when `0`, the
   * common case, a fan-out touches `live` only. Kept by the registry at every change.
   */
  others: number;
}

function liveSet<C>(subs: TopicSubscribers<C>, level: PhiLevel): Set<C> {
  return level === 'full' ? subs.live : subs.reduced[level];
}

function remove<C>(subs: TopicSubscribers<C>, conn: C): void {
  subs.live.delete(conn);
  subs.reduced['id-only'].delete(conn);
  subs.reduced.empty.delete(conn);
  subs.syncing.delete(conn);
  subs.watchers.delete(conn);
}

function isEmpty<C>(subs: TopicSubscribers<C>): boolean {
  return subs.live.size + subs.others === 0;
}

/** Recounts {@link TopicSubscribers.others} after a change. */
function recount<C>(subs: TopicSubscribers<C>): void {
  subs.others = subs.reduced['id-only'].size + subs.reduced.empty.size + subs.syncing.size;
}

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
      subs = {
        live: new Set(),
        reduced: { 'id-only': new Set(), empty: new Set() },
        syncing: new Map(),
        watchers: new Set(),
        others: 0,
      };
      this.#topics.set(topic, subs);
    }
    remove(subs, conn);
    subs.syncing.set(conn, []);
    recount(subs);
    return fresh;
  }

  /** Moves `conn` from syncing to live at `level` and returns what was buffered meanwhile. */
  goLive(topic: string, conn: C, level: PhiLevel): StoredNotification[] {
    const subs = this.#topics.get(topic);
    if (!subs) return [];
    const buffered = subs.syncing.get(conn);
    if (buffered === undefined) return [];
    subs.syncing.delete(conn);
    liveSet(subs, level).add(conn);
    recount(subs);
    return buffered;
  }

  /**
   * Moves live subscriber `conn` of `topic` to the set of `level` (a re-authorization lowered
   * it), keeping its presence watch. Returns `false` (and changes nothing) when it is not live.
   */
  setLevel(topic: string, conn: C, level: PhiLevel): boolean {
    const subs = this.#topics.get(topic);
    if (!subs || subs.syncing.has(conn)) return false;
    const from = [subs.live, subs.reduced['id-only'], subs.reduced.empty].find((set) => set.has(conn));
    if (!from) return false;
    from.delete(conn);
    liveSet(subs, level).add(conn);
    recount(subs);
    return true;
  }

  /** Removes `conn` from `topic`. Returns `true` when the topic has no subscriber left. */
  unsubscribe(topic: string, conn: C): boolean {
    const subs = this.#topics.get(topic);
    if (!subs) return false;
    remove(subs, conn);
    recount(subs);
    if (isEmpty(subs)) {
      this.#topics.delete(topic);
      return true;
    }
    return false;
  }

  /** Whether `conn` is subscribed to `topic` (live or syncing). */
  has(topic: string, conn: C): boolean {
    const subs = this.#topics.get(topic);
    if (!subs) return false;
    return (
      subs.live.has(conn) || subs.syncing.has(conn) || subs.reduced['id-only'].has(conn) || subs.reduced.empty.has(conn)
    );
  }

  /** Every subscriber of `topic` (live or syncing). */
  *connections(topic: string): IterableIterator<C> {
    const subs = this.#topics.get(topic);
    if (!subs) return;
    yield* subs.live;
    yield* subs.reduced['id-only'];
    yield* subs.reduced.empty;
    yield* subs.syncing.keys();
  }

  /**
   * Marks subscriber `conn` as wanting `presence` frames on `topic` until it unsubscribes or
   * subscribes again. Returns `false` (and marks nothing) when it is not a subscriber.
   */
  watchPresence(topic: string, conn: C): boolean {
    const subs = this.#topics.get(topic);
    if (!subs || !this.has(topic, conn)) return false;
    subs.watchers.add(conn);
    return true;
  }

  /** Subscriber counts of every topic, for stats. */
  *topicSizes(): IterableIterator<[string, number]> {
    for (const [topic, subs] of this.#topics) {
      yield [topic, subs.live.size + subs.others];
    }
  }
}
