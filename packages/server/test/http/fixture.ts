import {
  createNodeHandler,
  type HttpHandlerOptions,
  type Logger,
  MemoryInbox,
  type NotificationHub,
} from '@wardcast/server';
import { type Fixture, type Harness, type StartOptions, tokenFor } from '../helpers/harness.js';

/** A hub with a `MemoryInbox` whose server answers the Wardcast HTTP endpoints through `createNodeHandler`. */
export interface HttpFixture extends Fixture {
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  readonly inbox: MemoryInbox | undefined;
}

/** Starts a hub (with a `MemoryInbox` unless `withInbox` is false) and mounts the Node handler alone. */
export async function startHttp(
  harness: Harness,
  hubOptions: StartOptions & { readonly withInbox?: boolean } = {},
  httpOptions: HttpHandlerOptions = {},
): Promise<HttpFixture> {
  const { withInbox = true, ...rest } = hubOptions;
  const inbox = withInbox ? new MemoryInbox() : undefined;
  const fixture = await harness.start({ ...rest, ...(inbox ? { inbox } : {}) });
  const handler = createNodeHandler(fixture.hub, httpOptions);
  fixture.server.removeAllListeners('request');
  fixture.server.on('request', (req, res) => handler(req, res));
  return { ...fixture, inbox, base: `http://127.0.0.1:${fixture.port}` };
}

/** What {@link call} resolves with. */
export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test responses are read loosely
  readonly json: any;
}

/** Options of {@link call}. */
export interface CallOptions {
  /** Sent as `authorization: Bearer tok_SECRET_<as>`. */
  readonly as?: string;
  readonly body?: unknown;
  readonly rawBody?: BodyInit;
  readonly headers?: Record<string, string>;
}

/** A real `fetch` to the fixture's server. */
export async function call(base: string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.as !== undefined) headers.authorization = `Bearer ${tokenFor(options.as)}`;
  let body: BodyInit | undefined = options.rawBody;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const init: RequestInit & { duplex?: 'half' } = { method, headers };
  if (body !== undefined) init.body = body;
  if (body instanceof ReadableStream) init.duplex = 'half';
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** A logger that keeps every line, for leak checks. */
export function recordingLogger(): Logger & { readonly lines: unknown[] } {
  const lines: unknown[] = [];
  const log = (obj: object, msg?: string): void => {
    lines.push({ obj: String((obj as { err?: unknown }).err ?? ''), keys: Object.keys(obj), msg });
    lines.push(obj);
  };
  return { lines, debug: log, info: log, warn: log, error: log };
}

/** Publishes `count` custom notifications to `user:<userId>` with ids `<prefix>-1..count`. */
export async function publishMany(hub: NotificationHub, userId: string, count: number, prefix = 'n'): Promise<void> {
  for (let i = 1; i <= count; i++) {
    await hub.publish(`user:${userId}`, { id: `${prefix}-${i}`, kind: 'custom', payload: { title: `t${i}` } });
  }
}

/** A readable stream of `size` bytes of JSON-ish text in chunks, with no length known in advance. */
export function streamOf(size: number, chunk = 1024): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) {
        controller.close();
        return;
      }
      const n = Math.min(chunk, size - sent);
      controller.enqueue(new TextEncoder().encode('x'.repeat(n)));
      sent += n;
    },
  });
}
