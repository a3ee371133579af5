/**
 * Local HTTP servers that speak the OpenAI Chat Completions and Gemini `streamGenerateContent`
 * wire formats (SSE streaming included), driven by a script of steps, so the adapters are tested
 * through the real SDKs.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the server does for one request. */
export type Step =
  /** Streams `deltas` as text chunks; with `holdOpen`, never ends the response. */
  | {
      readonly kind: 'text';
      readonly deltas: readonly string[];
      readonly delayMs?: number;
      readonly holdOpen?: boolean;
    }
  /** Answers with an HTTP error. */
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly headers?: Record<string, string>;
      readonly body?: unknown;
    }
  /** Never answers. */
  | { readonly kind: 'hang' };

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly raw: string;
  readonly body: unknown;
}

export interface FakeVendor {
  /** `http://127.0.0.1:PORT`. */
  readonly origin: string;
  readonly requests: RecordedRequest[];
  /** Requests whose connection the client closed before the response ended. */
  readonly clientClosed: number;
  /** Resolves once the client has closed `count` unfinished responses. */
  waitForClientClose(count?: number): Promise<void>;
  close(): Promise<void>;
}

export type Vendor = 'openai' | 'gemini';

export const OPENAI_REPORTED_MODEL = 'gpt-4o-2024-08-06';
export const GEMINI_REPORTED_MODEL = 'gemini-2.0-flash-001';

/** Starts a fake vendor on 127.0.0.1:0. Steps are used in order; the last one repeats. */
export async function startFakeVendor(vendor: Vendor, steps: readonly Step[]): Promise<FakeVendor> {
  const requests: RecordedRequest[] = [];
  const open = new Set<ServerResponse>();
  let clientClosed = 0;
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const notify = () => {
    for (const waiter of [...waiters]) {
      if (clientClosed >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, raw, body });
    const step = steps[Math.min(requests.length - 1, steps.length - 1)];
    open.add(res);
    res.on('close', () => {
      open.delete(res);
      if (!res.writableFinished) {
        clientClosed += 1;
        notify();
      }
    });
    if (!step || step.kind === 'hang') return;
    if (!isExpectedPath(vendor, req.url ?? '')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unexpected path' }));
      return;
    }
    if (step.kind === 'status') {
      res.writeHead(step.status, { 'content-type': 'application/json', ...step.headers });
      res.end(JSON.stringify(step.body ?? errorBody(vendor, step.status)));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const events = vendor === 'openai' ? openAiEvents(step.deltas) : geminiEvents(step.deltas);
    const last = step.holdOpen ? events.length - 1 : events.length;
    for (let i = 0; i < events.length; i++) {
      if (res.destroyed) return;
      if (step.holdOpen && i >= last) break; // keep the final event (and the end) back
      res.write(events[i]);
      if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
    }
    if (!step.holdOpen) res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    get clientClosed() {
      return clientClosed;
    },
    waitForClientClose(count = 1) {
      if (clientClosed >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    async close() {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function isExpectedPath(vendor: Vendor, url: string): boolean {
  if (vendor === 'openai') return url === '/v1/chat/completions';
  return /^\/v1beta\/models\/[^/:]+:streamGenerateContent\?alt=sse$/.test(url);
}

function errorBody(vendor: Vendor, status: number): unknown {
  if (vendor === 'openai') {
    return { error: { message: `fake error ${status}`, type: 'server_error', param: null, code: null } };
  }
  return {
    error: {
      code: status,
      message: `fake error ${status}`,
      status: status === 429 ? 'RESOURCE_EXHAUSTED' : 'INTERNAL',
    },
  };
}

/** `data: {chat.completion.chunk}` events, a final chunk with `finish_reason`, then `[DONE]`. */
function openAiEvents(deltas: readonly string[]): string[] {
  const chunk = (delta: Record<string, unknown>, finish: string | null) =>
    `data: ${JSON.stringify({
      id: 'chatcmpl-fake',
      object: 'chat.completion.chunk',
      created: 1_700_000_000,
      model: OPENAI_REPORTED_MODEL,
      system_fingerprint: 'fp_fake',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    })}\n\n`;
  return [
    chunk({ role: 'assistant', content: '' }, null),
    ...deltas.map((content) => chunk({ content }, null)),
    chunk({}, 'stop'),
    'data: [DONE]\n\n',
  ];
}

/** SSE events of `GenerateContentResponse` chunks, the last with `finishReason` and usage. */
function geminiEvents(deltas: readonly string[]): string[] {
  const event = (text: string, finish?: string) =>
    `data: ${JSON.stringify({
      candidates: [
        { content: { parts: [{ text }], role: 'model' }, index: 0, ...(finish ? { finishReason: finish } : {}) },
      ],
      ...(finish ? { usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 20, totalTokenCount: 30 } } : {}),
      modelVersion: GEMINI_REPORTED_MODEL,
      responseId: 'fake-response',
    })}\r\n\r\n`;
  if (deltas.length === 0) return [event('', 'STOP')];
  return deltas.map((text, i) => event(text, i === deltas.length - 1 ? 'STOP' : undefined));
}

/** Splits `text` into `n`-character deltas. */
export function split(text: string, n = 12): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += n) out.push(text.slice(i, i + n));
  return out;
}

/** A raw request body as sent to the vendor (for redaction checks). */
export function allRaw(vendor: FakeVendor): string {
  return vendor.requests.map((r) => r.raw).join('\n');
}
