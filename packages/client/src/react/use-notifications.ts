import type { TelemetryFrame, WardcastError } from '@wardcast/protocol';
import {
  createContext,
  createElement,
  type ReactNode,
  useContext,
  useEffect,
  useRef,
  useState,
  useSyncExternalStore,
} from 'react';
import type { ClientNotification, ClientStatus, NotificationMap } from '../types.js';
import { NotificationsStore, type StoreOptions } from './store.js';

/** What {@link useNotifications} returns. */
export interface UseNotificationsResult<M extends object = NotificationMap> {
  /** Newest first. */
  readonly notifications: readonly ClientNotification<M>[];
  readonly unreadCount: number;
  readonly status: ClientStatus;
  readonly latencyMs: number | undefined;
  readonly error: WardcastError | undefined;
  /** The last `telemetry` frame (pass `telemetry: true`), or `undefined`. */
  readonly telemetry: TelemetryFrame | undefined;
  /** Members (user ids) of each topic in `presence`, by topic; a topic appears once the hub sent its list. */
  readonly presence: Readonly<Record<string, readonly string[]>>;
  /** Marks one notification read (recorded in the user's inbox, shared by their devices). */
  markRead(id: string): void;
  /** Marks every listed notification read. */
  markAllRead(): void;
  /** Acknowledges a notification (e.g. a critical result). */
  ack(id: string): void;
}

/** Options of {@link useNotifications} and {@link NotificationsProvider}. */
export type UseNotificationsOptions<M extends object = NotificationMap> = StoreOptions<M>;

const StoreContext = createContext<NotificationsStore<NotificationMap> | null>(null);

function topicsKey(options: { topics?: readonly string[]; presence?: readonly string[] } | undefined): string {
  return JSON.stringify([[...(options?.topics ?? [])].sort(), [...(options?.presence ?? [])].sort()]);
}

/** Creates one store per component instance, starts its client in an effect and keeps topics in sync. */
function useOwnStore<M extends object>(options: UseNotificationsOptions<M> | undefined): NotificationsStore<M> | null {
  const latest = useRef(options);
  latest.current = options;
  const [store] = useState(() =>
    options ? new NotificationsStore<M>(() => latest.current as UseNotificationsOptions<M>) : null,
  );
  useEffect(() => store?.start(), [store]);
  const key = topicsKey(options);
  useEffect(() => {
    const client = store?.client;
    if (!client) return;
    const [topics, presence] = JSON.parse(key) as [string[], string[]];
    const watched = new Set(presence);
    const wanted = new Set([...topics, ...presence]);
    for (const topic of client.topics) if (!wanted.has(topic)) client.unsubscribe(topic);
    for (const topic of wanted) client.subscribe(topic, { presence: watched.has(topic) });
    store?.syncPresence();
  }, [store, key]);
  return store;
}

function useStoreResult<M extends object>(store: NotificationsStore<M>): UseNotificationsResult<M> {
  const snapshot = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getServerSnapshot);
  const [actions] = useState(() => ({
    markRead: (id: string) => store.markRead(id),
    markAllRead: () => store.markAllRead(),
    ack: (id: string) => store.ack(id),
  }));
  return {
    notifications: snapshot.notifications,
    unreadCount: snapshot.unreadCount,
    status: snapshot.status,
    latencyMs: snapshot.latencyMs,
    error: snapshot.error,
    telemetry: snapshot.telemetry,
    presence: snapshot.presence,
    ...actions,
  };
}

/**
 * Live notifications in a React component. With options, the component owns one connection
 * (one socket even under StrictMode; a new `token` callback or an equal `topics` array never
 * reconnects; changing `topics` or `presence` subscribes/unsubscribes on the open socket; unmount
 * closes it).
 * Without options, it uses the client of the nearest {@link NotificationsProvider}.
 * SSR-safe: on the server it renders an empty, idle snapshot.
 *
 * @example
 * ```tsx
 * 'use client';
 * function Bell({ userId }: { userId: string }) {
 *   const { notifications, unreadCount, status, markRead } = useNotifications({
 *     url: 'wss://api.example-hospital.org/v1/ws/notifications',
 *     token: getToken,
 *     topics: [`user:${userId}`],
 *   });
 *   return <span title={status.state}>{unreadCount}</span>;
 * }
 * ```
 */
export function useNotifications<M extends object = NotificationMap>(
  options?: UseNotificationsOptions<M>,
): UseNotificationsResult<M> {
  const shared = useContext(StoreContext) as NotificationsStore<M> | null;
  const own = useOwnStore(options);
  const store = own ?? shared;
  if (!store) throw new Error('useNotifications: pass options or render inside <NotificationsProvider>');
  return useStoreResult(store);
}

/** Props of {@link NotificationsProvider}. */
export type NotificationsProviderProps<M extends object = NotificationMap> = UseNotificationsOptions<M> & {
  readonly children?: ReactNode;
};

/**
 * Shares one connection with every `useNotifications()` below it.
 *
 * @example
 * ```tsx
 * <NotificationsProvider url={wsUrl} token={getToken} topics={[`user:${me.id}`]}>
 *   <Bell />
 *   <Inbox />
 * </NotificationsProvider>
 * ```
 */
export function NotificationsProvider<M extends object = NotificationMap>(
  props: NotificationsProviderProps<M>,
): ReactNode {
  const { children, ...options } = props;
  const store = useOwnStore(options as UseNotificationsOptions<M>);
  return createElement(StoreContext.Provider, { value: store as NotificationsStore<NotificationMap> | null }, children);
}
