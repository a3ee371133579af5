import type { TelemetryFrame, WardcastError } from '@wardcast/protocol';
import { createNotificationClient, type NotificationClient } from '../client.js';
import type { SharedClientOptions } from '../shared/options.js';
import type { ClientNotification, ClientStatus, NotificationMap, Provider } from '../types.js';

/**
 * Read and acknowledgement state of one listed notification, as this client knows it: marked
 * here, or learned from a `receipt` (the hub's confirmation of an ack or read made here, in
 * another tab or device of the user, or over the HTTP inbox endpoints, relayed live with an inbox
 * on the hub). Times are ISO 8601, taken when this client marked the notification or the receipt
 * arrived (receipts carry no time; `GET /v1/notifications` has the hub's `read_at`).
 *
 * @category React
 */
export interface NotificationItemState {
  /** Marked read here (`markRead`, `markAllRead`), or read or acknowledged anywhere (a `receipt`). */
  readonly read: boolean;
  /** When it became read for this client; `undefined` while unread. */
  readonly readAt: string | undefined;
  /** The hub confirmed an ack (made here or on another of the user's devices). An ack also marks it read. */
  readonly acknowledged: boolean;
  /** When the ack's receipt arrived; `undefined` until acknowledged. */
  readonly acknowledgedAt: string | undefined;
  /** `ack()` was called here and the hub has not confirmed it yet (queued while offline; cleared if refused). */
  readonly ackPending: boolean;
}

/**
 * A listed notification with its read and ack state. Narrow on `kind` as with
 * `ClientNotification`. Immutable: an item whose state changes is replaced; the others keep
 * their identity from one snapshot to the next.
 *
 * @example
 * ```tsx
 * const Row = memo(function Row({ n, ack }: { n: NotificationItem<ClinicalKinds>; ack: (id: string) => void }) {
 *   return (
 *     <li className={n.read ? 'read' : 'unread'}>
 *       {n.kind}
 *       {n.priority === 'critical' && !n.acknowledged && (
 *         <button type="button" disabled={n.ackPending} onClick={() => ack(n.id)}>Acknowledge</button>
 *       )}
 *     </li>
 *   );
 * });
 * ```
 *
 * @category React
 */
export type NotificationItem<M extends object = NotificationMap> = ClientNotification<M> & NotificationItemState;

/**
 * What `useNotifications()` renders from. Immutable: a new object on every change.
 *
 * @category React
 */
export interface NotificationsSnapshot<M extends object = NotificationMap> {
  /** Newest first, at most `maxItems`, each with its read and ack state. */
  readonly notifications: readonly NotificationItem<M>[];
  /** Ids marked read or acknowledged on this device, or on another of the user's devices (`receipt`s from the hub). */
  readonly readIds: ReadonlySet<string>;
  /** Listed notifications whose `read` is `false`. */
  readonly unreadCount: number;
  readonly status: ClientStatus;
  readonly latencyMs: number | undefined;
  /** The last error the client reported, if any. */
  readonly error: WardcastError | undefined;
  /** The last `telemetry` frame (with the `telemetry` option), if any. */
  readonly telemetry: TelemetryFrame | undefined;
  /** Members (user ids) of each topic followed with `presence`, by topic. */
  readonly presence: Readonly<Record<string, readonly string[]>>;
}

const IDLE: ClientStatus = { state: 'idle' };
const NO_IDS: ReadonlySet<string> = new Set();
const NO_PRESENCE: Readonly<Record<string, readonly string[]>> = Object.freeze({});

/**
 * The snapshot used on the server and before the client starts.
 *
 * @category React
 */
export const EMPTY_SNAPSHOT: NotificationsSnapshot = {
  notifications: [],
  readIds: NO_IDS,
  unreadCount: 0,
  status: IDLE,
  latencyMs: undefined,
  error: undefined,
  telemetry: undefined,
  presence: NO_PRESENCE,
};

/**
 * Options of a {@link NotificationsStore}.
 *
 * @category React
 */
export interface StoreOptions<M extends object> extends SharedClientOptions {
  /**
   * Makes the client, from these options. Pass `createSharedNotificationClient` from
   * `@wardcast/client/shared` to share one connection among this browser profile's tabs of the same
   * user (`userId` is then required; `shareAcrossTabs: false` turns it off again). A factory, not
   * a flag, so an app that does not share does not ship the sharing code. Read once, when the store
   * starts. @default createNotificationClient
   */
  readonly createClient?: <N extends object>(options: SharedClientOptions) => NotificationClient<N>;
  /** Keep only notifications for which this returns `true`. */
  readonly filter?: (n: ClientNotification<M>) => boolean;
  /** Notifications kept in the list. @default 100 */
  readonly maxItems?: number;
}

/**
 * An external store for `useSyncExternalStore`: owns at most one client at a time, started and
 * stopped by effects, and a snapshot that changes only when something visible changed. Snapshots
 * share structure: a telemetry or presence update keeps the `notifications` array, and a
 * receipt replaces only the item it is about.
 *
 * @example
 * ```ts
 * const store = new NotificationsStore(() => ({ url, token: getToken, topics: ['user:u42'] }));
 * const stop = store.start();
 * const off = store.subscribe(() => {
 *   const { unreadCount, notifications } = store.getSnapshot();
 *   renderBadge(unreadCount, notifications.filter((n) => n.priority === 'critical' && !n.acknowledged));
 * });
 * // later: off(); stop();
 * ```
 *
 * @category React
 */
export class NotificationsStore<M extends object = NotificationMap> {
  #snapshot: NotificationsSnapshot<M> = EMPTY_SNAPSHOT as NotificationsSnapshot<M>;
  #client: NotificationClient<M> | undefined;
  readonly #listeners = new Set<() => void>();
  #options: () => StoreOptions<M>;
  /** When each id became read / acknowledged for this store, and acks sent but not confirmed. */
  readonly #readAt = new Map<string, string>();
  readonly #ackedAt = new Map<string, string>();
  readonly #ackPending = new Set<string>();

  constructor(options: () => StoreOptions<M>) {
    this.#options = options;
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  };

  readonly getSnapshot = (): NotificationsSnapshot<M> => this.#snapshot;

  readonly getServerSnapshot = (): NotificationsSnapshot<M> => EMPTY_SNAPSHOT as NotificationsSnapshot<M>;

  /** The running client, if started (a `SharedNotificationClient` when `createClient` made one). */
  get client(): NotificationClient<M> | undefined {
    return this.#client;
  }

  /** Creates and connects the client. Returns the function that closes it and frees everything. */
  start(): () => void {
    const initial = this.#options();
    const client = (initial.createClient ?? createNotificationClient)<M>({
      ...initial,
      // Read through the getter so new callbacks from re-renders are used without reconnecting.
      url: () => resolveValue(this.#options().url),
      // A token provider only when the options have one (none: the upgrade request authenticates).
      ...(initial.token === undefined ? {} : { token: () => resolveValue(this.#options().token as Provider<string>) }),
      autoConnect: false,
    });
    this.#client = client;
    const offs = [
      client.on('notification', (n) => this.#onNotification(n)),
      client.on('status', (status) => this.#update({ status, latencyMs: client.latencyMs })),
      client.on('error', (error) => this.#update({ error })),
      client.on('telemetry', (telemetry) => this.#update({ telemetry })),
      client.on('latency', (latencyMs) => this.#update({ latencyMs })),
      client.on('presence', () => this.syncPresence()),
      // The hub recorded a read or ack: this device's, or one made on another device or over HTTP.
      client.on('receipt', ({ id, action }) => this.#mark([id], action === 'ack')),
      client.on('refused', ({ id, action }) => {
        if (action === 'ack' && this.#ackPending.delete(id)) this.#refresh([id]);
      }),
    ];
    client.connect();
    return () => {
      for (const off of offs) off();
      client.close();
      if (this.#client === client) {
        this.#client = undefined;
        this.#update({ status: client.status });
      }
    };
  }

  markRead(id: string): void {
    if (this.#readAt.has(id)) return;
    this.#client?.markRead(id);
    this.#mark([id]);
  }

  markAllRead(): void {
    const ids = this.#snapshot.notifications.filter((n) => !n.read).map((n) => n.id);
    for (const id of ids) this.#client?.markRead(id);
    this.#mark(ids);
  }

  ack(id: string): void {
    const client = this.#client;
    if (!client || this.#ackedAt.has(id)) return;
    client.ack(id);
    this.#ackPending.add(id);
    this.#refresh([id]);
  }

  /** Copies the client's member lists into the snapshot (after a presence event or a topic change). */
  syncPresence(): void {
    const presence = this.#client?.presence ?? NO_PRESENCE;
    if (!samePresence(presence, this.#snapshot.presence)) this.#update({ presence });
  }

  /** Marks `ids` read (and acknowledged, with `acknowledged`), then publishes what changed, if anything. */
  #mark(ids: readonly string[], acknowledged = false): void {
    const at = new Date().toISOString();
    for (const id of ids) {
      if (!this.#readAt.has(id)) this.#readAt.set(id, at);
      if (acknowledged) {
        this.#ackPending.delete(id);
        if (!this.#ackedAt.has(id)) this.#ackedAt.set(id, at);
      }
    }
    this.#refresh(ids);
  }

  /** Replaces the listed items of `ids` whose state changed, and `readIds` if it grew. */
  #refresh(ids: readonly string[]): void {
    const touched = new Set(ids);
    let changed = false;
    const notifications = this.#snapshot.notifications.map((n) => {
      const next = touched.has(n.id) ? this.#item(n) : n;
      if (next !== n) changed = true;
      return next;
    });
    const readIds = this.#readAt.size === this.#snapshot.readIds.size ? undefined : new Set(this.#readAt.keys());
    if (changed) this.#update({ notifications, unreadCount: countUnread(notifications), ...(readIds && { readIds }) });
    else if (readIds) this.#update({ readIds });
  }

  /** `n` with the current read and ack state of its id: `n` itself when that state is unchanged. */
  #item(n: ClientNotification<M>): NotificationItem<M> {
    const readAt = this.#readAt.get(n.id);
    const acknowledgedAt = this.#ackedAt.get(n.id);
    const ackPending = this.#ackPending.has(n.id);
    const item = n as Partial<NotificationItemState>;
    if (
      'read' in item &&
      item.readAt === readAt &&
      item.acknowledgedAt === acknowledgedAt &&
      item.ackPending === ackPending
    )
      return n as NotificationItem<M>;
    return {
      ...n,
      read: readAt !== undefined,
      readAt,
      acknowledged: acknowledgedAt !== undefined,
      acknowledgedAt,
      ackPending,
    } as NotificationItem<M>;
  }

  #onNotification(n: ClientNotification<M>): void {
    const { filter, maxItems = 100 } = this.#options();
    if (filter && !filter(n)) return;
    const notifications = [this.#item(n), ...this.#snapshot.notifications].slice(0, maxItems);
    this.#update({
      notifications,
      unreadCount: countUnread(notifications),
      latencyMs: this.#client?.latencyMs,
    });
  }

  #update(patch: Partial<NotificationsSnapshot<M>>): void {
    this.#snapshot = { ...this.#snapshot, ...patch };
    for (const listener of this.#listeners) listener();
  }
}

function samePresence(
  a: Readonly<Record<string, readonly string[]>>,
  b: Readonly<Record<string, readonly string[]>>,
): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => a[k]?.join('\n') === b[k]?.join('\n'));
}

function countUnread(list: readonly { read: boolean }[]): number {
  let unread = 0;
  for (const n of list) if (!n.read) unread++;
  return unread;
}

async function resolveValue<T>(value: T | (() => T | Promise<T>)): Promise<T> {
  return typeof value === 'function' ? (value as () => T | Promise<T>)() : value;
}
