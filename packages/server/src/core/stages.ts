import type { EscalationManager } from '../escalation/manager.js';
import { type InboxStore, userOfTopic } from '../inbox/types.js';
import type { PublishStage } from './publish-pipeline.js';

/** The inbox row of a notification to `user:<id>`, committed before anyone receives it. */
export function inboxStage(inbox: InboxStore): PublishStage {
  return {
    name: 'inbox',
    async run(n) {
      const userId = userOfTopic(n.topic);
      if (userId !== undefined) await inbox.record(userId, n);
    },
    async revert(n) {
      const userId = userOfTopic(n.topic);
      if (userId !== undefined) await inbox.forget?.(userId, n);
    },
  };
}

/** The escalation of a critical notification with a policy, registered (durably) before anyone can ack it. */
export function escalationStage(manager: EscalationManager): PublishStage {
  return {
    name: 'escalation',
    async run(n, { escalation }) {
      if (escalation) await manager.start(n, escalation);
    },
    async revert(n, { escalation }) {
      if (escalation) await manager.cancel(n.id);
    },
  };
}
