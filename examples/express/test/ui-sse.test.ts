import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, screenshot } from './browser.js';
import type { RunningDemo } from './fixture.js';
import {
  hubUnreadCount,
  openDemo,
  sessionToken,
  setUpWeb,
  simulate,
  unread,
  WAIT,
  waitLive,
  waitUnread,
} from './web-fixture.js';

const TEST_MS = 120_000;

/** What the page opened: SSE streams and frame POSTs, and WebSocket attempts. */
function watchTransports(page: Page): { streams: string[]; posts: string[]; sockets: string[] } {
  const seen = { streams: [] as string[], posts: [] as string[], sockets: [] as string[] };
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    if (path === '/v1/sse/notifications') seen.streams.push(request.method());
    else if (path.startsWith('/v1/sse/notifications/')) seen.posts.push(request.method());
  });
  page.on('websocket', (ws) => seen.sockets.push(ws.url()));
  return seen;
}

async function signIn(context: BrowserContext, url: string, userId: string) {
  const page = await context.newPage();
  const seen = watchTransports(page);
  await page.goto(url);
  await page.click(`button[data-user="${userId}"]`, WAIT);
  await waitLive(page);
  return { page, seen };
}

/**
 * Live notifications, a read and an acknowledgement over the Server-Sent Events fallback: pinned
 * with `?transport=sse`, and reached on its own when the WebSocket upgrade fails.
 */
describe.runIf(browserAvailable())('express demo in Chromium over Server-Sent Events', () => {
  let web: Awaited<ReturnType<typeof setUpWeb>>;
  let current: Awaited<ReturnType<typeof openDemo>> | undefined;
  let demo: RunningDemo;

  beforeAll(async () => {
    web = await setUpWeb();
  }, TEST_MS);
  afterAll(() => web?.teardown());
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });

  const open = async () => {
    current = await openDemo(web.browser, web.webDir, { escalationStepMs: 90_000 });
    demo = current.demo;
    return current.context;
  };

  /** Publishes, reads and acknowledges through the page; the hub records both. */
  async function receiveReadAck(page: Page): Promise<void> {
    expect(await unread(page)).toBe(0);
    await simulate(page, 'Lab result');
    const item = await page.waitForSelector('[data-testid="inbox-item"].is-unread', WAIT);
    expect(await item.textContent()).toContain('C-reactive protein');
    await waitUnread(page, 1);

    await page.click('[data-testid="inbox-item"]:has-text("C-reactive protein") button:text-is("Mark read")');
    await waitUnread(page, 0);
    // The read went to the hub by POST on the stream's connection: the inbox recorded it.
    await expect.poll(() => hubUnreadCount(demo.base, page), WAIT).toBe(0);

    await simulate(page, 'Critical result');
    const critical = '[data-testid="inbox-item"].priority-critical';
    await page.waitForSelector(`${critical} [data-testid="countdown"]`, WAIT);
    await page.click(`${critical} button:text-is("Acknowledge")`);
    await page.waitForSelector(`${critical} [data-testid="escalation"]:has-text("Acknowledged")`, WAIT);
    const id = await page.getAttribute(critical, 'data-id');
    const token = await sessionToken(page);
    await expect
      .poll(async () => {
        const res = await fetch(`${demo.base}/api/demo/escalations/${id}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        return ((await res.json()) as { data: { status: string } }).data.status;
      }, WAIT)
      .toBe('acknowledged');
  }

  it(
    'pinned to SSE (?transport=sse): no WebSocket, live notifications, a read and an ack',
    async () => {
      const context = await open();
      const { page, seen } = await signIn(context, `${demo.base}/?transport=sse`, 'dr-ada');
      expect(seen.sockets).toEqual([]);
      expect(seen.streams).toEqual(['GET']);
      expect(demo.demo.hub.stats().connections).toBe(1);
      await receiveReadAck(page);
      // The page's frames (auth, subscribe, pings, read, ack) went by POST.
      expect(seen.posts.length).toBeGreaterThan(0);
      expect(seen.posts.every((method) => method === 'POST')).toBe(true);
      expect(seen.sockets).toEqual([]);
      await screenshot(page, '20-sse-pinned');
    },
    TEST_MS,
  );

  it(
    'falls back to SSE on its own when the WebSocket upgrade is refused, and remembers it',
    async () => {
      const context = await open();
      // A network that blocks WebSockets: every upgrade is closed before the hub answers.
      let upgrades = 0;
      await context.routeWebSocket(/\/v1\/ws\/notifications/, (ws) => {
        upgrades++;
        void ws.close({ code: 1011, reason: 'blocked' });
      });
      const { page, seen } = await signIn(context, demo.base, 'nurse-sam');
      expect(upgrades).toBe(1);
      expect(seen.streams).toEqual(['GET']);
      await receiveReadAck(page);

      // A reload skips the doomed upgrade: the transport that worked is remembered.
      await page.reload();
      await waitLive(page);
      expect(upgrades).toBe(1);
      expect(seen.streams).toEqual(['GET', 'GET']);
      await screenshot(page, '21-sse-fallback');
    },
    TEST_MS,
  );
});
