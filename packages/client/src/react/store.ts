import type { TelemetryFrame, WardcastError } from '@wardcast/protocol';
import { createNotificationClient, type NotificationClient } from '../client.js';
import type { ClientNotification, ClientOptions, ClientStatus, NotificationMap } from '../types.js';

/** What `useNotifications()` renders from. Immutable: a new object on every change. */
export interface NotificationsSnapshot<M extends object = NotificationMap> {
  /** Newest first, at most `maxItems`. */
  readonly notifications: readonly ClientNotification<M>[];
  /** Ids marked read or acknowledged on this device, or on another of the user's devices (`receipt`s from the hub). */
  readonly readIds: ReadonlySet<string>;
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

/** The snapshot used on the server and before the client starts. */
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

/** Options of a {@link NotificationsStore}. */
export interface StoreOptions<M extends object> extends ClientOptions {
  /** Keep only notifications for which this returns `true`. */
  readonly filter?: (n: ClientNotification<M>) => boolean;
  /** Notifications kept in the list. @default 100 */
  readonly maxItems?: number;
}

/**
 * An external store for `useSyncExternalStore`: owns at most one client at a time, started and
 * stopped by effects, and a snapshot that changes only when something visible changed.
 */
export class NotificationsStore<M extends object = NotificationMap> {
  #snapshot: NotificationsSnapshot<M> = EMPTY_SNAPSHOT as NotificationsSnapshot<M>;
  #client: NotificationClient<M> | undefined;
  readonly #listeners = new Set<() => void>();
  #options: () => StoreOptions<M>;

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

  /** The running client, if started. */
  get client(): NotificationClient<M> | undefined {
    return this.#client;
  }

  /** Creates and connects the client. Returns the function that closes it and frees everything. */
  start(): () => void {
    const initial = this.#options();
    const client = createNotificationClient<M>({
      ...initial,
      // Read through the getter so new callbacks from re-renders are used without reconnecting.
      url: () => resolveValue(this.#options().url),
      token: () => resolveValue(this.#options().token),
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
      // A receipt for an id this device never marked: read (or acked) on another device.
      client.on('receipt', ({ id }) => this.#markLocal(id)),
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
    if (this.#snapshot.readIds.has(id)) return;
    this.#client?.markRead(id);
    this.#markLocal(id);
  }

  markAllRead(): void {
    const readIds = new Set(this.#snapshot.readIds);
    for (const n of this.#snapshot.notifications) {
      if (readIds.has(n.id)) continue;
      readIds.add(n.id);
      this.#client?.markRead(n.id);
    }
    this.#update({ readIds, unreadCount: 0 });
  }

  ack(id: string): void {
    this.#client?.ack(id);
  }

  /** Copies the client's member lists into the snapshot (after a presence event or a topic change). */
  syncPresence(): void {
    const presence = this.#client?.presence ?? NO_PRESENCE;
    if (!samePresence(presence, this.#snapshot.presence)) this.#update({ presence });
  }

  #markLocal(id: string): void {
    if (this.#snapshot.readIds.has(id)) return;
    const readIds = new Set(this.#snapshot.readIds).add(id);
    this.#update({ readIds, unreadCount: countUnread(this.#snapshot.notifications, readIds) });
  }

  #onNotification(n: ClientNotification<M>): void {
    const { filter, maxItems = 100 } = this.#options();
    if (filter && !filter(n)) return;
    const notifications = [n, ...this.#snapshot.notifications].slice(0, maxItems);
    this.#update({
      notifications,
      unreadCount: countUnread(notifications, this.#snapshot.readIds),
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

function countUnread(list: readonly { id: string }[], readIds: ReadonlySet<string>): number {
  let unread = 0;
  for (const n of list) if (!readIds.has(n.id)) unread++;
  return unread;
}

async function resolveValue<T>(value: T | (() => T | Promise<T>)): Promise<T> {
  return typeof value === 'function' ? (value as () => T | Promise<T>)() : value;
}
