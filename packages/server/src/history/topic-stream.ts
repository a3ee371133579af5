import type { StoredNotification } from '../core/types.js';
import type { Reservation } from './reservation.js';

/** Reserved places of one topic past which their ids are indexed in a map. */
const INDEX_RESERVED_AT = 16;
/**
 * Offsets (ms) from a stream's time base past which it re-bases them: they stay small integers
 * (stored unboxed on every V8 build), about twelve days either way.
 */
const REBASE_AT = 2 ** 30;

/**
 * One topic's stream in a `MemoryHistoryStore`. Kept small, since a store holds one per topic
 * (one per user with `user:<id>` topics) and an append touches all of it: the visible
 * notifications and when each became visible share one array (no wrapper object per entry, no
 * second array), and the list of reserved places exists only while there are some.
 */
export class TopicStream {
  readonly topic: string;
  readonly epoch: string;
  /** The store's use counter when this stream was last appended to, for least-recently-used eviction. */
  used: number;
  /** Last seq handed out (visible or reserved). */
  seq = 0;
  /** Last visible seq: everything up to it was committed or abandoned. */
  end = 0;
  /** Highest seq dropped by trimming: a resume point below it cannot be covered. */
  trimmed = 0;
  /**
   * Ids of the visible notifications, for dedupe: a set, not a map to the notification (found by a
   * scan on the rare duplicate), so an append records one new reference in it instead of two.
   */
  readonly #ids = new Set<string>();
  /**
   * Visible notifications from index `2 * #head` on, each followed by the time it became visible
   * (ms after `#base`, a small integer).
   */
  #entries: (StoredNotification | number)[] = [];
  /** Entries dropped from the front of `#entries` and not yet cut off. */
  #head = 0;
  #base: number;
  /**
   * When the oldest visible notification became visible (as stored), while there is one: the age
   * check of every append reads it here instead of at the far end of the array.
   */
  #headAt = 0;
  /**
   * Reserved places, seqs `end + 1` to `seq` in order (a seq is handed out past `end` only by a
   * reservation); `undefined` when there are none, the usual case: a publish commits before the
   * next one appends.
   */
  #reserved: Reservation[] | undefined;
  /** Id -> not aborted reservation, built only while many are reserved at once (a scan is cheaper below). */
  #reservedIds: Map<string, Reservation> | undefined;

  constructor(topic: string, epoch: string, now: number, used: number) {
    this.topic = topic;
    this.epoch = epoch;
    this.#base = now;
    this.used = used;
  }

  /** Number of visible notifications held. */
  get size(): number {
    return (this.#entries.length >> 1) - this.#head;
  }

  /** Whether any place is reserved. */
  get hasReserved(): boolean {
    return this.#reserved !== undefined;
  }

  /** The reservation of `seq`, if it is still reserved. */
  reservation(seq: number): Reservation | undefined {
    return seq > this.end ? this.#reserved?.[seq - this.end - 1] : undefined;
  }

  /** The reservation (not aborted) of notification `id`. */
  reservedId(id: string): Reservation | undefined {
    if (this.#reservedIds) return this.#reservedIds.get(id);
    for (const r of this.#reserved ?? []) if (r.state !== 'aborted' && r.notification.id === id) return r;
    return undefined;
  }

  reserve(r: Reservation): void {
    this.#reserved ??= [];
    const reserved = this.#reserved;
    reserved.push(r);
    if (this.#reservedIds) this.#reservedIds.set(r.notification.id, r);
    else if (reserved.length > INDEX_RESERVED_AT) {
      this.#reservedIds = new Map();
      for (const x of reserved) if (x.state !== 'aborted') this.#reservedIds.set(x.notification.id, x);
    }
  }

  /** `r`'s id is free again (aborted, or no longer reserved). */
  unindex(r: Reservation): void {
    const index = this.#reservedIds;
    if (index?.get(r.notification.id) === r) index.delete(r.notification.id);
  }

  /** Removes the last reservation (an aborted seq taken back). */
  unreserveLast(): Reservation | undefined {
    const r = this.#reserved?.pop();
    if (this.#reserved?.length === 0) this.#clearReserved();
    return r;
  }

  /** Settles every reservation (the stream is being forgotten: their commits fail, waiting appends go on). */
  settleAll(): void {
    for (const r of this.#reserved ?? []) r.settle();
  }

  /** Drops notifications past `maxPerTopic`, then those visible before `oldestAllowed`. */
  trim(maxPerTopic: number, oldestAllowed: number): void {
    while (this.size > maxPerTopic) this.#dropOldest();
    const threshold = oldestAllowed - this.#base;
    while (this.size > 0 && this.#headAt < threshold) this.#dropOldest();
  }

  /** Moves `end` over every settled reservation that follows it, in seq order. */
  advance(now: number): void {
    const reserved = this.#reserved;
    if (reserved === undefined) return;
    for (let r = reserved[0]; r && r.state !== 'pending'; r = reserved[0]) {
      this.end++;
      reserved.shift();
      this.unindex(r);
      if (r.state === 'ready') this.show(r.notification, now);
      r.settle();
    }
    if (reserved.length === 0) this.#clearReserved();
  }

  /** Makes the notification of seq `end + 1` visible; `end` must have been moved over it already, or is here. */
  show(n: StoredNotification, now: number): void {
    if (this.end < n.seq) this.end = n.seq;
    let at = now - this.#base;
    if (at >= REBASE_AT || at <= -REBASE_AT) {
      this.#rebase(now);
      at = 0;
    }
    if (this.size === 0) this.#headAt = at;
    this.#entries.push(n, at);
    this.#ids.add(n.id);
  }

  /** The visible notification with id `id`, if any. */
  visibleId(id: string): StoredNotification | undefined {
    if (!this.#ids.has(id)) return undefined;
    const entries = this.#entries;
    for (let i = entries.length - 2; i >= 2 * this.#head; i -= 2) {
      const n = entries[i] as StoredNotification;
      if (n.id === id) return n;
    }
    return undefined;
  }

  /** Whether `n` itself is visible (committed) in this stream. */
  isVisible(n: StoredNotification): boolean {
    const entries = this.#entries;
    // Usually the one just appended, committed at once.
    if (entries.length > 2 * this.#head && entries[entries.length - 2] === n) return true;
    if (n.seq > this.end || !this.#ids.has(n.id)) return false;
    const i = this.#indexAfter(n.seq - 1);
    return 2 * i < entries.length && entries[2 * i] === n;
  }

  /** The visible notifications with a seq above `seq`, in order. */
  after(seq: number): StoredNotification[] {
    const entries = this.#entries;
    const out: StoredNotification[] = [];
    for (let i = 2 * this.#indexAfter(seq); i < entries.length; i += 2) out.push(entries[i] as StoredNotification);
    return out;
  }

  /** Index (in entries) of the first notification with a seq above `seq`. */
  #indexAfter(seq: number): number {
    let lo = this.#head;
    let hi = this.#entries.length >> 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#entries[2 * mid] as StoredNotification).seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #dropOldest(): void {
    const at = 2 * this.#head;
    const oldest = this.#entries[at] as StoredNotification | undefined;
    if (!oldest) return;
    this.#ids.delete(oldest.id);
    this.trimmed = oldest.seq;
    this.#entries[at] = 0;
    this.#head++;
    if (this.size > 0) this.#headAt = this.#entries[at + 3] as number;
    if (this.#head > 64 && this.#head * 4 > this.#entries.length) {
      this.#entries = this.#entries.slice(2 * this.#head);
      this.#head = 0;
    }
  }

  /** Makes `now` the time base, shifting the stored times (numbers either way; small ones again in practice). */
  #rebase(now: number): void {
    const shift = this.#base - now;
    const entries = this.#entries;
    for (let i = 2 * this.#head + 1; i < entries.length; i += 2) entries[i] = (entries[i] as number) + shift;
    this.#headAt += shift;
    this.#base = now;
  }

  #clearReserved(): void {
    this.#reserved = undefined;
    this.#reservedIds = undefined;
  }
}
