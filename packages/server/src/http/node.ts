import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '@wardcast/protocol';
import type { HubCore } from '../core/hub-core.js';
import { createSseNodeHandler } from '../sse/node.js';
import { readNodeBody } from './body.js';
import { createHttpCore, type HttpCore } from './core.js';
import { failure } from './errors.js';
import type { HttpHandlerOptions, HttpResult } from './types.js';

/**
 * A Node.js request as the handler reads it: `body` and `originalUrl` are filled in by Express
 * (a body already parsed by `express.json()` is used as is).
 *
 * @example
 * ```ts
 * const handler = createNodeHandler(hub);
 * createServer((req: NodeRequest, res) => handler(req, res));
 * ```
 *
 * @category HTTP endpoints
 */
export type NodeRequest = IncomingMessage & { readonly body?: unknown; readonly originalUrl?: string };

/**
 * A Node.js `(req, res, next?)` handler: answers Wardcast endpoints, and calls `next()` for
 * other paths (or answers 404 when there is no `next`).
 *
 * @example
 * ```ts
 * const wardcast: NodeHandler = createNodeHandler(hub);
 * server.on('request', (req, res) => wardcast(req, res, () => app(req, res)));
 * ```
 *
 * @category HTTP endpoints
 */
export type NodeHandler = (req: NodeRequest, res: ServerResponse, next?: (err?: unknown) => void) => void;

/**
 * The Wardcast HTTP endpoints as a Node.js handler, for `http.createServer`, Connect-style
 * middleware stacks, or Fastify's `app.server`.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createNodeHandler, MemoryInbox, NotificationHub } from '@wardcast/server';
 *
 * const hub = new NotificationHub({ authenticate, inbox: new MemoryInbox() });
 * const wardcast = createNodeHandler(hub);
 * const server = createServer((req, res) =>
 *   wardcast(req, res, () => {
 *     res.statusCode = 404; // your other routes
 *     res.end();
 *   }),
 * );
 * hub.attach(server);
 * ```
 *
 * @category HTTP endpoints
 */
export function createNodeHandler(hub: HubCore, options: HttpHandlerOptions = {}): NodeHandler {
  const handler = nodeHandlerOf(createHttpCore(hub, options));
  if (options.sse === false) return handler;
  // The SSE transport (`/v1/sse/notifications`): streams, not JSON results, so it is served before the core.
  const sse = createSseNodeHandler(hub, (options.basePath ?? '').replace(/\/+$/, ''));
  return (req, res, next) => {
    if (!sse(req, res)) handler(req, res, next);
  };
}

/** Adapts any {@link HttpCore} (the `/v1` endpoints, the assessment endpoints) to a Node handler. */
export function nodeHandlerOf(core: HttpCore): NodeHandler {
  return (req, res, next) => {
    void core
      .handle({
        method: req.method ?? 'GET',
        url: req.originalUrl ?? req.url ?? '/',
        headers: req.headers,
        remoteAddress: req.socket?.remoteAddress,
        body: req.body,
        readBody: (maxBytes) => readNodeBody(req, maxBytes),
      })
      .then((result) => {
        if (result) write(res, result);
        else if (next) next();
        else write(res, failure(404, ErrorCode.NotFound, 'not found'));
      })
      .catch((err: unknown) => {
        if (next) next(err);
        else res.destroy();
      });
  };
}

function write(res: ServerResponse, result: HttpResult): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(result.body);
  res.writeHead(result.status, { ...result.headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}
