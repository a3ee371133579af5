import type { ServerResponse } from 'node:http';
import { ErrorCode } from '@wardcast/protocol';
import { readNodeBody, readWebBody } from '../http/body.js';
import type { HttpCore } from '../http/core.js';
import { failure } from '../http/errors.js';
import type { NodeHandler } from '../http/node.js';
import type { HttpResult } from '../http/types.js';
import { type AssessmentHttpOptions, createAssessmentHttpCore } from './http.js';
import type { AssessmentPipeline } from './model.js';

function write(res: ServerResponse, result: HttpResult): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(result.body);
  res.writeHead(result.status, { ...result.headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

function nodeHandlerOf(core: HttpCore): NodeHandler {
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

/**
 * The assessment endpoints (see {@link createAssessmentHttpCore}) as a Node.js
 * `(req, res, next?)` handler: other paths go to `next()` (or get a 404 without `next`).
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * const assess = createAssessmentNodeHandler(pipeline);
 * const server = createServer((req, res) => assess(req, res, () => res.writeHead(404).end()));
 * hub.attach(server);
 * ```
 */
export function createAssessmentNodeHandler(
  pipeline: AssessmentPipeline,
  options: AssessmentHttpOptions = {},
): NodeHandler {
  return nodeHandlerOf(createAssessmentHttpCore(pipeline, options));
}

/**
 * The assessment endpoints as Express middleware (Express 4 and 5; Express is not imported):
 * mount it with `app.use(...)` without a path; paths are matched on `req.originalUrl`. A body
 * parsed by an earlier `express.json()` is used as is.
 *
 * @example
 * ```ts
 * app.use(express.json({ limit: '64kb' }));
 * app.use(createAssessmentExpressRouter(pipeline, { authorize: (p) => p.claims?.role === 'clinician' }));
 * ```
 */
export function createAssessmentExpressRouter(
  pipeline: AssessmentPipeline,
  options: AssessmentHttpOptions = {},
): NodeHandler {
  return createAssessmentNodeHandler(pipeline, options);
}

/**
 * The assessment endpoints as a Fetch API handler (Next.js route handlers, Hono, Bun, Deno).
 * Other paths get a 404 JSON answer.
 *
 * @example
 * ```ts
 * // app/api/assess/[[...rest]]/route.ts
 * const handler = createAssessmentFetchHandler(getPipeline());
 * export { handler as GET, handler as POST };
 * ```
 */
export function createAssessmentFetchHandler(
  pipeline: AssessmentPipeline,
  options: AssessmentHttpOptions = {},
): (request: Request) => Promise<Response> {
  const core = createAssessmentHttpCore(pipeline, options);
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
    return new Response(JSON.stringify(result.body), { status: result.status, headers: { ...result.headers } });
  };
}
