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

const body = {
  patient_id: 'p9',
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
};

describe('express demo: assessments', () => {
  it('streams an assessment of the local adapter to patient:<id> and lets a dr- user sign it off', async () => {
    const token = await login('dr-ada');
    const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/ws/notifications`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const frames: { type: string; kind?: string; payload?: { status?: string; stage?: string } }[] = [];
    ws.on('message', (d) => frames.push(JSON.parse(String(d))));
    const until = async (ok: () => boolean) => {
      for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
      expect(ok()).toBe(true);
    };
    await until(() => frames.some((f) => f.type === 'authenticated'));
    ws.send(JSON.stringify({ type: 'subscribe', topics: [{ topic: 'patient:p9' }] }));
    await until(() => frames.some((f) => f.type === 'subscribed'));

    const res = await fetch(`${base}/api/assess`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(202);
    const id = ((await res.json()) as { data: { assessment_id: string } }).data.assessment_id;
    await until(() => frames.some((f) => f.kind === 'diagnosis_update'));
    const stages = frames.filter((f) => f.kind === 'assessment_progress').map((f) => f.payload?.stage);
    expect(stages.slice(0, 3)).toEqual(['queued', 'scoring', 'synthesis']);

    const got = await fetch(`${base}/api/assess/${id}`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await got.json()) as { data: unknown }).data).toMatchObject({
      status: 'preliminary',
      risk: { scorer: 'news2', band: 'high' },
      synthesis: { adapter: 'local' },
    });
    const nurse = await login('nurse-sam');
    const review = (as: string) =>
      fetch(`${base}/api/assess/${id}/review`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${as}` },
        body: JSON.stringify({ decision: 'final' }),
      });
    expect((await review(nurse)).status).toBe(403);
    expect((await review(token)).status).toBe(200);
    await until(() => frames.some((f) => f.kind === 'diagnosis_update' && f.payload?.status === 'final'));
    ws.close();
  });
});
