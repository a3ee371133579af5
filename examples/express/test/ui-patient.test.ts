import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, screenshot } from './browser.js';
import { openDemo, setUpWeb, signInTab, WAIT } from './web-fixture.js';

const TEST_MS = 120_000;

/** Records every text the assessment panel shows, from before the request on. */
async function recordAssessmentTexts(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __texts: { stage: string; text: string }[] };
    w.__texts = [];
    const record = () => {
      const panel = document.querySelector('[data-testid="assessment"]');
      if (panel) w.__texts.push({ stage: panel.getAttribute('data-stage') ?? '', text: panel.textContent ?? '' });
    };
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

describe.runIf(browserAvailable())('express demo in Chromium: the patient record', () => {
  let web: Awaited<ReturnType<typeof setUpWeb>>;
  let browser: Browser;
  let current: Awaited<ReturnType<typeof openDemo>> | undefined;

  beforeAll(async () => {
    web = await setUpWeb();
    browser = web.browser;
  }, TEST_MS);
  afterAll(() => web?.teardown());
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });

  it(
    'shows who else is viewing the patient, and updates when they leave',
    async () => {
      current = await openDemo(browser, web.webDir);
      const { context, demo } = current;
      const ada = await signInTab(context, demo.base, 'dr-ada');
      const grace = await signInTab(context, demo.base, 'dr-grace');
      // Both open Maria Lopez's record (the default).
      await ada.bringToFront();
      await ada.waitForSelector('[data-testid="also-viewing"]:has-text("Also viewing: Dr Grace Lindqvist")', WAIT);
      await grace.waitForSelector('[data-testid="also-viewing"]:has-text("Also viewing: Dr Ada Okafor")', WAIT);
      await screenshot(ada, '08-presence');

      await grace.bringToFront();
      await grace.click('button.patient-tab:has-text("Tom Becker")');
      await grace.waitForSelector('[data-testid="also-viewing"]:has-text("No one else is viewing")', WAIT);
      await ada.bringToFront();
      await ada.waitForSelector('[data-testid="also-viewing"]:has-text("No one else is viewing")', WAIT);
    },
    TEST_MS,
  );

  it(
    'streams the synthesis as readable prose, then shows the diagnosis card, and a doctor signs it off',
    async () => {
      current = await openDemo(browser, web.webDir);
      const { context, demo } = current;
      const patient = await signInTab(context, demo.base, 'p9');
      const page = await signInTab(context, demo.base, 'dr-ada');
      await recordAssessmentTexts(page);
      await page.click('button:text-is("Request assessment")');

      // While it streams: sentences, never JSON. (A very slow machine may reach the diagnosis before
      // this screenshot; the recorded texts below are what the assertions rest on.)
      await page.waitForFunction(
        () =>
          /presenting with [^.]+\./.test(document.querySelector('[data-testid="synthesis"]')?.textContent ?? '') ||
          document.querySelector('[data-testid="diagnosis"]') !== null,
        undefined,
        WAIT,
      );
      await screenshot(page, '09-assessment-streaming');
      await page.waitForSelector('[data-testid="diagnosis"][data-status="preliminary"]', WAIT);
      await page.waitForSelector('[data-testid="diagnosis"] ol li', WAIT);
      await screenshot(page, '10-diagnosis-preliminary');

      const texts = await page.evaluate(
        () => (window as unknown as { __texts: { stage: string; text: string }[] }).__texts,
      );
      const streamed = texts.filter((t) => t.stage === 'synthesis').map((t) => t.text);
      expect(streamed.length).toBeGreaterThan(0);
      expect(streamed.some((t) => /\b71-year-old woman presenting with fever and new confusion\./.test(t))).toBe(true);
      for (const t of texts) {
        expect(t.text).not.toContain('{');
        expect(t.text).not.toContain('"summary"');
      }
      const card = (await page.textContent('[data-testid="diagnosis"]')) ?? '';
      expect(card).toContain('Sepsis');
      expect(card).toMatch(/NEWS2 \d+ · high clinical risk/);
      expect(card).not.toContain('{');

      // The patient has heard nothing yet: preliminary diagnoses are for clinicians.
      expect(await patient.locator('[data-testid="inbox-item"]').count()).toBe(0);

      await page.click('button:text-is("Sign off as final")');
      await page.waitForSelector('[data-testid="diagnosis"][data-status="final"]', WAIT);
      await page.waitForSelector('[data-testid="signed-off-by"]:has-text("Signed off by Dr Ada Okafor")', WAIT);
      expect(await page.isVisible('button:text-is("Sign off as final")')).toBe(false);
      await screenshot(page, '11-diagnosis-signed-off');

      await patient.bringToFront();
      await patient.waitForSelector('[data-testid="inbox-item"]:has-text("Diagnosis final")', WAIT);
      await screenshot(patient, '12-patient-inbox');
    },
    TEST_MS,
  );

  it(
    'does not offer the sign-off to a nurse',
    async () => {
      current = await openDemo(browser, web.webDir);
      const { context, demo } = current;
      const page = await signInTab(context, demo.base, 'nurse-sam');
      await page.click('button:text-is("Request assessment")');
      await page.waitForSelector('[data-testid="diagnosis"][data-status="preliminary"]', WAIT);
      expect(await page.isVisible('button:text-is("Sign off as final")')).toBe(false);
    },
    TEST_MS,
  );
});
