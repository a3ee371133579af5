import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { createDemo } from '../src/app.js';
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
      body: JSON.stringify({ user_id: 'nurse-sam', title: 't', message: 'm' }),
    });
    expect(res.status).toBe(401);
  });

  it('delivers a test notification to a ws client signed in as that user', async () => {
    const token = await login('nurse-sam');
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
    ws.send(JSON.stringify({ type: 'subscribe', topics: [{ topic: 'user:nurse-sam' }] }));
    await waitFor('subscribed');
    const res = await fetch(`${base}/v1/ws/test-notification`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ user_id: 'nurse-sam', title: 'Hello', message: 'from the test' }),
    });
    expect(res.status).toBe(200);
    const n = await waitFor('notification');
    expect(n).toMatchObject({
      topic: 'user:nurse-sam',
      kind: 'custom',
      seq: 1,
      payload: { title: 'Hello', message: 'from the test' },
    });
    ws.close();
  });

  it('keeps test notifications in the inbox for an offline user, and still targets patient records', async () => {
    const token = await login('dr-grace');
    const post = (body: object) =>
      fetch(`${base}/v1/ws/test-notification`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    expect((await post({ user_id: 'dr-grace', title: 'Offline', message: 'kept' })).status).toBe(200);
    expect((await post({ user_id: 'dr-ada', title: 'No', message: 'no' })).status).toBe(403);
    const patient = await post({ patient_id: 'p9', title: 'Ward', message: 'update', priority: 'urgent' });
    expect(patient.status).toBe(200);
    expect(((await patient.json()) as { data: { topic: string } }).data.topic).toBe('patient:p9');
    const inbox = await fetch(`${base}/v1/notifications`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await inbox.json()) as { data: { items: { payload: unknown }[]; unread_count: number } };
    expect(body.data.items.map((i) => i.payload)).toEqual([{ title: 'Offline', message: 'kept' }]);
    expect(body.data.unread_count).toBe(1);
  });

  it('signs in only the listed demo users', async () => {
    const res = await fetch(`${base}/api/demo/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'mallory' }),
    });
    expect(res.status).toBe(400);
    expect(
      ((await (await fetch(`${base}/api/demo/directory`)).json()) as { data: { users: unknown[] } }).data.users,
    ).toContainEqual(expect.objectContaining({ id: 'dr-ada', role: 'clinician' }));
  });

  it('keeps patients out of patient records and assessments', async () => {
    const token = await login('p9');
    const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/ws/notifications`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const frames: { type: string; denied?: unknown[] }[] = [];
    ws.on('message', (d) => frames.push(JSON.parse(String(d))));
    await expect.poll(() => frames.some((f) => f.type === 'authenticated')).toBe(true);
    ws.send(JSON.stringify({ type: 'subscribe', topics: [{ topic: 'patient:p9' }, { topic: 'user:p9' }] }));
    await expect.poll(() => frames.find((f) => f.type === 'subscribed')).toBeDefined();
    expect(JSON.stringify(frames.find((f) => f.type === 'subscribed'))).toContain('topic_denied');
    ws.close();
    const assess = await fetch(`${base}/api/assess`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        patient_id: 'p9',
        intake: { chief_complaint: 'feeling unwell' },
        vitals: {
          respiration_rate: 16,
          spo2: 97,
          on_oxygen: false,
          systolic_bp: 120,
          pulse: 80,
          consciousness: 'A',
          temperature: 37,
        },
      }),
    });
    expect(assess.status).toBe(403);
  });

  it('escalates a simulated critical result along the ward chain and reports its deadline', async () => {
    const token = await login('dr-ada');
    const started = Date.now();
    const res = await fetch(`${base}/api/demo/simulate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ scenario: 'critical_lab' }),
    });
    const { id } = ((await res.json()) as { data: { id: string } }).data;
    const status = async (as: string) =>
      fetch(`${base}/api/demo/escalations/${id}`, { headers: { authorization: `Bearer ${as}` } });
    const body = (await (await status(token)).json()) as {
      data: { status: string; deadline: string; next_user: string };
    };
    expect(body.data).toMatchObject({ status: 'pending', next_user: 'dr-grace' });
    const deadline = Date.parse(body.data.deadline);
    expect(deadline).toBeGreaterThan(started);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 120_000);
    // Someone outside the chain (a patient) learns nothing about it.
    expect((await status(await login('p12'))).status).toBe(404);
  });
});
