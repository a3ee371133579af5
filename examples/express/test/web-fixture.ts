import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { DemoOptions } from '../src/app.js';
import { buildWeb } from '../src/build-web.js';
import { launchBrowser } from './browser.js';
import { type RunningDemo, startDemo, stopDemo } from './fixture.js';

/** Generous waits: these tests must pass on a busy 2-core machine. */
export const WAIT = { timeout: 30_000 } as const;

/**
 * Builds the page into a temporary folder (each test file its own, so files running in parallel
 * never share one), launches Chromium, and returns hooks for a fresh demo and browser context.
 */
export async function setUpWeb(): Promise<{
  webDir: string;
  browser: Browser;
  teardown: () => Promise<void>;
}> {
  const webDir = mkdtempSync(join(tmpdir(), 'wardcast-web-'));
  await buildWeb(webDir);
  const browser = await launchBrowser();
  return {
    webDir,
    browser,
    teardown: async () => {
      await browser.close();
      rmSync(webDir, { recursive: true, force: true });
    },
  };
}

/** Starts a demo serving the bundle in `webDir`, and a new browser context. */
export async function openDemo(
  browser: Browser,
  webDir: string,
  options: DemoOptions = {},
): Promise<{ demo: RunningDemo; context: BrowserContext; close: () => Promise<void> }> {
  const demo = await startDemo({ webDir, ...options });
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  return {
    demo,
    context,
    close: async () => {
      await context.close();
      await stopDemo(demo.demo);
    },
  };
}

/** Opens the page in a new tab and signs in as `userId`; resolves once the connection is live. */
export async function signInTab(context: BrowserContext, base: string, userId: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(base);
  await page.click(`button[data-user="${userId}"]`, WAIT);
  await waitLive(page);
  return page;
}

export async function waitLive(page: Page): Promise<void> {
  await page.waitForSelector('[data-testid="connection-state"]:text-is("Live")', WAIT);
}

/** The unread badge's count. */
export async function unread(page: Page): Promise<number> {
  return Number(await page.getAttribute('[data-testid="unread-badge"]', 'data-count'));
}

/** Waits until the unread badge shows `count`. */
export async function waitUnread(page: Page, count: number): Promise<void> {
  await page.waitForSelector(`[data-testid="unread-badge"][data-count="${count}"]`, WAIT);
}

/** Clicks one of the "Demo: send me" buttons and waits for the server's answer. */
export async function simulate(page: Page, label: string): Promise<void> {
  await page.click(`section[aria-label="Demo controls"] button:text-is("${label}")`);
  await page.waitForSelector(`.demo-note:text-is("Sent: ${label}")`, WAIT);
}

/** The demo token the page keeps in sessionStorage. */
export function sessionToken(page: Page): Promise<string> {
  return page.evaluate(
    () => (JSON.parse(sessionStorage.getItem('wardcast-demo:session') ?? '{}') as { token: string }).token,
  );
}

/** The unread count the hub's inbox holds for the page's signed-in user (`GET /v1/notifications`). */
export async function hubUnreadCount(base: string, page: Page): Promise<number> {
  const token = await sessionToken(page);
  const res = await fetch(`${base}/v1/notifications`, { headers: { authorization: `Bearer ${token}` } });
  return ((await res.json()) as { data: { unread_count: number } }).data.unread_count;
}
