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

class TopicStream {
  readonly epoch: string;
  seq = 0;
  entries: Entry[] = [];
  head = 0;
  readonly ids = new Map<string, StoredNotification>();

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
}

let epochCounter = 0;
function newEpoch(): string {
  epochCounter = (epochCounter + 1) % 1_679_616;
  return `${Date.now().toString(36)}${epochCounter.toString(36).padStart(4, '0')}${Math.floor(Math.random() * 1_679_616).toString(36)}`;
}

/**
 * In-memory {@link HistoryStore}: one stream per topic, bounded by count, age and number of
 * topics. Each process (and each restart) has its own epochs, so after a restart every resume
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
      this.#topics.delete(oldest);
    }
    return stream;
  }

  append(draft: NotificationDraft): AppendResult {
    const stream = this.#stream(draft.topic, true);
    const now = this.#now();
    stream.trim(this.#maxPerTopic, now - this.#maxAgeMs);
    const existing = stream.ids.get(draft.id);
    if (existing) return { notification: existing, duplicate: true };
    stream.seq += 1;
    const notification: StoredNotification = { ...draft, epoch: stream.epoch, seq: stream.seq };
    stream.entries.push({ notification, at: now });
    stream.ids.set(draft.id, notification);
    stream.trim(this.#maxPerTopic, now - this.#maxAgeMs);
    return { notification, duplicate: false };
  }

  read(topic: string, since: StreamPosition): ReadResult {
    const stream = this.#stream(topic, false);
    stream.trim(this.#maxPerTopic, this.#now() - this.#maxAgeMs);
    const position = { epoch: stream.epoch, seq: stream.seq };
    if (since.epoch !== stream.epoch || since.seq > stream.seq) {
      return { recovered: false, notifications: [], position };
    }
    if (since.seq === stream.seq) return { recovered: true, notifications: [], position };
    const first = stream.entries[stream.head];
    if (!first || first.notification.seq > since.seq + 1) {
      return { recovered: false, notifications: [], position };
    }
    const notifications: StoredNotification[] = [];
    for (let i = stream.head + (since.seq + 1 - first.notification.seq); i < stream.entries.length; i++) {
      notifications.push((stream.entries[i] as Entry).notification);
    }
    return { recovered: true, notifications, position };
  }

  position(topic: string): StreamPosition {
    const stream = this.#stream(topic, false);
    return { epoch: stream.epoch, seq: stream.seq };
  }

  close(): void {
    this.#topics.clear();
  }
}
