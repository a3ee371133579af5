/** The unread notifications a subscription to a user's own topic gets from the inbox (offline replay). */
import type { HistoryStore } from '../history/types.js';
import type { InboxStore } from '../inbox/types.js';
import type { HubLimits } from './options.js';
import type { PublishPipeline } from './publish-pipeline.js';
import type { StoredNotification } from './types.js';

/** See {@link SessionHost.unreadReplay}. */
export async function unreadReplay(
  inbox: InboxStore | undefined,
  history: HistoryStore,
  pipeline: PublishPipeline,
  limits: Readonly<Required<HubLimits>>,
  userId: string,
  topic: string,
): Promise<readonly StoredNotification[] | undefined> {
  if (!inbox) return undefined;
  // A store without two-phase commit shows an append before its inbox row exists: wait for ours.
  if (!history.commit) await pipeline.settled(topic);
  const limit = limits.maxInboxReplay;
  if (inbox.unread) return inbox.unread(userId, limit);
  // A store without `unread`: scan at most `limit` entries, newest first.
  const out: StoredNotification[] = [];
  let cursor: string | undefined;
  for (let scanned = 0; scanned < limit; ) {
    const size = Math.min(100, limit - scanned);
    const page = await inbox.list(userId, cursor === undefined ? { limit: size } : { cursor, limit: size });
    for (const e of page.items) if (e.readAt === undefined) out.push(e.notification);
    scanned += page.items.length;
    cursor = page.nextCursor;
    if (cursor === undefined || page.items.length === 0) break;
  }
  return out.reverse();
}
