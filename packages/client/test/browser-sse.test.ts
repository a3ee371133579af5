import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createNodeHandler, NotificationHub } from '@wardcast/server';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleModule } from './helpers/bundle.js';
import { CHROMIUM, launchChromium } from './helpers/chromium.js';
import { closeServer, eventually, listen, testAuthenticate, useFixtures } from './helpers/fixtures.js';

const f = useFixtures();
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** The core and `@wardcast/client/sse`, bundled for the browser as an app would. */
const bundle = () =>
  bundleModule(
    `export * from ${JSON.stringify(here('../src/index.ts'))}; export { SseSocket } from ${JSON.stringify(here('../src/sse.ts'))};`,
  );

const PAGE = `<!doctype html><html><body><p id="status">loading</p><ul id="list"></ul>
<script type="module">
  import { createNotificationClient, SseSocket } from '/client.js';
  const client = createNotificationClient({
    url: \`ws://\${location.host}/v1/ws/notifications\`,
    token: 'tok:browser-user',
    topics: ['user:browser-user'],
    SSE: SseSocket,
    backoff: { initialDelayMs: 20, maxDelayMs: 200 },
  });
  client.on('status', (s) => { document.getElementById('status').textContent = s.state; });
  client.on('notification', (n) => {
    const li = document.createElement('li');
    li.textContent = n.id;
    document.getElementById('list').append(li);
    client.ack(n.id);
  });
  window.wardcast = client;
</script></body></html>`;

describe.runIf(existsSync(CHROMIUM))('browser fallback to SSE (Chromium)', () => {
  let browser: Browser | undefined;
  let code = '';

  beforeAll(async () => {
    [code, browser] = await Promise.all([bundle(), launchChromium()]);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('lands on SSE where upgrades are refused, receives, acks and resumes after a reconnect', async () => {
    const hub = new NotificationHub({ authenticate: testAuthenticate, closeTimeoutMs: 500 });
    const acks: string[] = [];
    hub.on('ack', (e) => acks.push(e.id));
    let subscribes = 0;
    hub.on('subscribe', () => subscribes++);
    const wardcast = createNodeHandler(hub);
    let upgrades = 0;
    const server = createServer((req, res) =>
      wardcast(req, res, () => {
        if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
        else if (req.url === '/client.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(code);
        else res.writeHead(404).end();
      }),
    );
    // A network that blocks WebSockets: every upgrade is refused.
    server.on('upgrade', (_req, socket) => {
      upgrades++;
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    const port = await listen(server);
    f.defer(async () => {
      await hub.close();
      await closeServer(server);
    });
    const page = await (browser as Browser).newPage();
    f.defer(() => page.close());
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'open', null, {
      timeout: 15_000,
    });
    expect(upgrades).toBe(1);
    expect(await page.evaluate(() => localStorage.getItem('wardcast:transport'))).toMatch(/^sse \d+$/);

    await eventually(() => subscribes === 1, 'the page subscribed over SSE');
    await hub.publish('user:browser-user', { kind: 'custom', payload: {}, id: 'b1' });
    await page.waitForFunction(() => document.querySelectorAll('#list li').length === 1, null, { timeout: 15_000 });
    await eventually(() => acks.includes('b1'), 'the ack arrived by POST');

    await page.evaluate(() => (window as unknown as { wardcast: { close(): void } }).wardcast.close());
    await hub.publish('user:browser-user', { kind: 'custom', payload: {}, id: 'b2' });
    await page.evaluate(() => (window as unknown as { wardcast: { connect(): void } }).wardcast.connect());
    await page.waitForFunction(() => document.querySelectorAll('#list li').length === 2, null, { timeout: 15_000 });
    expect(await page.$$eval('#list li', (items) => items.map((li) => li.textContent))).toEqual(['b1', 'b2']);
    // The remembered transport: no second upgrade attempt.
    expect(upgrades).toBe(1);
  });
});
