import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's Chromium; CI installs it (see .ci/run). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where the browser tests save their screenshots. */
export const SCREENSHOT_DIR = join(tmpdir(), 'wardcast-demo-screens');

/** Whether browser tests can run here. Under CI a missing browser is a failure, not a skip. */
export function browserAvailable(): boolean {
  const ok = existsSync(CHROMIUM);
  if (!ok && process.env.CI) throw new Error(`Chromium not found at ${CHROMIUM}; CI must install it`);
  if (!ok) console.warn(`[skip] browser tests: Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`);
  return ok;
}

/**
 * Launches headless Chromium with the flags this machine needs (no network beyond loopback).
 * Playwright gives every launch a fresh temporary profile (it refuses `--user-data-dir` here).
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

let announced = false;

/** Saves a full-page screenshot as `<SCREENSHOT_DIR>/<name>.png`; prints the folder once per file. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  if (!announced) {
    announced = true;
    console.log(`Screenshots: ${SCREENSHOT_DIR}`);
  }
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}
