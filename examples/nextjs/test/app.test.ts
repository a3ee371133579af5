import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser } from './browser.js';
import {
  type Frame,
  lockApp,
  login,
  nextBuild,
  openSocket,
  type RunningServer,
  startCustomServer,
  startNaiveServer,
  startPlainNext,
} from './fixture.js';

// One `next build` for the whole file, then the built app (production) through the custom
// server. Every test signs in as its own user, so they share the server without sharing state.
let app: RunningServer;
let unlock: (() => Promise<void>) | undefined;

beforeAll(async () => {
  unlock = await lockApp();
  const { ms } = await nextBuild();
  console.log(`[examples/nextjs] next build took ${(ms / 1000).toFixed(1)} s`);
  app = await startCustomServer();
}, 300_000);

afterAll(async () => {
  await app?.stop();
  await unlock?.();
}, 30_000);

const wsUrl = (base: string, path = '/v1/ws/notifications') => `${base.replace('http', 'ws')}${path}`;

async function sendTest(base: string, token: string, userId: string, title: string, priority = 'routine') {
  const res = await fetch(`${base}/api/v1/ws/test-notification`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ user_id: userId, title, message: 'from the test', priority }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { id: string; seq: number } }).data;
}

/** Opens an authenticated socket subscribed to the user's own topic. */
async function subscribedSocket(base: string, userId: string, path?: string) {
  const token = await login(base, userId);
  const socket = openSocket(wsUrl(base, path), token);
  await socket.waitFor((f) => f.type === 'authenticated');
  socket.send({ type: 'subscribe', topics: [{ topic: `user:${userId}` }] });
  await socket.waitFor((f) => f.type === 'subscribed');
  return { token, socket };
}

/** Makes Next.js handle a page, a route handler and a 404: from its first request on, Next.js has its upgrade listener. */
async function letNextHandleRequests(base: string): Promise<void> {
  expect((await fetch(base)).status).toBe(200);
  expect((await fetch(`${base}/api/v1/ws/stats`)).status).toBe(200);
  expect((await fetch(`${base}/no-such-page`)).status).toBe(404);
}

describe('the custom server and Next.js upgrade listener', () => {
  it('keeps the hub socket open and delivering after Next.js handled requests', async () => {
    await letNextHandleRequests(app.base);
    const { token, socket } = await subscribedSocket(app.base, 'ws-after-next');
    const sent = await sendTest(app.base, token, 'ws-after-next', 'After Next.js');
    const n = await socket.waitFor((f) => f.type === 'notification');
    expect(n).toMatchObject({ id: sent.id, topic: 'user:ws-after-next', payload: { title: 'After Next.js' } });
    socket.send({ type: 'ping', ts: 42 });
    await socket.waitFor((f) => f.type === 'pong' && f.ts === 42);
    expect(socket.closeCode()).toBeUndefined();
    socket.ws.close();
  });

  it('gives the hub its upgrades before Next.js sees them, even at a path under an app route', async () => {
    // /api/v1/ws/notifications matches app/api/v1/[...wardcast]/route.ts: the trap's own path.
    const underRoute = await startCustomServer({ WARDCAST_WS_PATH: '/api/v1/ws/notifications' });
    try {
      await letNextHandleRequests(underRoute.base);
      const { token, socket } = await subscribedSocket(underRoute.base, 'ws-under-route', '/api/v1/ws/notifications');
      await sendTest(underRoute.base, token, 'ws-under-route', 'Under a route');
      await socket.waitFor((f) => f.type === 'notification');
      socket.send({ type: 'ping', ts: 7 });
      await socket.waitFor((f) => f.type === 'pong' && f.ts === 7);
      expect(socket.closeCode()).toBeUndefined();
      socket.ws.close();
    } finally {
      await underRoute.stop();
    }
  }, 120_000);

  it('shows the trap it avoids: next to Next.js own listener, a hub socket under an app route dies with 1006 once Next.js served a request', async () => {
    const naive = await startNaiveServer({ WARDCAST_WS_PATH: '/api/v1/ws/notifications' });
    try {
      // Before Next.js handled any request it has no upgrade listener yet, and the socket lives.
      const early = openSocket(wsUrl(naive.base, '/api/v1/ws/notifications'), 'insecure-demo-token:early');
      await early.waitFor((f) => f.type === 'authenticated');
      expect((await fetch(naive.base)).status).toBe(200);
      // The route handler ran (503: the naive server installs no runtime for it).
      expect((await fetch(`${naive.base}/api/v1/ws/stats`)).status).toBe(503);
      // After it: the hub accepts the upgrade, then Next.js, having matched the path to the route
      // handler, ends the socket under it (no close frame: 1006).
      const late = openSocket(wsUrl(naive.base, '/api/v1/ws/notifications'), 'insecure-demo-token:late');
      await expect(late.closed()).resolves.toBe(1006);
      expect(early.closeCode()).toBeUndefined();
      early.ws.close();
    } finally {
      await naive.stop();
    }
  }, 120_000);

  it('answers 503 hub_not_running from the route handlers under plain `next start`: no hub outside the custom server', async () => {
    const plain = await startPlainNext();
    try {
      expect((await fetch(plain.base)).status).toBe(200);
      const res = await fetch(`${plain.base}/api/v1/ws/stats`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ success: false, error: { code: 'hub_not_running' } });
    } finally {
      await plain.stop();
    }
  }, 120_000);
});

describe('the SSE fallback next to the socket', () => {
  it('serves the stream at /v1/sse/notifications from the custom server, not from the route handler', async () => {
    const controller = new AbortController();
    const res = await fetch(`${app.base}/v1/sse/notifications`, { signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('content-encoding')).toBeNull();
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toMatch(/^event: open\ndata: \{"id":"[^"]+","key":"[^"]+"\}\n\n/);
    controller.abort();
    // The app route under /api/v1 leaves SSE to the custom server (`sse: false`).
    expect((await fetch(`${app.base}/api/v1/sse/notifications`)).status).toBe(404);
  });
});

describe('route handlers on the hub Fetch handlers', () => {
  it('serves stats and health, and refuses a test notification without a valid token', async () => {
    const stats = (await (await fetch(`${app.base}/api/v1/ws/stats`)).json()) as { data: { status: string } };
    expect(stats.data.status).toBe('active');
    expect((await fetch(`${app.base}/api/v1/health/ready`)).status).toBe(200);
    const res = await fetch(`${app.base}/api/v1/ws/test-notification`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer forged' },
      body: JSON.stringify({ title: 't', message: 'm' }),
    });
    expect(res.status).toBe(401);
  });

  it('lists, reads and acknowledges inbox notifications, and tells the user socket live', async () => {
    const { token, socket } = await subscribedSocket(app.base, 'inbox-user');
    const first = await sendTest(app.base, token, 'inbox-user', 'First');
    const second = await sendTest(app.base, token, 'inbox-user', 'Second', 'critical');
    const list = async () =>
      (
        (await (
          await fetch(`${app.base}/api/v1/notifications`, { headers: { authorization: `Bearer ${token}` } })
        ).json()) as {
          data: {
            items: { id: string; read_at: string | null; acknowledged_at: string | null }[];
            unread_count: number;
          };
        }
      ).data;
    expect((await list()).unread_count).toBe(2);

    const post = (id: string, action: 'read' | 'ack') =>
      fetch(`${app.base}/api/v1/notifications/${encodeURIComponent(id)}/${action}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
    expect((await post(first.id, 'read')).status).toBe(200);
    await socket.waitFor((f) => f.type === 'receipt' && f.id === first.id && f.action === 'read');
    expect((await post(second.id, 'ack')).status).toBe(200);
    await socket.waitFor((f) => f.type === 'receipt' && f.id === second.id && f.action === 'ack');
    expect((await post('no-such-id', 'read')).status).toBe(404);

    const after = await list();
    expect(after.items.find((i) => i.id === first.id)?.read_at).not.toBeNull();
    expect(after.items.find((i) => i.id === second.id)?.acknowledged_at).not.toBeNull();
    socket.ws.close();
  });

  it('streams an assessment to patient:<id> and lets only a dr- user sign it off', async () => {
    const token = await login(app.base, 'dr-next');
    const socket = openSocket(wsUrl(app.base), token);
    await socket.waitFor((f) => f.type === 'authenticated');
    socket.send({ type: 'subscribe', topics: [{ topic: 'patient:p-next' }] });
    await socket.waitFor((f) => f.type === 'subscribed');

    const res = await fetch(`${app.base}/api/assess`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        patient_id: 'p-next',
        intake: { chief_complaint: 'fever and new confusion', age: 71 },
        vitals: {
          respiration_rate: 24,
          spo2: 93,
          on_oxygen: false,
          systolic_bp: 98,
          pulse: 118,
          consciousness: 'C',
          temperature: 38.9,
        },
      }),
    });
    expect(res.status).toBe(202);
    const id = ((await res.json()) as { data: { assessment_id: string } }).data.assessment_id;
    const isDiagnosis = (status: string) => (f: Frame) =>
      f.kind === 'diagnosis_update' && (f.payload as { status?: string } | undefined)?.status === status;
    await socket.waitFor(isDiagnosis('preliminary'), 30_000);

    const got = await fetch(`${app.base}/api/assess/${id}`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await got.json()) as { data: unknown }).data).toMatchObject({
      status: 'preliminary',
      risk: { scorer: 'news2', band: 'high' },
      synthesis: { adapter: 'local' },
    });
    const review = (as: string) =>
      fetch(`${app.base}/api/assess/${id}/review`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${as}` },
        body: JSON.stringify({ decision: 'final' }),
      });
    expect((await review(await login(app.base, 'nurse-next'))).status).toBe(403);
    expect((await review(token)).status).toBe(200);
    await socket.waitFor(isDiagnosis('final'));
    socket.ws.close();
  }, 60_000);
});

describe.runIf(browserAvailable())('the built page in Chromium', () => {
  const unread = (page: Page, count: number) =>
    page.waitForSelector(`[data-testid="unread"][data-count="${count}"]`, { timeout: 20_000 });

  it('shows a live notification in two tabs, and a mark-read in one clears the unread count in the other', async () => {
    const browser = await launchBrowser();
    try {
      const context = await browser.newContext();
      const first = await context.newPage();
      await first.goto(app.base);
      await first.fill('#user-id', 'dr-chromium');
      await first.click('form[aria-label="Sign in"] button[type="submit"]');
      await first.waitForSelector('[data-testid="status"][data-state="open"]', { timeout: 20_000 });

      // A second tab of the same browser: signed in from the shared session, its own socket.
      const second = await context.newPage();
      await second.goto(app.base);
      await second.waitForSelector('[data-testid="status"][data-state="open"]', { timeout: 20_000 });
      expect(await second.textContent('[data-testid="user"]')).toBe('dr-chromium');

      await first.fill('#title', 'Critical potassium');
      await first.selectOption('#priority', 'critical');
      await first.click('form[aria-label="Send test notification"] button[type="submit"]');
      for (const page of [first, second]) {
        const item = await page.waitForSelector('li.item[data-priority="critical"]', { timeout: 20_000 });
        expect(await item.textContent()).toContain('Critical potassium');
        await unread(page, 1);
      }
      expect(await first.textContent('[data-testid="send-result"]')).toContain('user:dr-chromium');

      await first.click('li.item[data-priority="critical"] button:has-text("Mark read")');
      await unread(first, 0);
      await unread(second, 0);
      await second.waitForSelector('li.item.read[data-priority="critical"]');

      // And the other way round: sent from the second tab, live in the first.
      await second.fill('#title', 'Bed 4B moved');
      await second.selectOption('#priority', 'routine');
      await second.click('form[aria-label="Send test notification"] button[type="submit"]');
      await first.waitForSelector('li.item[data-priority="routine"]', { timeout: 20_000 });
      await unread(first, 1);
    } finally {
      await browser.close();
    }
  }, 120_000);

  it('works over Server-Sent Events: pinned with ?transport=sse, and on its own where the upgrade is refused', async () => {
    const browser = await launchBrowser();
    try {
      for (const blocked of [false, true]) {
        const userId = blocked ? 'dr-sse-fallback' : 'dr-sse-pinned';
        const context = await browser.newContext();
        let upgrades = 0;
        // A network that blocks WebSockets: every upgrade is closed before the hub answers.
        if (blocked) {
          await context.routeWebSocket(/\/v1\/ws\/notifications/, (ws) => {
            upgrades++;
            void ws.close({ code: 1011, reason: 'blocked' });
          });
        }
        const page = await context.newPage();
        const streams: string[] = [];
        const posts: string[] = [];
        const sockets: string[] = [];
        page.on('request', (request) => {
          const path = new URL(request.url()).pathname;
          if (path === '/v1/sse/notifications') streams.push(request.method());
          else if (path.startsWith('/v1/sse/notifications/')) posts.push(request.method());
        });
        page.on('websocket', (ws) => sockets.push(ws.url()));
        await page.goto(blocked ? app.base : `${app.base}/?transport=sse`);
        await page.fill('#user-id', userId);
        await page.click('form[aria-label="Sign in"] button[type="submit"]');
        await page.waitForSelector('[data-testid="status"][data-state="open"]', { timeout: 20_000 });
        expect(streams).toEqual(['GET']);
        expect(sockets).toEqual([]);
        expect(upgrades).toBe(blocked ? 1 : 0);

        // Live, then read, then acknowledged: the frames go by POST, the receipts come on the stream.
        await page.fill('#title', 'Critical sodium');
        await page.selectOption('#priority', 'critical');
        await page.click('form[aria-label="Send test notification"] button[type="submit"]');
        const item = await page.waitForSelector('li.item[data-priority="critical"]', { timeout: 20_000 });
        expect(await item.textContent()).toContain('Critical sodium');
        await unread(page, 1);
        await page.click('li.item[data-priority="critical"] button:has-text("Mark read")');
        await unread(page, 0);
        await page.click('li.item[data-priority="critical"] button.ack');
        await page.waitForSelector('li.item[data-priority="critical"] small:text-is("acknowledged")', {
          timeout: 20_000,
        });
        expect(posts.length).toBeGreaterThan(0);
        expect(posts.every((method) => method === 'POST')).toBe(true);

        // The hub recorded both in the inbox.
        const token = await login(app.base, userId);
        await expect
          .poll(async () => {
            const inbox = (await (
              await fetch(`${app.base}/api/v1/notifications`, { headers: { authorization: `Bearer ${token}` } })
            ).json()) as { data: { items: { read_at: string | null; acknowledged_at: string | null }[] } };
            return inbox.data.items.map((i) => [i.read_at !== null, i.acknowledged_at !== null]);
          })
          .toEqual([[true, true]]);
        await context.close();
      }
    } finally {
      await browser.close();
    }
  }, 120_000);
});
