import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { type Authenticate, NotificationHub } from '@wardcast/server';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleClient } from './helpers/bundle.js';
import { CHROMIUM, launchChromium } from './helpers/chromium.js';
import { closeServer, listen, testAuthenticate, useFixtures } from './helpers/fixtures.js';

const available = existsSync(CHROMIUM);
if (!available && !process.env.CI) {
  console.warn(`[skip] browser end-to-end test: Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`);
}

const f = useFixtures();
const PAGE = new URL('./fixtures/browser.html', import.meta.url);

describe.runIf(!available && process.env.CI)('browser end-to-end (CI without Chromium)', () => {
  it('fails because CI must provide Chromium', () => {
    throw new Error(`Chromium not found at ${CHROMIUM}; CI must install it`);
  });
});

describe.runIf(available)('browser end-to-end', () => {
  let browser: Browser | undefined;
  let bundle = '';

  beforeAll(async () => {
    [bundle, browser] = await Promise.all([bundleClient('esm'), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
  });

  /** One HTTP server for the page, the bundle and the hub: the page's WebSocket is same-origin. */
  async function serve() {
    const html = await readFile(PAGE, 'utf8');
    // The `auth` frame's token, or the session cookie `/?cookie` sets (`sid=s-<userId>`).
    const tokens: (string | undefined)[] = [];
    const authenticate: Authenticate = (ctx) => {
      tokens.push(ctx.token);
      const sid = /(?:^|;\s*)sid=s-([^;]+)/.exec(String(ctx.request.headers.cookie ?? ''))?.[1];
      return ctx.token === undefined && sid ? { userId: sid } : testAuthenticate(ctx);
    };
    const hub = new NotificationHub({ authenticate, closeTimeoutMs: 500 });
    const connections: string[] = [];
    hub.on('connection', (info) => connections.push(info.sessionId));
    const server = createServer((req, res) => {
      if (req.url === '/' || req.url === '/?cookie') {
        const cookie =
          req.url === '/?cookie' ? { 'set-cookie': 'sid=s-browser-user; HttpOnly; SameSite=Strict; Path=/' } : {};
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...cookie });
        res.end(html);
      } else if (req.url === '/client.js') {
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
        res.end(bundle);
      } else if (req.url === '/favicon.ico') {
        res.writeHead(204);
        res.end();
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    hub.attach(server);
    const port = await listen(server);
    f.defer(async () => {
      await hub.close();
      await closeServer(server);
    });
    return { hub, server, connections, tokens, origin: `http://127.0.0.1:${port}` };
  }

  async function openPage(origin: string): Promise<Page> {
    if (!browser) throw new Error('browser did not start');
    const page = await browser.newPage();
    f.defer(() => page.close());
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(msg.text());
    });
    f.defer(() => expect(errors).toEqual([]));
    await page.goto(origin);
    return page;
  }

  /** Waits for the page's client to reach `state`; on timeout, fails with every status it went through. */
  async function statusIs(page: Page, state: string): Promise<void> {
    try {
      await page.waitForFunction((s) => document.getElementById('status')?.textContent === s, state, {
        timeout: 15_000,
      });
    } catch (err) {
      const seen = await page.evaluate(() => JSON.stringify((window as unknown as { statuses: unknown[] }).statuses));
      throw new Error(`page client never reached "${state}"; statuses: ${seen}`, { cause: err });
    }
  }

  const listed = (page: Page) => page.$$eval('#list li', (items) => items.map((li) => li.textContent));

  it('shows a notification published on the hub, received over the browser WebSocket', async () => {
    const { hub, connections, origin } = await serve();
    const page = await openPage(origin);
    await statusIs(page, 'open');
    expect(await page.evaluate(() => typeof WebSocket)).toBe('function');

    await hub.publish('user:browser-user', { kind: 'custom', payload: { text: 'hello from the hub' }, id: 'b1' });
    await page.waitForFunction(
      () => document.getElementById('list')?.textContent?.includes('hello from the hub'),
      null,
      {
        timeout: 15_000,
      },
    );
    expect(await listed(page)).toEqual(['b1: hello from the hub']);
    expect(connections).toHaveLength(1);
  });

  it('authenticates with an HttpOnly session cookie: no token in the page, no auth frame', async () => {
    const { hub, connections, tokens, origin } = await serve();
    const page = await openPage(`${origin}/?cookie`);
    await statusIs(page, 'open');
    // The page's script cannot read the session.
    expect(await page.evaluate(() => document.cookie)).toBe('');
    await hub.publish('user:browser-user', { kind: 'custom', payload: { text: 'by cookie' }, id: 'c1' });
    await page.waitForFunction(() => document.querySelectorAll('#list li').length === 1, null, { timeout: 15_000 });
    expect(await listed(page)).toEqual(['c1: by cookie']);
    expect(connections).toHaveLength(1);
    // `authenticate` ran once, for the upgrade request: no `auth` frame came.
    expect(tokens).toEqual([undefined]);
  });

  it('resumes in the browser after closing and connecting again, with nothing missed', async () => {
    const { hub, connections, origin } = await serve();
    const page = await openPage(origin);
    await statusIs(page, 'open');
    await hub.publish('user:browser-user', { kind: 'custom', payload: { text: 'first' }, id: 'r1' });
    await page.waitForFunction(() => document.querySelectorAll('#list li').length === 1, null, { timeout: 15_000 });

    await page.evaluate(() => (window as unknown as { wardcast: { close(): void } }).wardcast.close());
    await statusIs(page, 'closed');
    await hub.publish('user:browser-user', { kind: 'custom', payload: { text: 'while away' }, id: 'r2' });
    await page.evaluate(() => (window as unknown as { wardcast: { connect(): void } }).wardcast.connect());
    await statusIs(page, 'open');
    await page.waitForFunction(() => document.querySelectorAll('#list li').length >= 2, null, { timeout: 15_000 });

    expect(await listed(page)).toEqual(['r1: first', 'r2: while away']);
    expect(connections).toHaveLength(2);
  });
});
