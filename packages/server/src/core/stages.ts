import type { EscalationManager } from '../escalation/manager.js';
import { type InboxStore, userOfTopic } from '../inbox/types.js';
import type { PublishStage } from './publish-pipeline.js';

// The stages return what their store returns (nothing, or a promise) instead of being `async`:
// a stage with nothing to do, or a synchronous store, does not make the publish wait a turn.

/** The inbox row of a notification to `user:<id>`, committed before anyone receives it. */
export function inboxStage(inbox: InboxStore): PublishStage {
  return {
    name: 'inbox',
    applies: (draft) => userOfTopic(draft.topic) !== undefined,
    run(n) {
      const userId = userOfTopic(n.topic);
      return userId === undefined ? undefined : inbox.record(userId, n);
    },
    revert(n) {
      const userId = userOfTopic(n.topic);
      return userId === undefined ? undefined : inbox.forget?.(userId, n);
    },
  };
}

/** The escalation of a critical notification with a policy, registered (durably) before anyone can ack it. */
export function escalationStage(manager: EscalationManager): PublishStage {
  return {
    name: 'escalation',
    applies: (_draft, { escalation }) => escalation !== undefined,
    run(n, { escalation }) {
      return escalation ? manager.start(n, escalation) : undefined;
    },
    revert(n, { escalation }) {
      return escalation ? manager.cancel(n.id) : undefined;
    },
  };
}
