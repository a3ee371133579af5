/** Payloads of stored notifications reduced to what a principal may see, for endpoints outside a WebSocket. */
import type { PhiLevel } from '@wardcast/protocol';
import type { KindRegistry } from '../kinds/kind-registry.js';
import type { Logger } from './logger.js';
import type { PhiPolicy, Principal, StoredNotification } from './types.js';

/**
 * The payloads of `notifications` as `principal` may see them: each reduced to the level `policy`
 * grants on its topic (`full` without a policy, `empty` when it throws or answers anything else),
 * the policy asked once per topic. See `HubCore.visiblePayloads`.
 */
export async function payloadViews(
  phiLevel: PhiPolicy | undefined,
  kinds: KindRegistry,
  logger: Logger,
  principal: Principal,
  notifications: readonly StoredNotification[],
): Promise<{ readonly payload: unknown; readonly phi: PhiLevel }[]> {
  const policy = phiLevel ?? (() => 'full' as const);
  const levels = new Map<string, PhiLevel>();
  const out: { payload: unknown; phi: PhiLevel }[] = [];
  for (const n of notifications) {
    let level = levels.get(n.topic);
    if (level === undefined) {
      try {
        level = await policy(principal, n.topic);
      } catch (cause) {
        logger.warn({ topic: n.topic, err: cause }, 'wardcast: phiLevel threw; using empty');
        level = 'empty';
      }
      if (level !== 'full' && level !== 'id-only') level = 'empty';
      levels.set(n.topic, level);
    }
    out.push({ payload: level === 'full' ? n.payload : kinds.redact(n.kind, n.payload, level), phi: level });
  }
  return out;
}
