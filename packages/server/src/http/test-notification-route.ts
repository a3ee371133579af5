import { ErrorCode } from '@wardcast/protocol';
import type { HubCore } from '../core/hub-core.js';
import type { Logger } from '../core/logger.js';
import { requireAllowedOrigin, requirePrincipal } from './auth.js';
import { jsonBody } from './body.js';
import { badRequest, HttpError, ok } from './errors.js';
import { testNotificationBody } from './schemas.js';
import type { CanSendTestTo, HttpRequestLike, HttpResult } from './types.js';

/**
 * `POST /v1/ws/test-notification` `{ user_id?, title, message, priority? }`: publishes a `custom`
 * notification with payload `{ title, message }` to `user:<user_id>` (the caller's own topic when
 * `user_id` is omitted). Callers may target themselves, others only when `canSendTestTo` returns `true`.
 */
export async function testNotificationRoute(
  hub: HubCore,
  req: HttpRequestLike,
  options: {
    readonly maxBodyBytes: number;
    readonly canSendTestTo: CanSendTestTo | undefined;
    readonly logger: Logger;
  },
): Promise<HttpResult> {
  requireAllowedOrigin(hub, req);
  const principal = await requirePrincipal(hub, req);
  const body = await jsonBody(req, options.maxBodyBytes);
  const parsed = testNotificationBody.safeParse(body);
  if (!parsed.success) throw badRequest('body', parsed.error, body);
  const { user_id: userId = principal.userId, title, message, priority = 'routine' } = parsed.data;
  if (userId !== principal.userId) {
    let allowed = false;
    try {
      allowed = (await options.canSendTestTo?.(principal, userId)) === true;
    } catch (err) {
      options.logger.warn({ err }, 'wardcast: canSendTestTo threw; denying');
    }
    if (!allowed) throw new HttpError(403, ErrorCode.Forbidden, 'you may only send test notifications to yourself');
  }
  const topic = `user:${userId}`;
  const result = await hub.publish(topic, { kind: 'custom', priority, payload: { title, message } });
  return ok({ topic, ...result });
}
