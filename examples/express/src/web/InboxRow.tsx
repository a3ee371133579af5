import { describe, formatTime } from './describe.js';
import { EscalationCountdown } from './EscalationCountdown.js';
import type { InboxItem } from './types.js';

interface Props {
  readonly userId: string;
  readonly item: InboxItem;
  readonly onRead: (id: string) => void;
  readonly onAck: (id: string) => void;
}

/** One notification: headline, detail, time, read state, and for critical ones the acknowledgement. */
export function InboxRow({ userId, item, onRead, onAck }: Props) {
  const { title, detail } = describe(item);
  const critical = item.priority === 'critical';
  const classes = ['inbox-item', `priority-${item.priority}`, item.read ? 'is-read' : 'is-unread'].join(' ');
  return (
    <li className={classes} data-id={item.id} data-testid="inbox-item">
      <div className="inbox-item-head">
        <span className="dot" aria-hidden="true" />
        <strong className="inbox-title">{title}</strong>
        {item.priority !== 'routine' && <span className={`tag tag-${item.priority}`}>{item.priority}</span>}
        <time dateTime={item.createdAt}>{formatTime(item.createdAt)}</time>
      </div>
      {detail && <p className="inbox-detail">{detail}</p>}
      <div className="inbox-actions">
        {item.read ? (
          <span className="read-state">Read</span>
        ) : (
          <button
            type="button"
            className="btn btn-quiet"
            onClick={() => onRead(item.id)}
            aria-label={`Mark ${title} as read`}
          >
            Mark read
          </button>
        )}
      </div>
      {critical && item.kind === 'lab_result' && (
        <EscalationCountdown
          userId={userId}
          id={item.id}
          title={title}
          acknowledged={item.acknowledged}
          onAck={() => onAck(item.id)}
        />
      )}
    </li>
  );
}
