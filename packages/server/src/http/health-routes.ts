import { ErrorCode } from '@wardcast/protocol';
import type { HubCore } from '../core/hub-core.js';
import { failure, ok } from './errors.js';
import type { HttpResult } from './types.js';

/** Path of the liveness endpoint (after `basePath`). */
export const LIVE_PATH = '/v1/health/live';
/** Path of the readiness endpoint (after `basePath`). */
export const READY_PATH = '/v1/health/ready';

/**
 * `GET /v1/health/live`: 200 `{ live: true, status }` whenever the process can answer at all,
 * whatever the state of Redis or shutdown (`status` is `hub.health().status`, for information).
 * Restarting the process would not bring Redis back, so liveness never fails on a dependency.
 */
export async function liveRoute(hub: HubCore): Promise<HttpResult> {
  return ok({ live: true, status: hub.health().status });
}

/**
 * `GET /v1/health/ready`: 200 `{ ready: true, status, checks }` when `hub.health().ready`; else
 * 503 `{ success: false, error: { code: 'not_ready', message, status, failing, checks } }`, naming
 * what failed. States only: no ids, tokens or payloads, so it needs no authentication.
 */
export async function readyRoute(hub: HubCore): Promise<HttpResult> {
  const { ready, status, checks, failing } = hub.health();
  if (ready) return ok({ ready, status, checks });
  const reasons = failing.map((name) => (name === 'shutdown' ? 'shutting down' : `${name} degraded`));
  const message = `not ready: ${reasons.join(', ')}`;
  const { status: httpStatus, headers } = failure(503, ErrorCode.NotReady, message);
  return {
    status: httpStatus,
    headers,
    body: { success: false, error: { code: ErrorCode.NotReady, message, status, failing, checks } },
  };
}
