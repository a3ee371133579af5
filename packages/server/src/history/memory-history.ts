import { type StreamPosition, WardcastError } from '@wardcast/protocol';
import type { NotificationDraft, StoredNotification } from '../core/types.js';
import { Reservation } from './reservation.js';
import { TopicStream } from './topic-stream.js';
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
   * Counts appends (and new streams): a stream notes the count at its last one in `used`. An append
   * then writes one field of its own stream, where a list ordered by use would also write both
   * neighbours (two more objects a publish to a random user finds out of cache).
   */
  #uses = 0;
  /** The streams to forget first, least recently used first, with their `used` when listed (see `#leastRecent`). */
  #candidates: TopicStream[] = [];
  #candidateUses: number[] = [];
  #nextCandidate = 0;
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
      if (touch) stream.used = ++this.#uses;
      return stream;
    }
    stream = new TopicStream(topic, newEpoch(), this.#now(), ++this.#uses);
    this.#topics.set(topic, stream);
    if (this.#topics.size > this.#maxTopics) {
      const forgotten = this.#leastRecent();
      this.#topics.delete(forgotten.topic);
      // Publishes in flight on it fail at commit; appends waiting for them go on.
      forgotten.settleAll();
    }
    return stream;
  }

  /**
   * The stream appended to least recently. Listed in batches: one pass over every stream lists the
   * eighth used least recently, in order; a listed stream still carrying the `used` it had then is
   * older than every stream not listed, so the first such one is the answer. Streams used since
   * are skipped. A new topic past `maxTopics` then costs a pass over the streams once in a while,
   * instead of every append re-linking its stream in a list.
   */
  #leastRecent(): TopicStream {
    for (;;) {
      while (this.#nextCandidate < this.#candidates.length) {
        const i = this.#nextCandidate++;
        const stream = this.#candidates[i] as TopicStream;
        if (stream.used === this.#candidateUses[i] && this.#topics.get(stream.topic) === stream) return stream;
      }
      this.#listCandidates();
    }
  }

  /** Lists the eighth of the streams used least recently (at least one), least recent first. */
  #listCandidates(): void {
    const streams = [...this.#topics.values()];
    const count = Math.max(1, Math.ceil(streams.length / 8));
    const uses = Float64Array.from(streams, (s) => s.used).sort();
    const limit = uses[count - 1] as number;
    // Uses are unique: exactly `count` streams are at or under the limit.
    const listed = streams.filter((s) => s.used <= limit).sort((a, b) => a.used - b.used);
    this.#candidates = listed;
    this.#candidateUses = listed.map((s) => s.used);
    this.#nextCandidate = 0;
  }

  /**
   * Reserves the next seq of the topic for `draft`, or, with `commit: true` and no earlier seq
   * still reserved, makes it visible at once (no reservation: `commit` then has nothing to do).
   */
  append(draft: NotificationDraft, options?: AppendOptions): AppendResult | Promise<AppendResult> {
    const stream = this.#stream(draft.topic, true);
    const now = this.#now();
    stream.trim(this.#maxPerTopic, now - this.#maxAgeMs);
    const existing = stream.visibleId(draft.id);
    if (existing) return { notification: existing, duplicate: true };
    const reservation = stream.hasReserved ? stream.reservedId(draft.id) : undefined;
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
    if (options?.commit === true && !stream.hasReserved) {
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
    if (!r && stream?.epoch === notification.epoch && stream.isVisible(notification)) return;
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
    if (!r || r.notification.id !== notification.id) return stream.visibleId(notification.id)?.seq !== notification.seq;
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
    const notifications = stream.after(since.seq);
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
    this.#candidates = [];
    this.#candidateUses = [];
    this.#nextCandidate = 0;
  }
}
