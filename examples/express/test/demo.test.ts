import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { createDemo } from '../src/app.js';
import { browserAvailable, launchBrowser } from './browser.js';
import { login as signIn, startDemo, stopDemo } from './fixture.js';

let demo: ReturnType<typeof createDemo>;
let base: string;

beforeEach(async () => {
  ({ demo, base } = await startDemo());
});

afterEach(() => stopDemo(demo));

const login = (userId: string): Promise<string> => signIn(base, userId);

describe('express demo', () => {
  it('answers /v1/ws/stats in the seed product shape', async () => {
    const res = await fetch(`${base}/v1/ws/stats`);
    const body = (await res.json()) as { success: boolean; data: { connected_clients: number; status: string } };
    expect(body.success).toBe(true);
    expect(body.data).toMatchObject({ connected_clients: 0, status: 'active' });
  });

  it('refuses a test notification without a signed-in token', async () => {
    const res = await fetch(`${base}/v1/ws/test-notification`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer forged.1.x' },
      body: JSON.stringify({ user_id: 'u1', title: 't', message: 'm' }),
    });
    expect(res.status).toBe(401);
  });

  it('delivers a test notification to a ws client signed in as that user', async () => {
    const token = await login('u1');
    const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/ws/notifications`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const frames: { type: string; [k: string]: unknown }[] = [];
    const waitFor = (type: string) =>
      new Promise<{ [k: string]: unknown }>((resolve) => {
        const check = () => {
          const f = frames.find((x) => x.type === type);
          if (f) resolve(f);
          else setTimeout(check, 10);
        };
        check();
      });
    ws.on('message', (d) => frames.push(JSON.parse(String(d))));
    await waitFor('authenticated');
    ws.send(JSON.stringify({ type: 'subscribe', topics: [{ topic: 'user:u1' }] }));
    await waitFor('subscribed');
    const res = await fetch(`${base}/v1/ws/test-notification`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ user_id: 'u1', title: 'Hello', message: 'from the test' }),
    });
    expect(res.status).toBe(200);
    const n = await waitFor('notification');
    expect(n).toMatchObject({
      topic: 'user:u1',
      kind: 'custom',
      seq: 1,
      payload: { title: 'Hello', message: 'from the test' },
    });
    ws.close();
  });

  it('keeps test notifications in the inbox for an offline user, and still targets patient records', async () => {
    const token = await login('u2');
    const post = (body: object) =>
      fetch(`${base}/v1/ws/test-notification`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    expect((await post({ user_id: 'u2', title: 'Offline', message: 'kept' })).status).toBe(200);
    expect((await post({ user_id: 'someone-else', title: 'No', message: 'no' })).status).toBe(403);
    const patient = await post({ patient_id: 'p9', title: 'Ward', message: 'update', priority: 'urgent' });
    expect(patient.status).toBe(200);
    expect(((await patient.json()) as { data: { topic: string } }).data.topic).toBe('patient:p9');
    const inbox = await fetch(`${base}/v1/notifications`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await inbox.json()) as { data: { items: { payload: unknown }[]; unread_count: number } };
    expect(body.data.items.map((i) => i.payload)).toEqual([{ title: 'Offline', message: 'kept' }]);
    expect(body.data.unread_count).toBe(1);
  });

  it.runIf(browserAvailable())('shows a notification live in the dashboard page in Chromium', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(base);
      await page.fill('#userId', 'dr-lee');
      await page.click('#login button');
      await page.waitForSelector('#status.open');
      await page.fill('#title', 'Critical potassium');
      await page.selectOption('#priority', 'critical');
      await page.click('#send button');
      const item = await page.waitForSelector('#list li.critical');
      expect(await item.textContent()).toContain('Critical potassium');
      expect(await page.textContent('#sendResult')).toContain('seq 1');
    } finally {
      await browser.close();
    }
  });
});
