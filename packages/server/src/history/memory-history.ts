import { type StreamPosition, WardcastError } from '@wardcast/protocol';
import type { NotificationDraft, StoredNotification } from '../core/types.js';
import type { AppendOptions, AppendResult, HistoryStore, ReadResult } from './types.js';

/**
 * Options of {@link MemoryHistoryStore}.
 *
 * @category History and broker
 */
export interface MemoryHistoryOptions {
  /**
   * Notifications kept per topic; older ones are dropped (and their ids forgotten for dedupe).
   * @default 1000
   */
  readonly maxPerTopic?: number;
  /**
   * Age (ms) past which a notification is dropped from history.
   * @default 86_400_000 (24 h)
   */
  readonly maxAgeMs?: number;
  /**
   * Topics kept; past it, the topic published to least recently is forgotten whole (its epoch
   * changes, so resume points into it get `recovered: false`).
   * @default 100_000
   */
  readonly maxTopics?: number;
  /** Clock, for tests. @default Date.now */
  readonly now?: () => number;
}

/**
 * Defaults of {@link MemoryHistoryOptions}.
 *
 * @category History and broker
 */
export const DEFAULT_MEMORY_HISTORY = {
  maxPerTopic: 1000,
  maxAgeMs: 86_400_000,
  maxTopics: 100_000,
} as const;

/** Reserved places of one topic past which their ids are indexed in a map. */
const INDEX_RESERVED_AT = 16;

/** A place appended and not yet visible. */
class Reservation {
  readonly notification: StoredNotification;
  state: 'pending' | 'ready' | 'aborted' = 'pending';
  #settled = false;
  #waiting: Promise<void> | undefined;
  #resolve: (() => void) | undefined;

  constructor(notification: StoredNotification) {
    this.notification = notification;
  }

  /** Resolves when the reservation is settled (visible or abandoned); made only when someone waits. */
  get settled(): Promise<void> {
    if (this.#waiting === undefined) {
      this.#waiting = this.#settled
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            this.#resolve = resolve;
          });
    }
    return this.#waiting;
  }

  settle(): void {
    this.#settled = true;
    this.#resolve?.();
  }
}

/**
 * One topic's stream. Visible notifications sit in two parallel arrays from `head` on (the
 * notification, and when it became visible, for the age limit): no wrapper object per entry.
 */
class TopicStream {
  readonly topic: string;
  readonly epoch: string;
  /** Neighbours in the store's least-recently-used list. */
  older: TopicStream | undefined;
  newer: TopicStream | undefined;
  /** Last seq handed out (visible or reserved). */
  seq = 0;
  /** Last visible seq: everything up to it was committed or abandoned. */
  end = 0;
  /** Highest seq dropped by trimming: a resume point below it cannot be covered. */
  trimmed = 0;
  notes: StoredNotification[] = [];
  /** `Date.now()` when `notes[i]` became visible. */
  ats: number[] = [];
  head = 0;
  readonly ids = new Map<string, StoredNotification>();
  /**
   * Reserved places, seqs `end + 1` to `seq` in order (a seq is handed out past `end` only by a
   * reservation). Usually empty or one long: a publish commits before the next one appends.
   */
  readonly reserved: Reservation[] = [];
  /** Id -> not aborted reservation, built only while many are reserved at once (a scan is cheaper below). */
  #reservedIds: Map<string, Reservation> | undefined;

  constructor(topic: string, epoch: string) {
    this.topic = topic;
    this.epoch = epoch;
  }

  /** The reservation of `seq`, if it is still reserved. */
  reservation(seq: number): Reservation | undefined {
    return seq > this.end ? this.reserved[seq - this.end - 1] : undefined;
  }

  /** The reservation (not aborted) of notification `id`. */
  reservedId(id: string): Reservation | undefined {
    if (this.#reservedIds) return this.#reservedIds.get(id);
    for (const r of this.reserved) if (r.state !== 'aborted' && r.notification.id === id) return r;
    return undefined;
  }

  reserve(r: Reservation): void {
    const reserved = this.reserved;
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
    const r = this.reserved.pop();
    if (this.reserved.length === 0) this.#reservedIds = undefined;
    return r;
  }

  get size(): number {
    return this.notes.length - this.head;
  }

  dropOldest(): void {
    const oldest = this.notes[this.head];
    if (!oldest) return;
    this.ids.delete(oldest.id);
    this.trimmed = oldest.seq;
    this.notes[this.head] = undefined as unknown as StoredNotification;
    this.head++;
    if (this.head > 64 && this.head * 2 > this.notes.length) {
      this.notes = this.notes.slice(this.head);
      this.ats = this.ats.slice(this.head);
      this.head = 0;
    }
  }

  trim(maxPerTopic: number, oldestAllowed: number): void {
    while (this.size > maxPerTopic) this.dropOldest();
    while (this.size > 0 && (this.ats[this.head] as number) < oldestAllowed) this.dropOldest();
  }

  /** Moves `end` over every settled reservation that follows it, in seq order. */
  advance(now: number): void {
    const reserved = this.reserved;
    for (let r = reserved[0]; r && r.state !== 'pending'; r = reserved[0]) {
      this.end++;
      reserved.shift();
      this.unindex(r);
      if (reserved.length === 0) this.#reservedIds = undefined;
      if (r.state === 'ready') this.show(r.notification, now);
      r.settle();
    }
  }

  /** Makes the notification of seq `end + 1` visible; `end` must have been moved over it already, or is here. */
  show(n: StoredNotification, now: number): void {
    if (this.end < n.seq) this.end = n.seq;
    this.notes.push(n);
    this.ats.push(now);
    this.ids.set(n.id, n);
  }

  /** Index in `notes` of the first notification with a seq above `seq`. */
  indexAfter(seq: number): number {
    let lo = this.head;
    let hi = this.notes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.notes[mid] as StoredNotification).seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

let epochCounter = 0;
function newEpoch(): string {
  epochCounter = (epochCounter + 1) % 1_679_616;
  return `${Date.now().toString(36)}${epochCounter.toString(36).padStart(4, '0')}${Math.floor(Math.random() * 1_679_616).toString(36)}`;
}

/**
 * In-memory {@link HistoryStore}: one stream per topic, bounded by count, age and number of
 * topics. Two-phase: an append reserves the next seq and the notification becomes visible at
 * `commit`, in seq order (see {@link HistoryStore.commit}). Each process (and each restart) has its own epochs, so after a restart every resume
 * point gets `recovered: false`: exactly what a client needs to know to resync.
 *
 * Dedupe by id covers the notifications still in history.
 *
 * @example
 * ```ts
 * const hub = new NotificationHub({ authenticate, history: new MemoryHistoryStore({ maxPerTopic: 200 }) });
 * ```
 *
 * @category History and broker
 */
export class MemoryHistoryStore implements HistoryStore {
  readonly #topics = new Map<string, TopicStream>();
  /**
   * The streams from least to most recently published to, as a linked list: touching one on
   * every append costs a few pointer writes, where re-inserting it in the map rehashed.
   */
  #oldest: TopicStream | undefined;
  #newest: TopicStream | undefined;
  readonly #maxPerTopic: number;
  readonly #maxAgeMs: number;
  readonly #maxTopics: number;
  readonly #now: () => number;

  constructor(options: MemoryHistoryOptions = {}) {
    this.#maxPerTopic = options.maxPerTopic ?? DEFAULT_MEMORY_HISTORY.maxPerTopic;
    this.#maxAgeMs = options.maxAgeMs ?? DEFAULT_MEMORY_HISTORY.maxAgeMs;
    this.#maxTopics = options.maxTopics ?? DEFAULT_MEMORY_HISTORY.maxTopics;
    this.#now = options.now ?? Date.now;
    for (const [name, value] of [
      ['maxPerTopic', this.#maxPerTopic],
      ['maxAgeMs', this.#maxAgeMs],
      ['maxTopics', this.#maxTopics],
    ] as const) {
      if (!Number.isFinite(value) || value < 1) {
        throw new WardcastError('invalid_option', `MemoryHistoryStore: ${name} must be a positive number`);
      }
    }
  }

  /** Number of topics currently held. */
  get topicCount(): number {
    return this.#topics.size;
  }

  #stream(topic: string, touch: boolean): TopicStream {
    let stream = this.#topics.get(topic);
    if (stream) {
      if (touch && stream !== this.#newest) {
        this.#unlink(stream);
        this.#link(stream);
      }
      return stream;
    }
    stream = new TopicStream(topic, newEpoch());
    this.#topics.set(topic, stream);
    this.#link(stream);
    if (this.#topics.size > this.#maxTopics) {
      const forgotten = this.#oldest as TopicStream;
      this.#unlink(forgotten);
      this.#topics.delete(forgotten.topic);
      // Publishes in flight on it fail at commit; appends waiting for them go on.
      for (const r of forgotten.reserved) r.settle();
    }
    return stream;
  }

  /** Makes `stream` the most recently used. */
  #link(stream: TopicStream): void {
    stream.older = this.#newest;
    stream.newer = undefined;
    if (this.#newest) this.#newest.newer = stream;
    else this.#oldest = stream;
    this.#newest = stream;
  }

  #unlink(stream: TopicStream): void {
    const { older, newer } = stream;
    if (older) older.newer = newer;
    else this.#oldest = newer;
    if (newer) newer.older = older;
    else this.#newest = older;
    stream.older = undefined;
    stream.newer = undefined;
  }

  /**
   * Reserves the next seq of the topic for `draft`, or, with `commit: true` and no earlier seq
   * still reserved, makes it visible at once (no reservation: `commit` then has nothing to do).
   */
  append(draft: NotificationDraft, options?: AppendOptions): AppendResult | Promise<AppendResult> {
    const stream = this.#stream(draft.topic, true);
    const now = this.#now();
    stream.trim(this.#maxPerTopic, now - this.#maxAgeMs);
    const existing = stream.ids.get(draft.id);
    if (existing) return { notification: existing, duplicate: true };
    const reservation = stream.reserved.length === 0 ? undefined : stream.reservedId(draft.id);
    if (reservation) {
      // Committed and waiting for an earlier seq: a duplicate. Pending: wait for its publish to settle.
      if (reservation.state === 'ready') return { notification: reservation.notification, duplicate: true };
      return reservation.settled.then(() => this.append(draft, options));
    }
    stream.seq += 1;
    // Field by field, not `{ ...draft }`: objects built by spreading cost several times the memory.
    const notification: StoredNotification = {
      id: draft.id,
      // The stream's own copy of the name: the caller's string (often built per publish) is not kept.
      topic: stream.topic,
      kind: draft.kind,
      priority: draft.priority,
      createdAt: draft.createdAt,
      payload: draft.payload,
      epoch: stream.epoch,
      seq: stream.seq,
    };
    if (options?.commit === true && stream.reserved.length === 0) {
      stream.show(notification, now);
      stream.trim(this.#maxPerTopic, now - this.#maxAgeMs);
    } else stream.reserve(new Reservation(notification));
    return { notification, duplicate: false };
  }

  /**
   * Makes a reserved notification visible once every earlier seq of its topic is settled.
   * @throws {WardcastError} `store_unavailable` when the topic was forgotten since the append.
   */
  commit(notification: StoredNotification): void | Promise<void> {
    const stream = this.#topics.get(notification.topic);
    const r = stream?.epoch === notification.epoch ? stream.reservation(notification.seq) : undefined;
    // Committed at append (`commit: true`): nothing left to do.
    if (!r && stream?.epoch === notification.epoch && stream.ids.get(notification.id) === notification) return;
    if (!stream || !r || r.notification.id !== notification.id || r.state === 'aborted') {
      throw new WardcastError('store_unavailable', 'the reservation of this notification was lost');
    }
    r.state = 'ready';
    stream.advance(this.#now());
    stream.trim(this.#maxPerTopic, this.#now() - this.#maxAgeMs);
    return stream.end >= notification.seq ? undefined : r.settled;
  }

  /**
   * Gives up a reserved notification; when it is the last seq handed out, the seq is taken back so
   * no hole is left. `false` when it was already committed.
   */
  abort(notification: StoredNotification): boolean {
    const stream = this.#topics.get(notification.topic);
    if (!stream || stream.epoch !== notification.epoch) return true;
    const r = stream.reservation(notification.seq);
    if (!r || r.notification.id !== notification.id) return stream.ids.get(notification.id)?.seq !== notification.seq;
    if (r.state !== 'pending') return r.state === 'aborted';
    r.state = 'aborted';
    stream.unindex(r);
    // Nobody saw the last seq handed out: take it back (and any abandoned ones before it).
    while (stream.seq > stream.end && stream.reservation(stream.seq)?.state === 'aborted') {
      const last = stream.unreserveLast() as Reservation;
      stream.seq--;
      last.settle();
    }
    stream.advance(this.#now());
    return true;
  }

  read(topic: string, since: StreamPosition): ReadResult {
    const stream = this.#stream(topic, false);
    stream.trim(this.#maxPerTopic, this.#now() - this.#maxAgeMs);
    const position = { epoch: stream.epoch, seq: stream.end };
    if (since.epoch !== stream.epoch || since.seq > stream.end || since.seq < stream.trimmed) {
      return { recovered: false, notifications: [], position };
    }
    if (since.seq === stream.end) return { recovered: true, notifications: [], position };
    const notifications: StoredNotification[] = [];
    for (let i = stream.indexAfter(since.seq); i < stream.notes.length; i++) {
      notifications.push(stream.notes[i] as StoredNotification);
    }
    // An abandoned seq leaves a hole: the client sees the jump and reports a gap.
    const recovered = notifications.length === stream.end - since.seq;
    return recovered ? { recovered, notifications, position } : { recovered, notifications: [], position };
  }

  position(topic: string): StreamPosition {
    const stream = this.#stream(topic, false);
    return { epoch: stream.epoch, seq: stream.end };
  }

  close(): void {
    this.#topics.clear();
    this.#oldest = undefined;
    this.#newest = undefined;
  }
}
