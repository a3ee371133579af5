import { type StreamPosition, WardcastError } from '@wardcast/protocol';
import type { NotificationDraft, StoredNotification } from '../core/types.js';
import type { AppendResult, HistoryStore, ReadResult } from './types.js';

/** Options of {@link MemoryHistoryStore}. */
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

/** Defaults of {@link MemoryHistoryOptions}. */
export const DEFAULT_MEMORY_HISTORY = {
  maxPerTopic: 1000,
  maxAgeMs: 86_400_000,
  maxTopics: 100_000,
} as const;

interface Entry {
  readonly notification: StoredNotification;
  readonly at: number;
}

/** A place appended and not yet visible. */
interface Reservation {
  readonly notification: StoredNotification;
  state: 'pending' | 'ready' | 'aborted';
  /** Resolves when the reservation is settled (visible or abandoned). */
  readonly settled: Promise<void>;
  readonly settle: () => void;
}

class TopicStream {
  readonly epoch: string;
  /** Last seq handed out (visible or reserved). */
  seq = 0;
  /** Last visible seq: everything up to it was committed or abandoned. */
  end = 0;
  /** Highest seq dropped by trimming: a resume point below it cannot be covered. */
  trimmed = 0;
  entries: Entry[] = [];
  head = 0;
  readonly ids = new Map<string, StoredNotification>();
  readonly reserved = new Map<number, Reservation>();
  readonly reservedIds = new Map<string, number>();

  constructor(epoch: string) {
    this.epoch = epoch;
  }

  get size(): number {
    return this.entries.length - this.head;
  }

  dropOldest(): void {
    const entry = this.entries[this.head];
    if (!entry) return;
    this.ids.delete(entry.notification.id);
    this.trimmed = entry.notification.seq;
    this.entries[this.head] = undefined as unknown as Entry;
    this.head++;
    if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  trim(maxPerTopic: number, oldestAllowed: number): void {
    while (this.size > maxPerTopic) this.dropOldest();
    while (this.size > 0 && (this.entries[this.head] as Entry).at < oldestAllowed) this.dropOldest();
  }

  /** Moves `end` over every settled reservation that follows it, in seq order. */
  advance(now: number): void {
    for (let r = this.reserved.get(this.end + 1); r && r.state !== 'pending'; r = this.reserved.get(this.end + 1)) {
      this.end++;
      this.reserved.delete(this.end);
      this.reservedIds.delete(r.notification.id);
      if (r.state === 'ready') {
        this.entries.push({ notification: r.notification, at: now });
        this.ids.set(r.notification.id, r.notification);
      }
      r.settle();
    }
  }

  /** Index in `entries` of the first entry with a seq above `seq`. */
  indexAfter(seq: number): number {
    let lo = this.head;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.entries[mid] as Entry).notification.seq <= seq) lo = mid + 1;
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
 */
export class MemoryHistoryStore implements HistoryStore {
  readonly #topics = new Map<string, TopicStream>();
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
      if (touch) {
        // Map keeps insertion order: re-inserting makes this topic the most recently used.
        this.#topics.delete(topic);
        this.#topics.set(topic, stream);
      }
      return stream;
    }
    stream = new TopicStream(newEpoch());
    this.#topics.set(topic, stream);
    if (this.#topics.size > this.#maxTopics) {
      const oldest = this.#topics.keys().next().value as string;
      const forgotten = this.#topics.get(oldest);
      this.#topics.delete(oldest);
      // Publishes in flight on it fail at commit; appends waiting for them go on.
      for (const r of forgotten?.reserved.values() ?? []) r.settle();
    }
    return stream;
  }

  append(draft: NotificationDraft): AppendResult | Promise<AppendResult> {
    const stream = this.#stream(draft.topic, true);
    const now = this.#now();
    stream.trim(this.#maxPerTopic, now - this.#maxAgeMs);
    const existing = stream.ids.get(draft.id);
    if (existing) return { notification: existing, duplicate: true };
    const inFlight = stream.reservedIds.get(draft.id);
    const reservation = inFlight === undefined ? undefined : stream.reserved.get(inFlight);
    if (reservation) {
      // Committed and waiting for an earlier seq: a duplicate. Pending: wait for its publish to settle.
      if (reservation.state === 'ready') return { notification: reservation.notification, duplicate: true };
      return reservation.settled.then(() => this.append(draft));
    }
    stream.seq += 1;
    const notification: StoredNotification = { ...draft, epoch: stream.epoch, seq: stream.seq };
    let settle = (): void => {};
    const settled = new Promise<void>((resolve) => {
      settle = resolve;
    });
    stream.reserved.set(notification.seq, { notification, state: 'pending', settled, settle });
    stream.reservedIds.set(draft.id, notification.seq);
    return { notification, duplicate: false };
  }

  /**
   * Makes a reserved notification visible once every earlier seq of its topic is settled.
   * @throws {WardcastError} `store_unavailable` when the topic was forgotten since the append.
   */
  commit(notification: StoredNotification): void | Promise<void> {
    const stream = this.#topics.get(notification.topic);
    const r = stream?.epoch === notification.epoch ? stream.reserved.get(notification.seq) : undefined;
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
    const r = stream.reserved.get(notification.seq);
    if (!r || r.notification.id !== notification.id) return stream.ids.get(notification.id)?.seq !== notification.seq;
    if (r.state !== 'pending') return r.state === 'aborted';
    r.state = 'aborted';
    stream.reservedIds.delete(notification.id);
    // Nobody saw the last seq handed out: take it back (and any abandoned ones before it).
    while (stream.seq > stream.end && stream.reserved.get(stream.seq)?.state === 'aborted') {
      const last = stream.reserved.get(stream.seq) as Reservation;
      stream.reserved.delete(stream.seq);
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
    for (let i = stream.indexAfter(since.seq); i < stream.entries.length; i++) {
      notifications.push((stream.entries[i] as Entry).notification);
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
  }
}
