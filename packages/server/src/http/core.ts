import { ErrorCode, WardcastError } from '@wardcast/protocol';
import type { HubCore } from '../core/hub-core.js';
import { silentLogger } from '../core/logger.js';
import { dispatch } from './dispatch.js';
import { internalError, resultOf } from './errors.js';
import { LIVE_PATH, liveRoute, READY_PATH, readyRoute } from './health-routes.js';
import { listInboxRoute, receiptRoute } from './inbox-routes.js';
import { statsRoute } from './stats-route.js';
import { testNotificationRoute } from './test-notification-route.js';
import { DEFAULT_MAX_BODY_BYTES, type HttpHandlerOptions, type HttpRequestLike, type HttpResult } from './types.js';

/**
 * The one implementation behind every HTTP adapter: routes a framework-neutral request to the
 * Wardcast endpoints.
 *
 * @example
 * ```ts
 * const core: HttpCore = createHttpCore(hub);
 * const result = await core.handle({ method: 'GET', url: '/v1/notifications?limit=5', headers: req.headers });
 * if (result === undefined) return next();
 * ```
 *
 * @category HTTP endpoints
 */
export interface HttpCore {
  /**
   * Answers a request, or resolves `undefined` when its path is not a Wardcast endpoint (or is
   * a disabled one), so the adapter can pass it on. Never rejects.
   */
  handle(req: HttpRequestLike): Promise<HttpResult | undefined>;
}

type Route = (() => Promise<HttpResult>) | undefined;

const RECEIPT_PATH = /^\/v1\/notifications\/([^/]+)\/(read|ack)$/;

/**
 * Builds the framework-neutral core of the HTTP endpoints. Use it to write an adapter for
 * another framework; {@link createFetchHandler}, {@link createNodeHandler} and
 * {@link createExpressRouter} are built on it.
 *
 * Endpoints: `GET /v1/health/live` and `GET /v1/health/ready` (no authentication; off with
 * `health: false`), `GET /v1/ws/stats`, `POST /v1/ws/test-notification` (off unless
 * `enableTestNotifications`), and, when the hub has an `inbox`, `GET /v1/notifications`,
 * `POST /v1/notifications/:id/read` and `POST /v1/notifications/:id/ack`.
 *
 * @throws {WardcastError} `invalid_option` for a `maxBodyBytes` that is not a positive integer
 * or a `basePath` that does not start with `/`.
 *
 * @example
 * ```ts
 * const core = createHttpCore(hub, { enableTestNotifications: true });
 * const result = await core.handle({ method: 'GET', url: '/v1/ws/stats', headers: {} });
 * // result: { status: 200, headers: {...}, body: { success: true, data: { connected_clients: 0, ... } } }
 * ```
 *
 * @category HTTP endpoints
 */
export function createHttpCore(hub: HubCore, options: HttpHandlerOptions = {}): HttpCore {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1) {
    throw new WardcastError(ErrorCode.InvalidOption, 'maxBodyBytes must be an integer >= 1');
  }
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  if (basePath !== '' && !basePath.startsWith('/')) {
    throw new WardcastError(ErrorCode.InvalidOption, "basePath must start with '/'");
  }
  const stats = options.stats ?? 'public';
  const logger = options.logger ?? silentLogger;
  const testOptions = { maxBodyBytes, canSendTestTo: options.canSendTestTo, logger };

  /** The methods a path answers, each with its handler; `undefined` when the path is not ours. */
  const routesOf = (req: HttpRequestLike, path: string, query: URLSearchParams): Record<string, Route> | undefined => {
    if (path === LIVE_PATH || path === READY_PATH) {
      if (options.health === false) return undefined;
      const route = path === LIVE_PATH ? () => liveRoute(hub) : () => readyRoute(hub);
      return { GET: route, HEAD: route };
    }
    if (path === '/v1/ws/stats') {
      return stats === 'off' ? undefined : { GET: () => statsRoute(hub, req, stats) };
    }
    if (path === '/v1/ws/test-notification') {
      return options.enableTestNotifications === true
        ? { POST: () => testNotificationRoute(hub, req, testOptions) }
        : undefined;
    }
    const inbox = hub.inbox;
    if (!inbox) return undefined;
    if (path === '/v1/notifications') return { GET: () => listInboxRoute(hub, inbox, req, query) };
    const receipt = RECEIPT_PATH.exec(path);
    if (receipt) {
      const [, id = '', action] = receipt;
      return { POST: () => receiptRoute(hub, req, id, action === 'ack' ? 'ack' : 'read') };
    }
    return undefined;
  };

  return {
    async handle(req) {
      let url: URL;
      try {
        url = new URL(req.url, 'http://localhost');
      } catch {
        return undefined;
      }
      if (basePath !== '' && !url.pathname.startsWith(`${basePath}/`)) return undefined;
      const path = url.pathname.slice(basePath.length);
      const routes = routesOf(req, path, url.searchParams);
      if (!routes) return undefined;
      // Logged as the route, not the path: a notification id in the path is request data.
      const route = path.replace(RECEIPT_PATH, '/v1/notifications/:id/$2');
      return dispatch(routes, req.method, (err, method) => {
        const result = resultOf(err);
        if (result && result.status >= 500) logger.warn({ err, method, route }, 'wardcast: HTTP endpoint unavailable');
        if (result) return result;
        logger.error({ err, method, route }, 'wardcast: HTTP endpoint failed');
        return internalError();
      });
    },
  };
}
