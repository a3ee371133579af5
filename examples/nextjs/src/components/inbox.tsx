'use client';

import type { ClientNotification, ClientStatus } from '@wardcast/client';
import { useNotifications } from '@wardcast/client/react';
import { SseSocket } from '@wardcast/client/sse';
import type { DemoSession } from './session';
import { TestNotificationForm } from './test-notification-form';

/** The socket's URL on the page's own origin (this runs in the browser only: the hook connects in an effect). */
const socketUrl = (path: string) => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;

/**
 * `?transport=sse` pins the Server-Sent Events fallback (to try it on a network that allows
 * WebSockets), `?transport=websocket` turns it off; otherwise WebSocket first, then SSE.
 */
function pinnedTransports(): { transports?: readonly ('websocket' | 'sse')[] } {
  const pinned = new URLSearchParams(location.search).get('transport');
  return pinned === 'sse' || pinned === 'websocket' ? { transports: [pinned] } : {};
}

function statusText(status: ClientStatus, latencyMs: number | undefined): string {
  switch (status.state) {
    case 'open':
      return latencyMs === undefined ? 'live' : `live · ${Math.round(latencyMs)} ms`;
    case 'reconnecting':
      return `reconnecting in ${Math.ceil(status.delayMs / 1000)} s`;
    default:
      return status.state;
  }
}

/** Title and text of any notification: test notifications carry `{ title, message }`. */
function describe(n: ClientNotification): { title: string; text: string } {
  const payload = (typeof n.payload === 'object' && n.payload !== null ? n.payload : {}) as Record<string, unknown>;
  const title = typeof payload.title === 'string' ? payload.title : n.kind.replace(/_/g, ' ');
  const text = typeof payload.message === 'string' ? payload.message : '';
  return { title, text };
}

/**
 * The user's live inbox: one connection (under StrictMode too). Each item's `read` and
 * `acknowledged` follow this tab, the user's other tabs and devices, and the HTTP inbox endpoints
 * (the hub relays their `receipt`s).
 */
export function Inbox({ session }: { session: DemoSession }) {
  const { notifications, unreadCount, status, latencyMs, error, markRead, markAllRead, ack } = useNotifications({
    url: () => socketUrl(session.wsPath),
    token: session.token,
    topics: [`user:${session.userId}`],
    maxItems: 50,
    // Where WebSockets are blocked: the same hub over SSE, found next to the socket
    // (ws://host/v1/ws/notifications -> http://host/v1/sse/notifications, see src/server.ts).
    SSE: SseSocket,
    ...pinnedTransports(),
  });

  return (
    <div className="columns">
      <section className="card inbox" aria-label="Inbox">
        <header className="inbox-head">
          <h2>
            Inbox{' '}
            <span className={unreadCount > 0 ? 'badge' : 'badge zero'} data-testid="unread" data-count={unreadCount}>
              {unreadCount} unread
            </span>
          </h2>
          <span className={`status ${status.state}`} data-testid="status" data-state={status.state}>
            {statusText(status, latencyMs)}
          </span>
        </header>
        {error && (
          <p className="error" role="alert">
            {error.code}: {error.message}
          </p>
        )}
        {notifications.length === 0 ? (
          <p className="empty">No notifications yet. Send yourself one, or open a second tab and send it from there.</p>
        ) : (
          <>
            <button type="button" className="link" onClick={markAllRead} disabled={unreadCount === 0}>
              Mark all read
            </button>
            <ul className="items">
              {notifications.map((n) => {
                const { title, text } = describe(n);
                return (
                  <li
                    key={`${n.topic}/${n.id}`}
                    className={`item ${n.priority}${n.read ? ' read' : ''}`}
                    data-id={n.id}
                    data-priority={n.priority}
                  >
                    <div>
                      <strong>{title}</strong>
                      {text && <p>{text}</p>}
                      <small>
                        {n.priority} · {new Date(n.createdAt).toLocaleTimeString()}
                      </small>
                    </div>
                    <div className="actions">
                      {!n.read && (
                        <button type="button" onClick={() => markRead(n.id)}>
                          Mark read
                        </button>
                      )}
                      {n.priority === 'critical' &&
                        (n.acknowledged ? (
                          <small>acknowledged</small>
                        ) : (
                          <button type="button" className="ack" disabled={n.ackPending} onClick={() => ack(n.id)}>
                            Acknowledge
                          </button>
                        ))}
                    </div>
                  </li>
                );
              })}
            </ul>
          </>
        )}
      </section>
      <TestNotificationForm userId={session.userId} token={session.token} />
    </div>
  );
}
