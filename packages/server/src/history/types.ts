import type { StreamPosition } from '@wardcast/protocol';
import type { NotificationDraft, StoredNotification } from '../core/types.js';

/** The result of {@link HistoryStore.append}. */
export interface AppendResult {
  readonly notification: StoredNotification;
  /** `true` when a notification with the same id was already in the topic: the stored one is returned. */
  readonly duplicate: boolean;
}

/** The result of {@link HistoryStore.read}. */
export interface ReadResult {
  /** `true` when everything after the requested position was still in history. */
  readonly recovered: boolean;
  /** What came after the requested position, in seq order (empty unless `recovered`). */
  readonly notifications: readonly StoredNotification[];
  /** The topic's current end. */
  readonly position: StreamPosition;
}

/**
 * Where a hub keeps each topic's stream: it assigns `epoch` and `seq`, dedupes by id and replays
 * what a resubscribing client missed. The in-memory default is {@link MemoryHistoryStore};
 * `@wardcast/redis` and `@wardcast/postgres` provide shared, durable ones.
 *
 * Implementations must assign strictly increasing seqs per topic and change `epoch` whenever a
 * topic's history is lost, so that a stale resume point can never be "recovered" from another stream.
 */
export interface HistoryStore {
  /** Stores `draft` at the end of its topic and returns it with its epoch and seq. */
  append(draft: NotificationDraft): Promise<AppendResult> | AppendResult;
  /** What came after `since` on `topic`, or `recovered: false` when history cannot cover it. */
  read(topic: string, since: StreamPosition): Promise<ReadResult> | ReadResult;
  /** The topic's current end (`seq: 0` for a topic with nothing published yet). */
  position(topic: string): Promise<StreamPosition> | StreamPosition;
  /** Frees everything. */
  close?(): Promise<void> | void;
}
