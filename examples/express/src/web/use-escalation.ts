import { useEffect, useState } from 'react';
import { type EscalationState, fetchEscalation } from './api.js';

/**
 * Where a critical item's escalation stands, from the server's escalation store: fetched at
 * once, again every few seconds while it is pending (another clinician may acknowledge it), and
 * right after the deadline passes (the hub has moved it to the next clinician).
 */
export function useEscalation(userId: string, id: string, acknowledgedHere: boolean): EscalationState | undefined {
  const [state, setState] = useState<EscalationState>();
  const pending = state === undefined || state.status === 'pending';
  const deadline = state?.deadline;

  // biome-ignore lint/correctness/useExhaustiveDependencies: refetch when the local ack or the step changes.
  useEffect(() => {
    if (!pending) return;
    let alive = true;
    const load = () =>
      fetchEscalation(userId, id).then(
        (s) => alive && setState(s),
        () => {},
      );
    void load();
    const poll = setInterval(load, 5_000);
    const due = deadline ? Date.parse(deadline) - Date.now() + 300 : Number.NaN;
    const atDeadline = due > 0 ? setTimeout(load, due) : undefined;
    return () => {
      alive = false;
      clearInterval(poll);
      clearTimeout(atDeadline);
    };
  }, [userId, id, pending, deadline, acknowledgedHere]);

  return state;
}
