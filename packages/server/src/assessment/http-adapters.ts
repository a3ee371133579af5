import { fetchHandlerOf } from '../http/fetch.js';
import { type NodeHandler, nodeHandlerOf } from '../http/node.js';
import { type AssessmentHttpOptions, createAssessmentHttpCore } from './http.js';
import type { AssessmentPipeline } from './model.js';

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
 *
 * @category HTTP endpoints
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
 *
 * @category HTTP endpoints
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
 *
 * @category HTTP endpoints
 */
export function createAssessmentFetchHandler(
  pipeline: AssessmentPipeline,
  options: AssessmentHttpOptions = {},
): (request: Request) => Promise<Response> {
  return fetchHandlerOf(createAssessmentHttpCore(pipeline, options));
}
