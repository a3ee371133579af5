import type { PhiLevel } from '@wardcast/protocol';
import type { StoredNotification } from './types.js';

/** What a subscriber that nothing was published to while it synced gets back (or one that was not syncing): none, shared. */
export const NOTHING_BUFFERED: readonly StoredNotification[] = Object.freeze([]);

/**
 * Subscribers of one topic on this instance: live ones get frames at once (one group per PHI
 * level, so a fan-out encodes each level once), syncing ones buffer until their replay is done.
 *
 * Lean for the usual topic, a user's own `user:<id>` with one connection: that live subscriber is
 * held in a field ({@link TopicSubscribers.solo}), and each set below is made only when it gets a
 * first member and dropped when it is empty again. Such a topic costs one small object, and a
 * publish to it touches that object and the session, no set. A lone syncing subscriber (a
 * connect's subscribe, which usually runs through in one turn) is held in a field too
 * ({@link TopicSubscribers.syncOne}), with a buffer made only when something is published while
 * it syncs. Changed by the {@link Registry} only.
 */
export class TopicSubscribers<C> {
  /** The live full-level subscriber while it is the only one and {@link many} is not in use. */
  solo: C | undefined = undefined;
  /** The live full-level subscribers once a second one came (kept until it is empty again). */
  many: Set<C> | undefined = undefined;
  /**
   * How many subscribers are not live at the full level (reduced levels and syncing): when `0`,
   * the common case, a fan-out looks at {@link solo} and {@link many} only. Next to them, as a
   * fan-out reads these three.
   */
  others = 0;
  /** Live subscribers at the `id-only` level. */
  idOnly: Set<C> | undefined = undefined;
  /** Live subscribers at the `empty` level. */
  empty: Set<C> | undefined = undefined;
  /** The syncing subscriber while it is the only one and {@link syncing} is not in use. */
  syncOne: C | undefined = undefined;
  /** What was published while {@link syncOne} syncs; made on the first such notification. */
  syncOneBuffer: StoredNotification[] | undefined = undefined;
  /** Subscribers still replaying, with what was published meanwhile, once a second one came (kept until it is empty again). */
  syncing: Map<C, StoredNotification[]> | undefined = undefined;
  /** Subscribers (of any of the above) that asked for `presence` frames on this topic. */
  watchers: Set<C> | undefined = undefined;

  /** Live subscribers at the full level. */
  get liveCount(): number {
    return this.solo !== undefined ? 1 : (this.many?.size ?? 0);
  }

  /** Subscribers still replaying. */
  get syncingCount(): number {
    return this.syncOne !== undefined ? 1 : (this.syncing?.size ?? 0);
  }

  /** Every subscriber, live or syncing. */
  get size(): number {
    return this.liveCount + this.others;
  }

  /** Live subscribers at `level`. */
  count(level: PhiLevel): number {
    if (level === 'full') return this.liveCount;
    return (level === 'id-only' ? this.idOnly : this.empty)?.size ?? 0;
  }

  /** Whether `conn` is live at the full level. */
  isLive(conn: C): boolean {
    return this.solo === conn || this.many?.has(conn) === true;
  }

  /** The PHI level `conn` is live at, or `undefined` when it is not live (syncing or absent). */
  levelOf(conn: C): PhiLevel | undefined {
    if (this.isLive(conn)) return 'full';
    if (this.idOnly?.has(conn)) return 'id-only';
    if (this.empty?.has(conn)) return 'empty';
    return undefined;
  }

  /** Whether `conn` is a subscriber (live at any level, or syncing). */
  has(conn: C): boolean {
    return this.levelOf(conn) !== undefined || this.syncOne === conn || this.syncing?.has(conn) === true;
  }

  /** Makes `conn` live at `level` (it must not be live at another). */
  addLive(conn: C, level: PhiLevel): void {
    if (level === 'full') {
      if (this.many !== undefined) this.many.add(conn);
      else if (this.solo === undefined || this.solo === conn) this.solo = conn;
      else {
        this.many = new Set([this.solo, conn]);
        this.solo = undefined;
      }
    } else if (level === 'id-only') {
      this.idOnly ??= new Set();
      this.idOnly.add(conn);
    } else {
      this.empty ??= new Set();
      this.empty.add(conn);
    }
    this.#recount();
  }

  /** Stops `conn` being live (at any level); keeps it syncing or watching. */
  removeLive(conn: C): void {
    if (this.solo === conn) this.solo = undefined;
    else if (this.many?.delete(conn) && this.many.size === 0) this.many = undefined;
    if (this.idOnly?.delete(conn) && this.idOnly.size === 0) this.idOnly = undefined;
    if (this.empty?.delete(conn) && this.empty.size === 0) this.empty = undefined;
    this.#recount();
  }

  /** Puts `conn` in syncing mode with an empty buffer (out of the live groups). */
  startSync(conn: C): void {
    this.removeLive(conn);
    const one = this.syncOne;
    if (this.syncing !== undefined) this.syncing.set(conn, []);
    else if (one === undefined || one === conn) {
      this.syncOne = conn;
      this.syncOneBuffer = undefined;
    } else {
      this.syncing = new Map([
        [one, this.syncOneBuffer ?? []],
        [conn, []],
      ]);
      this.syncOne = undefined;
      this.syncOneBuffer = undefined;
    }
    this.#recount();
  }

  /** Buffers `n` for every syncing subscriber. */
  buffer(n: StoredNotification): void {
    if (this.syncOne !== undefined) {
      this.syncOneBuffer ??= [];
      this.syncOneBuffer.push(n);
    } else if (this.syncing !== undefined) for (const buffer of this.syncing.values()) buffer.push(n);
  }

  /** Takes `conn` out of syncing mode; returns its buffer, or `undefined` when it was not syncing. */
  endSync(conn: C): readonly StoredNotification[] | undefined {
    if (this.syncOne === conn) {
      const buffered = this.syncOneBuffer ?? NOTHING_BUFFERED;
      this.#dropSync(conn);
      this.#recount();
      return buffered;
    }
    const buffered = this.syncing?.get(conn);
    if (buffered === undefined) return undefined;
    this.#dropSync(conn);
    this.#recount();
    return buffered;
  }

  /** Removes `conn` from everything, presence watch included. */
  remove(conn: C): void {
    this.removeLive(conn);
    this.#dropSync(conn);
    if (this.watchers?.delete(conn) && this.watchers.size === 0) this.watchers = undefined;
    this.#recount();
  }

  /** Marks subscriber `conn` as a presence watcher. */
  watch(conn: C): void {
    this.watchers ??= new Set();
    this.watchers.add(conn);
  }

  /** Every subscriber: live at the full level, then `id-only`, `empty`, and syncing ones. */
  *members(): IterableIterator<C> {
    if (this.solo !== undefined) yield this.solo;
    if (this.many) yield* this.many;
    if (this.idOnly) yield* this.idOnly;
    if (this.empty) yield* this.empty;
    if (this.syncOne !== undefined) yield this.syncOne;
    if (this.syncing) yield* this.syncing.keys();
  }

  #dropSync(conn: C): void {
    if (this.syncOne === conn) {
      this.syncOne = undefined;
      this.syncOneBuffer = undefined;
    } else if (this.syncing?.delete(conn) && this.syncing.size === 0) this.syncing = undefined;
  }

  #recount(): void {
    this.others = (this.idOnly?.size ?? 0) + (this.empty?.size ?? 0) + this.syncingCount;
  }
}
