import { DemoControls } from './DemoControls.js';
import { InboxRow } from './InboxRow.js';
import type { DemoUser } from './types.js';
import type { Inbox } from './use-inbox.js';

/** The left column: the user's notifications, newest first, with the unread count. */
export function InboxPanel({ user, inbox }: { readonly user: DemoUser; readonly inbox: Inbox }) {
  return (
    <aside className="inbox" aria-labelledby="inbox-heading">
      <header className="inbox-header">
        <h2 id="inbox-heading">
          Inbox{' '}
          <span className="badge" data-testid="unread-badge" data-count={inbox.unread}>
            {inbox.unread}
          </span>
          <span className="sr-only"> unread</span>
        </h2>
        <button type="button" className="btn btn-quiet" onClick={inbox.markAllRead} disabled={inbox.unread === 0}>
          Mark all read
        </button>
      </header>
      <ul className="inbox-list" aria-live="polite" aria-relevant="additions" data-testid="inbox-list">
        {inbox.items.map((item) => (
          <InboxRow key={item.id} userId={user.id} item={item} onRead={inbox.markRead} onAck={inbox.ack} />
        ))}
      </ul>
      {inbox.loaded && inbox.items.length === 0 && (
        <p className="empty">Nothing new. Notifications appear here live.</p>
      )}
      <DemoControls user={user} />
    </aside>
  );
}
