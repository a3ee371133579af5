import type { TelemetryFrame, WardcastError } from '@wardcast/protocol';
import {
  createContext,
  createElement,
  type ReactNode,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
} from 'react';
import type { ClientStatus, NotificationMap } from '../types.js';
import { type NotificationItem, type NotificationsSnapshot, NotificationsStore, type StoreOptions } from './store.js';

/**
 * What {@link useNotifications} returns without a selector, and what a selector receives.
 *
 * @category React
 */
export interface UseNotificationsResult<M extends object = NotificationMap> {
  /** Newest first, each with its read and ack state (`read`, `readAt`, `acknowledged`, `acknowledgedAt`, `ackPending`). */
  readonly notifications: readonly NotificationItem<M>[];
  /** Listed notifications whose `read` is `false`. */
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
  /** Acknowledges a notification (e.g. a critical result): `ackPending` until the hub confirms, then `acknowledged`. */
  ack(id: string): void;
}

/**
 * Options of {@link useNotifications} and {@link NotificationsProvider}.
 *
 * @category React
 */
export type UseNotificationsOptions<M extends object = NotificationMap> = StoreOptions<M>;

/**
 * How {@link useNotifications} compares a selection with the previous one.
 *
 * @example
 * ```tsx
 * const { state, unread } = useNotifications((s) => ({ state: s.status.state, unread: s.unreadCount }), {
 *   isEqual: shallowEqual,
 * });
 * ```
 *
 * @category React
 */
export interface SelectorOptions<T> {
  /**
   * Whether two selections are the same: when it returns `true` the component keeps the previous
   * one and does not re-render. Use {@link shallowEqual} for a selector that builds an array or
   * object. @default Object.is
   */
  readonly isEqual?: (a: T, b: T) => boolean;
}

/**
 * Equal when `Object.is` says so, or when both are arrays, or both plain objects, whose entries
 * are `Object.is`-equal one by one. With {@link useNotifications}, for a selector that builds a
 * new array or object from items, which keep their identity while unchanged.
 *
 * @example
 * ```tsx
 * const critical = useNotifications((s) => s.notifications.filter((n) => n.priority === 'critical' && !n.acknowledged), {
 *   isEqual: shallowEqual,
 * });
 * ```
 *
 * @category React
 */
export function shallowEqual<T>(a: T, b: T): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const proto = Object.getPrototypeOf(a);
  if (proto !== Object.getPrototypeOf(b) || (proto !== Array.prototype && proto !== Object.prototype)) return false;
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length &&
    keys.every(
      (k) => Object.hasOwn(b, k) && Object.is((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
    )
  );
}

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

type Actions = Pick<UseNotificationsResult, 'markRead' | 'markAllRead' | 'ack'>;

const whole = <R>(result: R): R => result;

/**
 * `useSyncExternalStoreWithSelector`, for this store: `select` runs once per snapshot (and when
 * it or `isEqual` changes), and a selection `isEqual` to the last one keeps its identity, so
 * `useSyncExternalStore` sees no change and the component does not re-render.
 */
function useSelection<M extends object, T>(
  store: NotificationsStore<M>,
  select: (result: UseNotificationsResult<M>) => T,
  isEqual: (a: T, b: T) => boolean,
): T {
  const [actions] = useState<Actions>(() => ({
    markRead: (id: string) => store.markRead(id),
    markAllRead: () => store.markAllRead(),
    ack: (id: string) => store.ack(id),
  }));
  // The selection last rendered: a new selector (an inline one on every render) starts from it.
  const rendered = useRef<{ value: T } | undefined>(undefined);
  const [getSelection, getServerSelection] = useMemo(() => {
    let last: { snapshot: NotificationsSnapshot<M>; value: T } | undefined;
    const pick = (snapshot: NotificationsSnapshot<M>): T => {
      if (last?.snapshot === snapshot) return last.value;
      const { readIds: _readIds, ...state } = snapshot;
      const next = select({ ...state, ...actions });
      const previous = last ?? rendered.current;
      const value = previous && isEqual(previous.value, next) ? previous.value : next;
      last = { snapshot, value };
      return value;
    };
    return [() => pick(store.getSnapshot()), () => pick(store.getServerSnapshot())];
  }, [store, select, isEqual, actions]);
  const value = useSyncExternalStore(store.subscribe, getSelection, getServerSelection);
  useEffect(() => {
    rendered.current = { value };
  }, [value]);
  return value;
}

/**
 * Live notifications in a React component. With options, the component owns one connection
 * (one socket even under StrictMode; a new `token` callback or an equal `topics` array never
 * reconnects; changing `topics` or `presence` subscribes/unsubscribes on the open socket; unmount
 * closes it).
 * Without options, it uses the client of the nearest {@link NotificationsProvider}.
 * SSR-safe: on the server it renders an empty, idle snapshot.
 *
 * Each listed notification carries its read and ack state (`read`, `acknowledged`, ...), kept
 * in step with this tab, the user's other tabs and devices, and the HTTP inbox endpoints.
 *
 * With a selector first, the hook returns what it picks and re-renders only when that changes
 * (by `Object.is`, or the `isEqual` option): a badge that selects `unreadCount` does not
 * re-render on every latency, telemetry or presence update. The options come second; without
 * `url` among them (only `isEqual`, or nothing), the nearest provider's client is used.
 *
 * @example
 * ```tsx
 * 'use client';
 * function Inbox({ userId }: { userId: string }) {
 *   const { notifications, unreadCount, status, markRead } = useNotifications({
 *     url: 'wss://api.example-hospital.org/v1/ws/notifications',
 *     token: getToken,
 *     topics: [`user:${userId}`],
 *   });
 *   return (
 *     <ul title={`${unreadCount} unread (${status.state})`}>
 *       {notifications.map((n) => (
 *         <li key={n.id} className={n.read ? 'read' : 'unread'} onClick={() => markRead(n.id)}>
 *           {n.kind}
 *         </li>
 *       ))}
 *     </ul>
 *   );
 * }
 * ```
 *
 * @example
 * ```tsx
 * // Below a <NotificationsProvider>: re-renders only when the count changes.
 * function Bell() {
 *   const unread = useNotifications((s) => s.unreadCount);
 *   return <span className="badge">{unread}</span>;
 * }
 * // Typed: annotate the selector's parameter.
 * const labs = useNotifications((s: UseNotificationsResult<Kinds>) => s.notifications.filter((n) => n.kind === 'lab_result'), {
 *   isEqual: shallowEqual,
 * });
 * ```
 *
 * @category React
 */
export function useNotifications<M extends object = NotificationMap, T = never>(
  select: (result: UseNotificationsResult<M>) => T,
  options?: SelectorOptions<T> | (UseNotificationsOptions<M> & SelectorOptions<T>),
): T;
export function useNotifications<M extends object = NotificationMap>(
  options?: UseNotificationsOptions<M>,
): UseNotificationsResult<M>;
export function useNotifications<M extends object, T>(
  first?: ((result: UseNotificationsResult<M>) => T) | UseNotificationsOptions<M>,
  second?: SelectorOptions<T> | (UseNotificationsOptions<M> & SelectorOptions<T>),
): T | UseNotificationsResult<M> {
  const select = typeof first === 'function' ? first : undefined;
  const options = select ? (second && 'url' in second ? second : undefined) : (first as UseNotificationsOptions<M>);
  const shared = useContext(StoreContext) as NotificationsStore<M> | null;
  const own = useOwnStore(options);
  const store = own ?? shared;
  if (!store) throw new Error('useNotifications: pass options or render inside <NotificationsProvider>');
  return useSelection<M, T | UseNotificationsResult<M>>(
    store,
    select ?? whole,
    ((select && second?.isEqual) || Object.is) as (a: unknown, b: unknown) => boolean,
  );
}

/**
 * Props of {@link NotificationsProvider}.
 *
 * @category React
 */
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
 *
 * @category React
 */
export function NotificationsProvider<M extends object = NotificationMap>(
  props: NotificationsProviderProps<M>,
): ReactNode {
  const { children, ...options } = props;
  const store = useOwnStore(options as UseNotificationsOptions<M>);
  return createElement(StoreContext.Provider, { value: store as NotificationsStore<NotificationMap> | null }, children);
}
