import type { StoredNotification } from '../core/types.js';

/**
 * One notification in a user's inbox, with its shared read and acknowledgement state.
 *
 * @category Inbox
 */
export interface InboxEntry {
  readonly notification: StoredNotification;
  /** ISO 8601, when any of the user's devices marked it read. */
  readonly readAt: string | undefined;
  /** ISO 8601, when any of the user's devices acknowledged it. */
  readonly acknowledgedAt: string | undefined;
}

/**
 * One page of {@link InboxStore.list}.
 *
 * @category Inbox
 */
export interface InboxPage {
  /** Newest first. */
  readonly items: readonly InboxEntry[];
  /** Pass to the next `list` call; absent on the last page. */
  readonly nextCursor: string | undefined;
  /** Unread notifications in the whole inbox (not just this page). */
  readonly unreadCount: number;
}

/**
 * A per-user inbox: every notification published to `user:<id>` is recorded here before anyone
 * receives it (a stage of the hub's publish pipeline), so a user who was offline can list it later, and read/ack state is shared by all
 * of the user's devices. The in-memory default is `MemoryInbox`; `@wardcast/postgres` makes it durable.
 *
 * @category Inbox
 */
export interface InboxStore {
  /** Records a notification for `userId`. Idempotent per notification id. */
  record(userId: string, notification: StoredNotification): Promise<void> | void;
  /**
   * Removes what `record` stored for a publish that was abandoned before anyone received it (a
   * later stage or the history commit failed): the entry with this notification's id, epoch and
   * seq. Without it such an entry stays in the inbox.
   */
  forget?(userId: string, notification: StoredNotification): Promise<void> | void;
  /**
   * Lists a user's notifications, newest first. Should throw a `WardcastError` `bad_request`
   * (answered as a 400 over HTTP) for a `cursor` it did not issue to this user, with a message
   * that does not repeat the cursor.
   */
  list(userId: string, options: { readonly cursor?: string; readonly limit: number }): Promise<InboxPage> | InboxPage;
  /** Marks one notification read; `false` when the user has no such notification. */
  markRead(userId: string, id: string): Promise<boolean> | boolean;
  /** Records an acknowledgement (which also marks read); `false` when the user has no such notification. */
  acknowledge(userId: string, id: string): Promise<boolean> | boolean;
  /**
   * The user's newest unread notifications, at most `limit`, **oldest first**. The hub replays
   * them to a device that subscribes to its own `user:` topic with `unread: true` and no resume
   * point history can cover. Without it the hub pages through `list` (at most `limit` entries).
   */
  unread?(userId: string, limit: number): Promise<readonly StoredNotification[]> | readonly StoredNotification[];
  /** Frees everything. */
  close?(): Promise<void> | void;
}

/** The user id of a `user:<id>` topic, or `undefined` for other topics. */
export function userOfTopic(topic: string): string | undefined {
  return topic.startsWith('user:') && topic.length > 5 ? topic.slice(5) : undefined;
}
