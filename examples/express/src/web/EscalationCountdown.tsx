import { formatCountdown } from './describe.js';
import { nameOf, useDirectory } from './directory.js';
import { useEscalation } from './use-escalation.js';
import { useNow } from './use-now.js';

interface Props {
  readonly userId: string;
  readonly id: string;
  readonly title: string;
  readonly acknowledged: boolean;
  readonly onAck: () => void;
}

/** The Acknowledge button of a critical item, and the time left before it escalates. */
export function EscalationCountdown({ userId, id, title, acknowledged, onAck }: Props) {
  const directory = useDirectory();
  const state = useEscalation(userId, id, acknowledged);
  const done = acknowledged || (state !== undefined && state.status !== 'pending');
  const now = useNow(!done);

  if (acknowledged || state?.status === 'acknowledged') {
    const by =
      state?.acknowledged_by && state.acknowledged_by !== userId
        ? ` by ${nameOf(directory, state.acknowledged_by)}`
        : '';
    return (
      <p className="escalation escalation-done" data-testid="escalation">
        ✓ Acknowledged{by}
      </p>
    );
  }
  const left = state ? Date.parse(state.deadline) - now : undefined;
  let status = 'Checking escalation…';
  if (state?.status === 'unacknowledged') status = 'Unacknowledged: escalation chain exhausted';
  else if (state && left !== undefined) {
    status = state.next_user
      ? `Escalates to ${nameOf(directory, state.next_user)} in ${formatCountdown(left)}`
      : `Final step: ${formatCountdown(left)} left`;
    if (state.current_user && state.current_user !== userId) {
      status = `Escalated to ${nameOf(directory, state.current_user)} · ${status}`;
    }
  }
  return (
    <div className="escalation" data-testid="escalation">
      <button type="button" className="btn btn-critical" onClick={onAck} aria-label={`Acknowledge ${title}`}>
        Acknowledge
      </button>
      <span className="countdown" data-testid="countdown" data-ms-left={left === undefined ? '' : Math.max(0, left)}>
        {status}
      </span>
    </div>
  );
}
