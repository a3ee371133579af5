import type { Logger } from './logger.js';
import type { OriginCheck } from './types.js';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The `http://` entries of an `allowedOrigins` list other than localhost, `127.0.0.1` and
 * `[::1]`: pages served without TLS, whose cookies and tokens cross the network in clear.
 */
export function insecureOrigins(allowed: readonly string[] | OriginCheck | undefined): string[] {
  if (!Array.isArray(allowed)) return [];
  return allowed.filter((origin) => {
    if (typeof origin !== 'string' || !origin.toLowerCase().startsWith('http://')) return false;
    try {
      return !LOCAL_HOSTS.has(new URL(origin).hostname);
    } catch {
      return true;
    }
  });
}

/**
 * Logs one `warn` at construction when, with `NODE_ENV=production`, `allowedOrigins` lists
 * `http://` origins other than localhost: in production pages should be served over HTTPS (TLS
 * may end at a proxy in front of the hub; the origin is what the browser shows).
 */
export function warnInsecureOrigins(
  allowed: readonly string[] | OriginCheck | undefined,
  logger: Logger,
  env: string | undefined = globalThis.process?.env?.NODE_ENV,
): void {
  if (env !== 'production') return;
  const origins = insecureOrigins(allowed);
  if (origins.length === 0) return;
  logger.warn(
    { origins },
    'wardcast: allowedOrigins lists http:// origins in production; serve those pages over https (TLS may end at your proxy)',
  );
}
