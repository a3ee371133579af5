import type { ServerResponse } from 'node:http';
import type { HubCore } from '../core/hub-core.js';
import { readNodeBody } from '../http/body.js';
import { HttpError } from '../http/errors.js';
import type { NodeRequest } from '../http/node.js';
import type { SseSink } from './socket.js';
import { refusalAnswer, SSE_PATH, sseTransportOf } from './transport.js';

/**
 * Headers of an SSE stream: no caching, no proxy buffering (nginx honours `X-Accel-Buffering`).
 *
 * @category Hub
 */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
};

function refuse(res: ServerResponse, result: Parameters<typeof refusalAnswer>[0]): void {
  if (res.headersSent || res.destroyed) return;
  const { status, headers, body } = refusalAnswer(result);
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/** A Node response as an {@link SseSink}. */
function nodeSink(res: ServerResponse): SseSink {
  return {
    write(text, flushed) {
      if (res.destroyed || res.writableEnded) return;
      res.write(text, flushed && ((err) => err || flushed()));
    },
    end: () => res.end(),
    destroy: () => res.destroy(),
    get bufferedAmount() {
      return res.writableLength;
    },
  };
}

/** A body Express already parsed (`express.text()`, or `express.json()` for a JSON content type) as frame lines. */
function parsedBody(req: NodeRequest): string | undefined {
  // body-parser 1 flags what it parsed; body-parser 2 (Express 5) only leaves the stream read.
  if ((req as { _body?: boolean })._body !== true && !req.readableEnded) return undefined;
  const body = req.body;
  if (typeof body === 'string') return body;
  if (Array.isArray(body)) return body.map((frame) => JSON.stringify(frame)).join('\n');
  return body === undefined ? '' : JSON.stringify(body);
}

/**
 * The SSE endpoints of `hub` for a Node server (`GET <basePath>/v1/sse/notifications`, the
 * stream; `POST <basePath>/v1/sse/notifications/<id>`, the client's frames). Returns `false`
 * for any other path, so the caller passes the request on. Used by `createNodeHandler` and
 * `createExpressRouter` (on unless `sse: false`).
 *
 * @example
 * ```ts
 * const sse = createSseNodeHandler(hub);
 * const server = createServer((req, res) => {
 *   if (!sse(req, res)) yourApp(req, res);
 * });
 * hub.attach(server);
 * ```
 *
 * @category Hub
 */
export function createSseNodeHandler(hub: HubCore, basePath = ''): (req: NodeRequest, res: ServerResponse) => boolean {
  const transport = sseTransportOf(hub);
  const streamPath = `${basePath}${SSE_PATH}`;
  const framesPrefix = `${streamPath}/`;
  return (req, res) => {
    const url = req.originalUrl ?? req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const request = { headers: req.headers, url, remoteAddress: req.socket?.remoteAddress };
    if (path === streamPath) {
      if (req.method !== 'GET') {
        refuse(res, { status: 405, code: 'method_not_allowed', message: 'method not allowed here; use GET' });
        return true;
      }
      const verdict = transport.admit(request);
      if (!verdict.ok) {
        refuse(res, verdict);
        return true;
      }
      res.writeHead(200, SSE_HEADERS);
      req.socket?.setNoDelay(true);
      const stream = verdict.start(nodeSink(res));
      res.once('close', stream.gone);
      return true;
    }
    if (!path.startsWith(framesPrefix)) return false;
    const id = path.slice(framesPrefix.length);
    if (id === '' || id.includes('/')) return false;
    if (req.method !== 'POST') {
      refuse(res, { status: 405, code: 'method_not_allowed', message: 'method not allowed here; use POST' });
      return true;
    }
    const parsed = parsedBody(req);
    const body = parsed === undefined ? readNodeBody(req, transport.maxPostBytes) : Promise.resolve(parsed);
    body.then(
      (text) => {
        if (text.length > transport.maxPostBytes && Buffer.byteLength(text) > transport.maxPostBytes) {
          refuse(res, { status: 413, code: 'body_too_large', message: 'request body too large' });
          return;
        }
        const result = transport.post(id, request, text);
        if (!result.ok) refuse(res, result);
        else {
          res.writeHead(204, { 'cache-control': 'no-store' });
          res.end();
        }
      },
      (err: unknown) =>
        refuse(
          res,
          err instanceof HttpError
            ? err
            : { status: 400, code: 'bad_request', message: 'request body could not be read' },
        ),
    );
    return true;
  };
}
