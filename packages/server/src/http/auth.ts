import { ErrorCode } from '@wardcast/protocol';
import type { HubCore } from '../core/hub-core.js';
import type { Principal, UpgradeRequestLike } from '../core/types.js';
import { HttpError } from './errors.js';
import type { HttpRequestLike } from './types.js';

/** The token of an `Authorization: Bearer <token>` header, if there is one. */
export function bearerToken(header: string | readonly string[] | undefined): string | undefined {
  const value = typeof header === 'string' ? header : header?.[0];
  const match = value === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value);
  return match?.[1];
}

function requestOf(req: HttpRequestLike): UpgradeRequestLike {
  return { headers: req.headers, url: req.url, remoteAddress: req.remoteAddress };
}

/**
 * The caller, through the hub's own `authenticate` (`reauthenticate: false`, the bearer token, if
 * any, as `token`, so header, cookie and token schemes all work as for WebSockets).
 *
 * @throws {HttpError} 401 `unauthorized` when `authenticate` rejects (or throws).
 */
export async function requirePrincipal(hub: HubCore, req: HttpRequestLike): Promise<Principal> {
  const principal = await hub.authenticateRequest(requestOf(req), bearerToken(req.headers.authorization));
  if (!principal) {
    throw new HttpError(401, ErrorCode.Unauthorized, 'authentication required', { 'www-authenticate': 'Bearer' });
  }
  return principal;
}

/**
 * Refuses a state-changing request from a browser origin the hub's `allowedOrigins` refuses
 * (requests without `Origin`, from servers and native apps, pass by default), so a cookie-based
 * `authenticate` cannot be ridden by another site (CSRF).
 *
 * @throws {HttpError} 403 `forbidden`.
 */
export function requireAllowedOrigin(hub: HubCore, req: HttpRequestLike): void {
  if (!hub.checkOrigin(requestOf(req))) throw new HttpError(403, ErrorCode.Forbidden, 'origin not allowed');
}
