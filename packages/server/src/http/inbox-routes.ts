import { ErrorCode, isWardcastError, WardcastError } from '@wardcast/protocol';
import type { HubCore } from '../core/hub-core.js';
import type { InboxEntry, InboxPage, InboxStore } from '../inbox/types.js';
import { requireAllowedOrigin, requirePrincipal } from './auth.js';
import { badRequest, HttpError, ok } from './errors.js';
import { inboxQuery, notificationId } from './schemas.js';
import type { HttpRequestLike, HttpResult } from './types.js';

/** Default and largest page size of `GET /v1/notifications`. */
const INBOX_PAGE = { defaultLimit: 20, maxLimit: 100 } as const;

/**
 * `GET /v1/notifications?cursor=&limit=`: the caller's inbox, newest first, each payload reduced
 * to the `phiLevel` the hub grants the caller on the topic.
 */
export async function listInboxRoute(
  hub: HubCore,
  inbox: InboxStore,
  req: HttpRequestLike,
  query: URLSearchParams,
): Promise<HttpResult> {
  const principal = await requirePrincipal(hub, req);
  const raw = { cursor: query.get('cursor') ?? undefined, limit: query.get('limit') ?? undefined };
  const parsed = inboxQuery.safeParse(raw);
  if (!parsed.success) throw badRequest('query', parsed.error, raw);
  const { cursor, limit = INBOX_PAGE.defaultLimit } = parsed.data;
  let page: InboxPage;
  try {
    page = await inbox.list(principal.userId, cursor === undefined ? { limit } : { cursor, limit });
  } catch (cause) {
    if (isWardcastError(cause)) throw cause;
    throw new WardcastError(ErrorCode.StoreUnavailable, 'inbox store failed', { cause });
  }
  const views = await hub.visiblePayloads(
    principal,
    page.items.map((e) => e.notification),
  );
  return ok({
    items: page.items.map((entry, i) => itemOf(entry, views[i])),
    next_cursor: page.nextCursor ?? null,
    unread_count: page.unreadCount,
  });
}

/**
 * `POST /v1/notifications/:id/read` and `/ack`: updates the caller's inbox and emits the hub's
 * `read`/`ack` event and audit record, as the WebSocket frames do.
 */
export async function receiptRoute(
  hub: HubCore,
  req: HttpRequestLike,
  rawId: string,
  action: 'read' | 'ack',
): Promise<HttpResult> {
  requireAllowedOrigin(hub, req);
  const principal = await requirePrincipal(hub, req);
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawId);
  } catch {
    throw new HttpError(400, ErrorCode.BadRequest, 'invalid notification id');
  }
  const parsed = notificationId.safeParse(decoded);
  if (!parsed.success) throw badRequest('notification id', parsed.error, decoded);
  const found = await hub.recordReceipt(principal.userId, parsed.data, action, { remoteAddress: req.remoteAddress });
  if (!found) throw new HttpError(404, ErrorCode.NotFound, 'no such notification in your inbox');
  return ok({ id: parsed.data, action });
}

function itemOf(entry: InboxEntry, view: { readonly payload: unknown; readonly phi: string } | undefined) {
  const n = entry.notification;
  return {
    id: n.id,
    topic: n.topic,
    kind: n.kind,
    priority: n.priority,
    created_at: n.createdAt,
    epoch: n.epoch,
    seq: n.seq,
    payload: view?.payload ?? null,
    phi: view?.phi ?? 'empty',
    read_at: entry.readAt ?? null,
    acknowledged_at: entry.acknowledgedAt ?? null,
  };
}
