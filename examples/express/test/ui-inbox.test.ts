import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, screenshot } from './browser.js';
import type { RunningDemo } from './fixture.js';
import {
  hubUnreadCount,
  openDemo,
  sessionToken,
  setUpWeb,
  signInTab,
  simulate,
  unread,
  WAIT,
  waitLive,
  waitUnread,
} from './web-fixture.js';

const TEST_MS = 120_000;

describe.runIf(browserAvailable())('express demo in Chromium: sign-in, inbox, critical results', () => {
  let web: Awaited<ReturnType<typeof setUpWeb>>;
  let browser: Browser;
  let current: Awaited<ReturnType<typeof openDemo>> | undefined;
  let demo: RunningDemo;

  beforeAll(async () => {
    web = await setUpWeb();
    browser = web.browser;
  }, TEST_MS);
  afterAll(() => web?.teardown());
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });

  const open = async () => {
    // Long enough that nothing escalates during a test, short enough to watch the countdown move.
    current = await openDemo(browser, web.webDir, { escalationStepMs: 90_000 });
    demo = current.demo;
    return current.context;
  };

  it(
    'signs a clinician in and shows their name, a live connection and its latency',
    async () => {
      const context = await open();
      const page = await context.newPage();
      await page.goto(demo.base);
      await page.waitForSelector('button[data-user="dr-ada"]', WAIT);
      await screenshot(page, '01-sign-in');
      await page.click('button[data-user="dr-ada"]');
      await waitLive(page);
      expect(await page.textContent('[data-testid="signed-in-user"]')).toBe('Dr Ada Okafor');
      const latency = await page.waitForSelector('[data-testid="latency"]', WAIT);
      expect(await latency.textContent()).toMatch(/^\d+ ms$/);
      expect(await page.getAttribute('[data-testid="connection"]', 'class')).toContain('pill-open');
      await screenshot(page, '02-signed-in');
    },
    TEST_MS,
  );

  it(
    'shows a notification the moment it is published, counted in the unread badge',
    async () => {
      const context = await open();
      const page = await signInTab(context, demo.base, 'dr-ada');
      expect(await unread(page)).toBe(0);
      await simulate(page, 'Lab result');
      const item = await page.waitForSelector('[data-testid="inbox-item"].is-unread', WAIT);
      expect(await item.textContent()).toContain('C-reactive protein');
      await waitUnread(page, 1);
      expect(await page.getAttribute('[data-testid="inbox-list"]', 'aria-live')).toBe('polite');
      await screenshot(page, '03-live-notification');
    },
    TEST_MS,
  );

  it(
    'syncs per-item read state and the unread badge between two tabs of the same user',
    async () => {
      const context = await open();
      const first = await signInTab(context, demo.base, 'dr-ada');
      const second = await signInTab(context, demo.base, 'dr-ada');
      await simulate(first, 'Lab result');
      await simulate(first, 'Bed manager message');
      for (const page of [first, second]) await waitUnread(page, 2);

      const message = '[data-testid="inbox-item"]:has-text("Bed manager")';
      // Chromium throttles background tabs; act in the one in front, as a user would.
      await first.bringToFront();
      await first.click(`${message} button:text-is("Mark read")`);
      await waitUnread(first, 1);
      // The other tab hears of it from the hub (a receipt) and shows that very item as read.
      await second.waitForSelector(`${message}.is-read`, WAIT);
      await waitUnread(second, 1);
      expect(await second.isVisible('[data-testid="inbox-item"]:has-text("C-reactive protein").is-unread')).toBe(true);
      await screenshot(first, '04-two-tabs-first');
      await screenshot(second, '04-two-tabs-second');

      await second.bringToFront();
      await second.click('button:text-is("Mark all read")');
      await waitUnread(second, 0);
      await waitUnread(first, 0);
    },
    TEST_MS,
  );

  it(
    'counts down to the next escalation step of a critical result, and Acknowledge stops it',
    async () => {
      const context = await open();
      const page = await signInTab(context, demo.base, 'dr-ada');
      await simulate(page, 'Critical result');
      const critical = '[data-testid="inbox-item"].priority-critical';
      await page.waitForSelector(
        `${critical} [data-testid="countdown"]:has-text("Escalates to Dr Grace Lindqvist")`,
        WAIT,
      );
      const msLeft = async () =>
        Number(await page.getAttribute(`${critical} [data-testid="countdown"]`, 'data-ms-left'));
      const before = await msLeft();
      expect(before).toBeGreaterThan(30_000);
      expect(before).toBeLessThanOrEqual(90_000);
      // The countdown is live: wait until it has visibly moved on by a second or more.
      await page.waitForFunction(
        ({ selector, from }) => Number(document.querySelector(selector)?.getAttribute('data-ms-left')) <= from - 1_000,
        { selector: `${critical} [data-testid="countdown"]`, from: before },
        WAIT,
      );
      expect(await page.textContent(`${critical} [data-testid="countdown"]`)).toMatch(/in \d+:\d\d$/);
      await screenshot(page, '05-critical-countdown');

      await page.click(`${critical} button:text-is("Acknowledge")`);
      await page.waitForSelector(`${critical} [data-testid="escalation"]:has-text("Acknowledged")`, WAIT);
      expect(await page.isVisible(`${critical} [data-testid="countdown"]`)).toBe(false);
      expect(await page.isVisible(`${critical} button:text-is("Acknowledge")`)).toBe(false);
      // The hub recorded it: the escalation has ended.
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
      await screenshot(page, '06-critical-acknowledged');
    },
    TEST_MS,
  );

  it(
    'keeps the session and the inbox, read state included, across a reload',
    async () => {
      const context = await open();
      const page = await signInTab(context, demo.base, 'nurse-sam');
      await simulate(page, 'Lab result');
      await simulate(page, 'Bed manager message');
      await waitUnread(page, 2);
      await page.click('[data-testid="inbox-item"]:has-text("Bed manager") button:text-is("Mark read")');
      await waitUnread(page, 1);
      // Wait for the hub to have recorded the read before reloading.
      await expect.poll(() => hubUnreadCount(demo.base, page), WAIT).toBe(1);

      await page.reload();
      await waitLive(page);
      expect(await page.textContent('[data-testid="signed-in-user"]')).toBe('Sam Patel');
      expect(await page.isVisible('button[data-user="dr-ada"]')).toBe(false);
      await page.waitForSelector('[data-testid="inbox-item"]:has-text("Bed manager").is-read', WAIT);
      await page.waitForSelector('[data-testid="inbox-item"]:has-text("C-reactive protein").is-unread', WAIT);
      await waitUnread(page, 1);
      expect(await page.locator('[data-testid="inbox-item"]').count()).toBe(2);
      await screenshot(page, '07-after-reload');

      // And the live stream resumed.
      await simulate(page, 'Critical result');
      await page.waitForSelector('[data-testid="inbox-item"].priority-critical', WAIT);
      await waitUnread(page, 2);
    },
    TEST_MS,
  );
});
