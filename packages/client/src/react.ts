/**
 * `@wardcast/client/react`: `useNotifications()` and `<NotificationsProvider>`, built on
 * `useSyncExternalStore`. Works with React 18 and 19 and in Next.js client components.
 *
 * @packageDocumentation
 * @module \@wardcast/client/react
 */
export {
  EMPTY_SNAPSHOT,
  type NotificationItem,
  type NotificationItemState,
  type NotificationsSnapshot,
  NotificationsStore,
  type StoreOptions,
} from './react/store.js';
export {
  NotificationsProvider,
  type NotificationsProviderProps,
  type SelectorOptions,
  shallowEqual,
  type UseNotificationsOptions,
  type UseNotificationsResult,
  useNotifications,
} from './react/use-notifications.js';
