import type { NotificationMap } from '@wardcast/client';
import { type UseNotificationsOptions, type UseNotificationsResult, useNotifications } from '@wardcast/client/react';
import { createElement, type ReactElement } from 'react';

export interface InboxProps {
  /** Options for `useNotifications`; without them the component uses the nearest provider. */
  readonly options?: UseNotificationsOptions<NotificationMap>;
  /** Prefix of the `data-testid`s. */
  readonly name?: string;
  /** Receives the hook's result on every render. */
  readonly onResult?: (result: UseNotificationsResult<NotificationMap>) => void;
}

/** A component that renders what `useNotifications` returns. */
export function Inbox({ options, name = 'inbox', onResult }: InboxProps): ReactElement {
  const result = useNotifications(options);
  onResult?.(result);
  return createElement(
    'section',
    { 'data-testid': name },
    createElement('span', { 'data-testid': `${name}-status` }, result.status.state),
    createElement('span', { 'data-testid': `${name}-unread` }, String(result.unreadCount)),
    createElement(
      'ul',
      { 'data-testid': `${name}-list` },
      result.notifications.map((n) => createElement('li', { key: n.id }, n.id)),
    ),
  );
}
