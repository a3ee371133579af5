import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createExpressRouter,
  createFetchHandler,
  createNodeHandler,
  type HubEvents,
  NotificationHub,
  type NotificationHubOptions,
} from '@wardcast/server';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { testAuthenticate, tokenFor } from './helpers/harness.js';
import { openStream, STREAM, type Stream } from './helpers/sse-stream.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (let c = cleanups.pop(); c; c = cleanups.pop()) await c();
});

const TOKEN = tokenFor('u1');

interface Fixture {
  readonly hub: NotificationHub;
  readonly base: string;
  readonly refused: HubEvents['refused'][0][];
}

async function start(
  options: Partial<NotificationHubOptions> = {},
  mount: (hub: NotificationHub) => Parameters<typeof createServer>[1] = (hub) => {
    const handler = createNodeHandler(hub);
    return (req, res) => handler(req, res);
  },
): Promise<Fixture> {
  const hub = new NotificationHub({ authenticate: testAuthenticate, closeTimeoutMs: 200, ...options });
  const refused: HubEvents['refused'][0][] = [];
  hub.on('refused', (e) => refused.push(e));
  const server: Server = createServer(mount(hub));
  hub.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    await hub.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { hub, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, refused };
}

const open = (base: string, headers: Record<string, string> = {}): Promise<Stream> =>
  openStream(base, cleanups, headers);

const lines = (...frames: object[]) => frames.map((f) => JSON.stringify(f)).join('\n');
const closeOf = (s: Stream) => {
  const close = s.events.find((e) => e.event === 'close');
  return close && (JSON.parse(close.data) as { code: number; reason: string });
};

describe('SSE transport', () => {
  it('streams the protocol: open event, welcome, then replies to POSTed frames and notifications', async () => {
    const { hub, base } = await start();
    const s = await open(base);
    expect(s.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(s.response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(s.response.headers.get('x-accel-buffering')).toBe('no');
    expect(s.events[0]?.event).toBe('open');
    expect(s.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.key.length).toBeGreaterThanOrEqual(32);
    await s.until('welcome', () => s.frames().some((f) => f.type === 'welcome'));

    const posted = await s.post(
      lines({ type: 'auth', token: TOKEN }, { type: 'subscribe', topics: [{ topic: 'user:u1' }] }),
    );
    expect(posted.status).toBe(204);
    await s.until('subscribed', () => s.frames().some((f) => f.type === 'subscribed'));
    expect(s.frames().map((f) => f.type)).toEqual(['welcome', 'authenticated', 'subscribed']);

    await hub.publish('user:u1', { kind: 'custom', payload: { a: 1 }, id: 'n1' });
    await s.until('the notification', () => s.frames().some((f) => f.type === 'notification'));
    expect(s.frames().at(-1)).toMatchObject({ type: 'notification', id: 'n1', topic: 'user:u1', seq: 1 });
    expect(hub.stats().connections).toBe(1);

    s.abort();
    await s.until('the hub saw the stream go', () => hub.stats().connections === 0);
  });

  it('authenticates at connect time from the request, as the WebSocket upgrade does', async () => {
    const { base } = await start();
    const s = await open(base, { authorization: `Bearer ${TOKEN}` });
    await s.until('authenticated', () => s.frames().some((f) => f.type === 'authenticated'));
    expect(s.frames()[0]).toMatchObject({ type: 'welcome', authenticated: true });
  });

  it('refuses POSTs without the connection key, with a wrong key, or to an unknown connection, alike', async () => {
    const { base } = await start();
    const s = await open(base);
    const frame = lines({ type: 'auth', token: TOKEN });
    expect((await s.post(frame, { 'x-wardcast-key': 'AAAA' })).status).toBe(404);
    expect(
      (
        await fetch(`${base}${STREAM}/${s.id}`, {
          method: 'POST',
          body: frame,
          headers: { 'content-type': 'text/plain' },
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await fetch(`${base}${STREAM}/00000000-0000-0000-0000-000000000000`, {
          method: 'POST',
          body: frame,
          headers: { 'x-wardcast-key': s.key },
        })
      ).status,
    ).toBe(404);
    expect((await fetch(`${base}${STREAM}`, { method: 'POST', body: frame })).status).toBe(405);
    expect(s.frames().map((f) => f.type)).toEqual(['welcome']);
  });

  it('applies the origin check to the stream and to POSTs', async () => {
    const { base, refused } = await start({ allowedOrigins: ['https://portal.example.org'] });
    const bad = await open(base, { origin: 'https://evil.example' });
    expect(bad.response.status).toBe(403);
    expect(refused.at(-1)).toMatchObject({ stage: 'upgrade', reason: 'origin', status: 403 });
    const s = await open(base, { origin: 'https://portal.example.org' });
    expect(s.response.status).toBe(200);
    const posted = await s.post(lines({ type: 'auth', token: TOKEN }), { origin: 'https://evil.example' });
    expect(posted.status).toBe(403);
  });

  it('refuses cross-site no-cors requests and navigations (Fetch Metadata), which carry no Origin', async () => {
    const { base, refused } = await start({ clientAddress: () => '203.0.113.9' });
    // Raw requests: fetch sets its own Sec-Fetch-* headers.
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${base}${STREAM}`, { headers }, (res) => {
          resolve(res.statusCode ?? 0);
          res.destroy();
        });
        req.on('error', reject);
        req.end();
      });
    expect(await status({ 'sec-fetch-mode': 'no-cors', 'sec-fetch-site': 'cross-site' })).toBe(403);
    expect(await status({ 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'same-site' })).toBe(403);
    expect(await status({ 'sec-fetch-mode': 'cors', 'sec-fetch-site': 'same-origin' })).toBe(200);
    expect(await status({ 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'same-origin' })).toBe(200);
    // Both refusals are reported as origin refusals (no Origin to log), at the client's address.
    expect(refused).toEqual([
      { stage: 'upgrade', reason: 'origin', status: 403, remoteAddress: '203.0.113.9', origin: undefined },
      { stage: 'upgrade', reason: 'origin', status: 403, remoteAddress: '203.0.113.9', origin: undefined },
    ]);
  });

  it('applies the admission limits (maxConnections: 503 with Retry-After)', async () => {
    const { base } = await start({ maxConnections: 1 });
    const first = await open(base);
    expect(first.response.status).toBe(200);
    const second = await open(base);
    expect(second.response.status).toBe(503);
    expect(second.response.headers.get('retry-after')).toBe('5');
    first.abort();
  });

  it('applies the pre-auth budget to POSTed frames: close 4429 as a final close event', async () => {
    const { base } = await start({ maxPreAuthFrames: 3 });
    const s = await open(base);
    const pings = lines(...Array.from({ length: 5 }, () => ({ type: 'ping' })));
    expect((await s.post(pings)).status).toBe(204);
    await s.until('the close event', () => closeOf(s) !== undefined);
    expect(closeOf(s)).toEqual({ code: 4429, reason: 'too many frames before authentication' });
    await s.until('the stream ended', () => s.ended);
  });

  it('closes with 1009 for a frame over maxFrameBytes and answers 413 past the body limit', async () => {
    const { base, refused } = await start({ maxFrameBytes: 1_024 });
    const s = await open(base);
    expect((await s.post(JSON.stringify({ type: 'auth', token: 'x'.repeat(2_000) }))).status).toBe(204);
    await s.until('the close event', () => closeOf(s) !== undefined);
    expect(closeOf(s)?.code).toBe(1009);
    expect(refused.at(-1)).toMatchObject({ stage: 'connection', reason: 'frame_too_large' });
    const t = await open(base);
    expect((await t.post('x'.repeat(4 * 1_024 + 1))).status).toBe(413);
  });

  it('heartbeats with SSE comments and keeps a stream that drains', async () => {
    const { hub, base } = await start({ heartbeatIntervalMs: 100 });
    const s = await open(base, { authorization: `Bearer ${TOKEN}` });
    await s.until('three pings', () => s.comments.length >= 3, 3_000);
    expect(s.comments[0]).toBe(': ping');
    expect(hub.stats().connections).toBe(1);
    expect(closeOf(s)).toBeUndefined();
  });

  it('sends the close code of a hub-side close (shutdown 4503, revocation 4410) before ending', async () => {
    const { hub, base } = await start();
    const s = await open(base, { authorization: `Bearer ${TOKEN}` });
    await s.until('authenticated', () => s.frames().some((f) => f.type === 'authenticated'));
    expect(hub.disconnectUser('u1', 'logged out')).toBe(1);
    await s.until('the close event', () => closeOf(s) !== undefined);
    expect(closeOf(s)).toEqual({ code: 4410, reason: 'logged out' });
    await s.until('the stream ended', () => s.ended);

    const t = await open(base);
    await hub.close();
    await t.until('the close event', () => closeOf(t) !== undefined);
    expect(closeOf(t)?.code).toBe(4503);
  });

  it('is served by createExpressRouter, and `sse: false` leaves the paths alone', async () => {
    const { base } = await start({}, (hub) => {
      const app = express();
      app.use(express.text());
      app.use(createExpressRouter(hub));
      return app;
    });
    const s = await open(base);
    expect((await s.post(lines({ type: 'auth', token: TOKEN }))).status).toBe(204);
    await s.until('authenticated', () => s.frames().some((f) => f.type === 'authenticated'));

    const off = await start({}, (hub) => {
      const handler = createNodeHandler(hub, { sse: false });
      return (req, res) => handler(req, res);
    });
    expect((await fetch(`${off.base}${STREAM}`)).status).toBe(404);
  });
});

/** Serves `createFetchHandler(hub)` on a Node server: each request becomes a Fetch `Request`, the
 * `Response` body is streamed back, and the client going away aborts the request's signal. */
function fetchMount(hub: NotificationHub, options: Parameters<typeof createFetchHandler>[1] = {}) {
  const handler = createFetchHandler(hub, options);
  return (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : Buffer.concat(chunks);
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
      const init: RequestInit = { method: req.method ?? 'GET', headers, signal: abort.signal };
      if (body !== undefined) init.body = body;
      const response = await handler(new Request(`http://127.0.0.1${req.url}`, init));
      res.writeHead(response.status, Object.fromEntries(response.headers));
      if (!response.body) {
        res.end();
        return;
      }
      const reader = response.body.getReader();
      abort.signal.addEventListener('abort', () => void reader.cancel().catch(() => {}));
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          res.write(value);
        }
      } catch {
        // Dropped.
      }
      res.end();
    });
  };
}

describe('SSE transport through the Fetch handler (Next.js route handlers, Hono, Bun)', () => {
  it('streams the protocol and notifications, and the hub sees the client go', async () => {
    const { hub, base } = await start({}, (h) => fetchMount(h));
    const s = await open(base);
    expect(s.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(s.response.headers.get('x-accel-buffering')).toBe('no');
    await s.until('welcome', () => s.frames().some((f) => f.type === 'welcome'));
    const posted = await s.post(
      lines({ type: 'auth', token: TOKEN }, { type: 'subscribe', topics: [{ topic: 'user:u1' }] }),
    );
    expect(posted.status).toBe(204);
    await s.until('subscribed', () => s.frames().some((f) => f.type === 'subscribed'));
    await hub.publish('user:u1', { kind: 'custom', payload: { a: 1 }, id: 'f1' });
    await s.until('the notification', () => s.frames().some((f) => f.type === 'notification'));
    expect(s.frames().at(-1)).toMatchObject({ type: 'notification', id: 'f1', seq: 1 });
    expect((await s.post(lines({ type: 'ack', id: 'f1' }))).status).toBe(204);
    await s.until('the receipt', () => s.frames().some((f) => f.type === 'receipt'));
    s.abort();
    await s.until('the hub saw the stream go', () => hub.stats().connections === 0, 5_000);
  });

  it('ends with the close event of a hub-side close and frees the connection', async () => {
    const { hub, base } = await start({}, (h) => fetchMount(h));
    const s = await open(base, { authorization: `Bearer ${TOKEN}` });
    await s.until('authenticated', () => s.frames().some((f) => f.type === 'authenticated'));
    expect(hub.disconnectUser('u1', 'logged out')).toBe(1);
    await s.until('the close event', () => closeOf(s) !== undefined);
    expect(closeOf(s)).toEqual({ code: 4410, reason: 'logged out' });
    await s.until('the stream ended', () => s.ended);
    await s.until('the hub freed it', () => hub.stats().connections === 0);
  });

  it('refuses a wrong key alike, applies admission limits, and `sse: false` leaves the paths to the 404', async () => {
    const { base } = await start({ maxConnections: 1 }, (h) => fetchMount(h));
    const s = await open(base);
    expect((await s.post(lines({ type: 'auth', token: TOKEN }), { 'x-wardcast-key': 'AAAA' })).status).toBe(404);
    const second = await fetch(`${base}${STREAM}`);
    expect(second.status).toBe(503);
    expect(second.headers.get('retry-after')).not.toBeNull();

    const off = await start({}, (h) => fetchMount(h, { sse: false }));
    expect((await fetch(`${off.base}${STREAM}`)).status).toBe(404);
  });
});
