import type { StreamPosition } from '@wardcast/protocol';
import type { NotificationDraft, StoredNotification } from '../core/types.js';

/**
 * The result of {@link HistoryStore.append}.
 *
 * @category History and broker
 */
export interface AppendResult {
  readonly notification: StoredNotification;
  /** `true` when a notification with the same id was already in the topic: the stored one is returned. */
  readonly duplicate: boolean;
}

/**
 * Options of {@link HistoryStore.append}.
 *
 * @category History and broker
 */
export interface AppendOptions {
  /**
   * `true` when the hub runs no durable side effect for this publish (no stage has work for it),
   * so nothing can fail between append and commit: a two-phase store may commit at append, in one
   * step, resolving once the notification is visible (after every earlier seq, as `commit` would).
   * `commit` for it is then a no-op. An append that fails this way may have stored the notification
   * when the store cannot tell: its error says so (retrying with the same id is safe).
   */
  readonly commit?: boolean;
}

/**
 * The result of {@link HistoryStore.read}.
 *
 * @category History and broker
 */
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
 *
 * **Two phases.** A store with {@link HistoryStore.commit} reserves a place at `append` and makes
 * it visible (to `read`, `position` and, for a store that is also the broker, to subscribers)
 * only at `commit`, in seq order; the hub runs the publish's durable side effects (inbox row,
 * escalation registration) in between, so nobody sees a notification before they committed. A
 * store without `commit` makes each append visible at once (the hub then still fans out only
 * after the side effects, through the broker).
 *
 * @category History and broker
 */
export interface HistoryStore {
  /**
   * Gives `draft` the next place in its topic and returns it with its epoch and seq; with
   * `commit`, the place is reserved and stays invisible until committed.
   *
   * A `duplicate` is an id the topic already holds (committed, or reserved by a publish that
   * committed it): nothing is stored again. An id reserved by a publish still in flight waits
   * for it to settle.
   */
  append(draft: NotificationDraft, options?: AppendOptions): Promise<AppendResult> | AppendResult;
  /**
   * Makes an appended notification visible, after every earlier seq of its topic was committed or
   * abandoned. Resolves once it is visible; a store that is also the broker has then delivered it
   * to every instance. Rejects (`store_unavailable`) when the reservation was lost (it expired, or
   * the stream's epoch changed): the notification was then delivered to no one.
   */
  commit?(notification: StoredNotification): Promise<void> | void;
  /**
   * Gives up an appended notification that was not committed: it is never delivered and its id
   * may be published again. Resolves `false` when it was committed after all (a commit whose
   * answer was lost): it is then delivered. Best effort: a reservation nobody commits also expires.
   */
  abort?(notification: StoredNotification): Promise<boolean> | boolean;
  /** What came after `since` on `topic`, or `recovered: false` when history cannot cover it. */
  read(topic: string, since: StreamPosition): Promise<ReadResult> | ReadResult;
  /** The topic's current (committed) end (`seq: 0` for a topic with nothing published yet). */
  position(topic: string): Promise<StreamPosition> | StreamPosition;
  /**
   * Whether the store can serve appends and reads now; the hub's readiness reports it. Must be
   * cheap and synchronous. @default always `'ok'` when absent
   */
  health?(): 'ok' | 'degraded';
  /** Frees everything. */
  close?(): Promise<void> | void;
}
