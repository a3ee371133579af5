import type { OriginCheck, UpgradeRequestLike } from './types.js';

function header(request: UpgradeRequestLike, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : (value as string | undefined);
}

/**
 * Applies the `allowedOrigins` policy to an upgrade request. A request without an `Origin`
 * header is not from a browser and passes (it must still authenticate). With no policy, only
 * the same origin passes: `Origin`'s host must equal the `Host` header.
 */
export function checkOrigin(policy: readonly string[] | OriginCheck | undefined, request: UpgradeRequestLike): boolean {
  const origin = header(request, 'origin');
  if (typeof policy === 'function') return policy(origin, request) === true;
  if (origin === undefined) return true;
  if (policy === undefined) {
    const host = header(request, 'host');
    if (host === undefined) return false;
    try {
      const url = new URL(origin);
      const defaultPort = url.protocol === 'https:' ? ':443' : url.protocol === 'http:' ? ':80' : undefined;
      const normalized = host.toLowerCase();
      const hostOnly =
        defaultPort && normalized.endsWith(defaultPort) ? normalized.slice(0, -defaultPort.length) : normalized;
      return url.host === hostOnly;
    } catch {
      return false;
    }
  }
  return policy.includes(origin);
}
