import type { HubCore } from '../core/hub-core.js';
import { requirePrincipal } from './auth.js';
import { ok } from './errors.js';
import type { HttpRequestLike, HttpResult } from './types.js';

/**
 * `GET /v1/ws/stats`: the seed product's shape, `{ success: true, data: { connected_clients, ...,
 * status } }`, `status` `'closed'` once `close()` was called, `'degraded'` while the broker or
 * history store is (`hub.health()`), else `'active'`. Counts only: no user ids, topics names,
 * tokens or payloads.
 */
export async function statsRoute(
  hub: HubCore,
  req: HttpRequestLike,
  mode: 'public' | 'authenticated',
): Promise<HttpResult> {
  if (mode === 'authenticated') await requirePrincipal(hub, req);
  const s = hub.stats();
  return ok({
    connected_clients: s.connections,
    authenticated_clients: s.authenticatedConnections,
    users: s.users,
    topics: s.topics,
    subscriptions: s.subscriptions,
    deliveries: s.deliveries,
    published: s.published,
    uptime_ms: s.uptimeMs,
    status: hub.closed ? 'closed' : hub.health().ready ? 'active' : 'degraded',
  });
}
