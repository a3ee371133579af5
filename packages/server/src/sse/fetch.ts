import type { HubCore } from '../core/hub-core.js';
import type { UpgradeRequestLike } from '../core/types.js';
import { readWebBody } from '../http/body.js';
import { HttpError } from '../http/errors.js';
import { SSE_HEADERS } from './node.js';
import type { SseSink } from './socket.js';
import { refusalAnswer, SSE_PATH, sseTransportOf } from './transport.js';

/** Bytes a stream may hold unread before the hub sees it as a slow consumer (`bufferedAmount`). */
const HIGH_WATER_BYTES = 64 * 1024;

function refuse(result: Parameters<typeof refusalAnswer>[0]): Response {
  const { status, headers, body } = refusalAnswer(result);
  return new Response(body, { status, headers });
}

/**
 * A `ReadableStream` as an {@link SseSink}: bytes are queued for the runtime to send; what the
 * reader has not taken yet is `bufferedAmount`, and a heartbeat counts as answered once the queue
 * drained below its high-water mark (the reader is keeping up).
 */
function streamSink(onGone: () => void): { body: ReadableStream<Uint8Array>; sink: SseSink } {
  const encoder = new TextEncoder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let closed = false;
  let waiting: (() => void)[] = [];
  const drained = (): void => {
    const callbacks = waiting;
    waiting = [];
    for (const callback of callbacks) callback();
  };
  const body = new ReadableStream<Uint8Array>(
    {
      start: (c) => {
        controller = c;
      },
      pull: () => drained(),
      cancel: () => {
        closed = true;
        waiting = [];
        onGone();
      },
    },
    { highWaterMark: HIGH_WATER_BYTES, size: (chunk) => chunk.byteLength },
  );
  const sink: SseSink = {
    write(text, flushed) {
      if (closed) return;
      controller.enqueue(typeof text === 'string' ? encoder.encode(text) : text);
      if (flushed === undefined) return;
      if ((controller.desiredSize ?? 0) > 0) flushed();
      else waiting.push(flushed);
    },
    end() {
      if (closed) return;
      closed = true;
      controller.close();
      // As a Node response's 'close': the hub learns the stream is gone (after this call returns).
      queueMicrotask(onGone);
    },
    destroy() {
      if (closed) return;
      closed = true;
      controller.error(new Error('stream dropped'));
      queueMicrotask(onGone);
    },
    get bufferedAmount() {
      return closed ? 0 : Math.max(0, HIGH_WATER_BYTES - (controller.desiredSize ?? 0));
    },
  };
  return { body, sink };
}

/**
 * The SSE endpoints of `hub` for a Fetch API runtime (Next.js route handlers, Hono, Bun, Deno):
 * `GET <basePath>/v1/sse/notifications` answers a streaming `Response`, `POST
 * <basePath>/v1/sse/notifications/<id>` takes the client's frames. Resolves `undefined` for any
 * other path. Used by `createFetchHandler` (on unless `sse: false`).
 *
 * The Fetch API does not expose the client's address: admission limits per address see none
 * (put them in front, at the proxy, or use the Node handler).
 *
 * @example
 * ```ts
 * const sse = createSseFetchHandler(hub, '/api');
 * export async function GET(request: Request) {
 *   return (await sse(request)) ?? new Response('not found', { status: 404 });
 * }
 * ```
 *
 * @category Hub
 */
export function createSseFetchHandler(
  hub: HubCore,
  basePath = '',
): (request: Request) => Promise<Response | undefined> {
  const transport = sseTransportOf(hub);
  const streamPath = `${basePath}${SSE_PATH}`;
  const framesPrefix = `${streamPath}/`;
  return async (request) => {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path !== streamPath && !path.startsWith(framesPrefix)) return undefined;
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const like: UpgradeRequestLike = { headers, url: `${url.pathname}${url.search}`, remoteAddress: undefined };
    if (path === streamPath) {
      if (request.method !== 'GET') {
        return refuse({ status: 405, code: 'method_not_allowed', message: 'method not allowed here; use GET' });
      }
      const verdict = transport.admit(like);
      if (!verdict.ok) return refuse(verdict);
      let gone: (() => void) | undefined;
      let finished = false;
      const finish = (): void => {
        if (finished || gone === undefined) return;
        finished = true;
        gone();
      };
      const { body, sink } = streamSink(finish);
      gone = verdict.start(sink).gone;
      request.signal?.addEventListener('abort', finish, { once: true });
      return new Response(body, { status: 200, headers: SSE_HEADERS });
    }
    const id = path.slice(framesPrefix.length);
    if (id === '' || id.includes('/')) return undefined;
    if (request.method !== 'POST') {
      return refuse({ status: 405, code: 'method_not_allowed', message: 'method not allowed here; use POST' });
    }
    let text: string;
    try {
      text = await readWebBody(request, transport.maxPostBytes);
    } catch (err) {
      return refuse(
        err instanceof HttpError
          ? err
          : { status: 400, code: 'bad_request', message: 'request body could not be read' },
      );
    }
    const result = transport.post(id, like, text);
    if (!result.ok) return refuse(result);
    return new Response(null, { status: 204, headers: { 'cache-control': 'no-store' } });
  };
}
