import type { UseNotificationsResult } from '@wardcast/client/react';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { fetchInbox } from './api.js';
import type { InboxItem, Kinds } from './types.js';

/** The inbox the page shows, and what the user can do with it. */
export interface Inbox {
  readonly items: readonly InboxItem[];
  readonly unread: number;
  readonly loaded: boolean;
  markRead(id: string): void;
  markAllRead(): void;
  ack(id: string): void;
}

/**
 * The user's inbox: `GET /v1/notifications` (the source of truth for read and acknowledged
 * state, and what survives a reload) merged with what arrives live on `user:<id>` and
 * `broadcast`. The list is fetched again whenever the socket reports a change: a new item, a
 * read or ack on another tab or device (the hook's unread count drops), or a reconnect.
 */
export function useInbox(userId: string, live: UseNotificationsResult<Kinds>): Inbox {
  const [stored, setStored] = useState<readonly InboxItem[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [readHere, setReadHere] = useState<ReadonlySet<string>>(new Set());
  const [ackedHere, setAckedHere] = useState<ReadonlySet<string>>(new Set());

  const liveItems = useMemo(
    () => live.notifications.filter((n) => n.topic === `user:${userId}` || n.topic === 'broadcast'),
    [live.notifications, userId],
  );
  const open = live.status.state === 'open';

  const refresh = useCallback(async () => {
    try {
      setStored(await fetchInbox(userId));
      setLoaded(true);
    } catch {
      // Offline or signed out: keep what is shown; the next change fetches again.
    }
  }, [userId]);

  // Debounced: a burst of receipts or notifications costs one request.
  // biome-ignore lint/correctness/useExhaustiveDependencies: these values are the triggers.
  useEffect(() => {
    const timer = setTimeout(() => void refresh(), 60);
    return () => clearTimeout(timer);
  }, [refresh, live.unreadCount, liveItems.length, open]);

  const items = useMemo(() => {
    const byId = new Map<string, InboxItem>();
    for (const n of liveItems) {
      byId.set(n.id, { ...n, read: false, acknowledged: false });
    }
    for (const item of stored) byId.set(item.id, item);
    return [...byId.values()]
      .map((item) => ({
        ...item,
        read: item.read || readHere.has(item.id) || ackedHere.has(item.id),
        acknowledged: item.acknowledged || ackedHere.has(item.id),
      }))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }, [liveItems, stored, readHere, ackedHere]);

  const { markRead: sendRead, ack: sendAck } = live;
  const markRead = useCallback(
    (id: string) => {
      sendRead(id);
      setReadHere((s) => new Set(s).add(id));
    },
    [sendRead],
  );
  const ack = useCallback(
    (id: string) => {
      sendAck(id);
      setAckedHere((s) => new Set(s).add(id));
    },
    [sendAck],
  );
  const markAllRead = useCallback(() => {
    for (const item of items) if (!item.read) markRead(item.id);
  }, [items, markRead]);

  return { items, unread: items.filter((i) => !i.read).length, loaded, markRead, markAllRead, ack };
}
