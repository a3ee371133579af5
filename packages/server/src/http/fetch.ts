import { ErrorCode } from '@wardcast/protocol';
import type { HubCore } from '../core/hub-core.js';
import { createSseFetchHandler } from '../sse/fetch.js';
import { readWebBody } from './body.js';
import { createHttpCore, type HttpCore } from './core.js';
import { failure } from './errors.js';
import type { HttpHandlerOptions, HttpResult } from './types.js';

/**
 * The Wardcast HTTP endpoints as a Fetch API handler, for Next.js route handlers, Hono, Bun,
 * Deno or any `(Request) => Response` runtime. Paths that are not Wardcast endpoints (or are
 * disabled) get a 404 JSON answer.
 *
 * In Next.js, serve it under `/api` (`basePath: '/api'`) from a route such as
 * `app/api/v1/[...wardcast]/route.ts`, never on a route that covers the hub's WebSocket path:
 * Next.js ends upgrades whose path matches an app route (see docs/nextjs.md). Create it in the
 * custom server, next to the hub, and hand it to the route handler through `globalThis`.
 *
 * @example
 * ```ts
 * // server.ts (the Next.js custom server)
 * const api = createFetchHandler(hub, { basePath: '/api' });
 * Object.assign(globalThis, { wardcastApi: api });
 * ```
 *
 * @category HTTP endpoints
 */
export function createFetchHandler(
  hub: HubCore,
  options: HttpHandlerOptions = {},
): (request: Request) => Promise<Response> {
  const handler = fetchHandlerOf(createHttpCore(hub, options));
  if (options.sse === false) return handler;
  // The SSE transport (`/v1/sse/notifications`): streams, not JSON results, so it is served first.
  const sse = createSseFetchHandler(hub, (options.basePath ?? '').replace(/\/+$/, ''));
  return async (request) => (await sse(request)) ?? handler(request);
}

/** Adapts any {@link HttpCore} to a Fetch API handler; paths it does not own get a 404 JSON answer. */
export function fetchHandlerOf(core: HttpCore): (request: Request) => Promise<Response> {
  return async (request) => {
    const url = new URL(request.url);
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const result =
      (await core.handle({
        method: request.method,
        url: `${url.pathname}${url.search}`,
        headers,
        readBody: (maxBytes) => readWebBody(request, maxBytes),
      })) ?? failure(404, ErrorCode.NotFound, 'not found');
    return toResponse(result);
  };
}

function toResponse(result: HttpResult): Response {
  return new Response(JSON.stringify(result.body), { status: result.status, headers: { ...result.headers } });
}
