import { NotificationHub } from '@wardcast/server';
import {
  createAssessmentFetchHandler,
  createAssessmentHttpCore,
  createAssessmentPipeline,
} from '@wardcast/server/assessment';
import { afterEach, describe, expect, it } from 'vitest';
import { assessBody, startAssess, streamingSynthesizer } from '../helpers/assessment.js';
import { testAuthenticate, tokenFor, useHarness } from '../helpers/harness.js';

interface Failure {
  success: false;
  error: { code: string; message: string };
}

describe('assessment HTTP endpoints', () => {
  const harness = useHarness();
  const start = () => startAssess(harness, { llm: streamingSynthesizer({ deltas: 2 }) });

  it('answers 401 without credentials, with a typed body', async () => {
    const fx = await start();
    const res = await fx.request('POST', '/api/assess', { as: null, body: assessBody('p1') });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(((await res.json()) as Failure).error.code).toBe('unauthorized');
    expect((await fx.request('GET', '/api/assess/abc', { as: null })).status).toBe(401);
  });

  it.each([
    ['not JSON', '{nope', 'bad_request', /not valid JSON/],
    ['not an object', '[1]', 'invalid_request', /body must be a JSON object/],
    ['a missing patient id', { ...assessBody('x'), patient_id: undefined }, 'invalid_request', /patient_id/],
    ['a bad patient id', assessBody('has space'), 'invalid_request', /patient_id/],
    [
      'a missing chief complaint',
      { ...assessBody('p1'), intake: { age: 3 } },
      'invalid_request',
      /intake\.chief_complaint/,
    ],
    [
      'an implausible respiration rate',
      { ...assessBody('p1'), vitals: { ...(assessBody('p1').vitals as object), respiration_rate: 500 } },
      'invalid_vitals',
      /respiration_rate/,
    ],
    ['missing vitals', { ...assessBody('p1'), vitals: undefined }, 'invalid_vitals', /invalid vitals/],
  ])('answers 400 for %s', async (_what, body, code, message) => {
    const fx = await start();
    const res = await fx.request('POST', '/api/assess', { body });
    expect(res.status).toBe(400);
    const json = (await res.json()) as Failure;
    expect(json.success).toBe(false);
    expect(json.error.code).toBe(code);
    expect(json.error.message).toMatch(message);
    expect(fx.hub.stats().published ?? 0).toBe(0);
  });

  it('answers 413 past maxBodyBytes, 404 for unknown ids, 405 for wrong methods, and passes other paths on', async () => {
    const fx = await startAssess(harness, { llm: streamingSynthesizer() }, { maxBodyBytes: 200 });
    const big = await fx.request('POST', '/api/assess', {
      body: assessBody('p1', { intake: { chief_complaint: 'x'.repeat(500) } }),
    });
    expect(big.status).toBe(413);
    const unknown = await fx.request('GET', '/api/assess/does-not-exist');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as Failure).error.code).toBe('not_found');
    const wrong = await fx.request('DELETE', '/api/assess/abc');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET');
    expect((await fx.request('GET', '/api/other')).status).toBe(404);
  });

  it('lets only the requester read or cancel by default (403 for others)', async () => {
    const fx = await start();
    const res = await fx.request('POST', '/api/assess', { body: assessBody('p1') });
    const { assessment_id: id } = ((await res.json()) as { data: { assessment_id: string } }).data;
    expect((await fx.request('GET', `/api/assess/${id}`, { as: 'dr-kim' })).status).toBe(403);
    expect((await fx.request('POST', `/api/assess/${id}/cancel`, { as: 'dr-kim' })).status).toBe(403);
    expect((await fx.request('GET', `/api/assess/${id}`)).status).toBe(200);
  });

  it('refuses a state-changing request from a foreign Origin (CSRF)', async () => {
    const fx = await start();
    const res = await fx.request('POST', '/api/assess', {
      body: assessBody('p1'),
      headers: { origin: 'https://evil.example' },
    });
    expect(res.status).toBe(403);
  });

  it('uses a custom authenticate and denies when authorize throws', async () => {
    const fx = await startAssess(
      harness,
      { llm: streamingSynthesizer() },
      {
        authenticate: (req) => (req.headers['x-user'] === 'svc' ? { userId: 'svc' } : null),
        authorize: () => {
          throw new Error('policy down');
        },
      },
    );
    expect((await fx.request('POST', '/api/assess', { as: null, body: assessBody('p1') })).status).toBe(401);
    const res = await fx.request('POST', '/api/assess', {
      as: null,
      body: assessBody('p1'),
      headers: { 'x-user': 'svc' },
    });
    expect(res.status).toBe(403);
  });
});

describe('assessment Fetch handler and core', () => {
  const hubs: NotificationHub[] = [];
  afterEach(async () => {
    await Promise.all(hubs.splice(0).map((h) => h.close()));
  });

  it('serves the same endpoints from (Request) => Response', async () => {
    const hub = new NotificationHub({ authenticate: testAuthenticate });
    hubs.push(hub);
    const pipeline = createAssessmentPipeline({ hub, llm: streamingSynthesizer({ deltas: 1, delayMs: 1 }) });
    const handler = createAssessmentFetchHandler(pipeline);
    const authorization = `Bearer ${tokenFor('dr-lee')}`;
    const res = await handler(
      new Request('http://app.test/api/assess', {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify(assessBody('p1')),
      }),
    );
    expect(res.status).toBe(202);
    const location = res.headers.get('location') ?? '';
    const id = ((await res.json()) as { data: { assessment_id: string } }).data.assessment_id;
    expect(location).toBe(`/api/assess/${id}`);
    const got = await handler(new Request(`http://app.test${location}`, { headers: { authorization } }));
    expect(got.status).toBe(200);
    expect(((await got.json()) as { data: { assessment_id: string } }).data.assessment_id).toBe(id);
    expect((await handler(new Request('http://app.test/elsewhere'))).status).toBe(404);
    await pipeline.close();
  });

  it('mounts under a custom path and rejects bad options', async () => {
    const hub = new NotificationHub({ authenticate: testAuthenticate });
    hubs.push(hub);
    const pipeline = createAssessmentPipeline({ hub, llm: streamingSynthesizer() });
    const core = createAssessmentHttpCore(pipeline, { path: '/clinic/assessments/' });
    expect(await core.handle({ method: 'GET', url: '/api/assess/x', headers: {} })).toBeUndefined();
    const result = await core.handle({ method: 'GET', url: '/clinic/assessments/x', headers: {} });
    expect(result?.status).toBe(401);
    expect(() => createAssessmentHttpCore(pipeline, { path: 'api' })).toThrow(/path/);
    expect(() => createAssessmentHttpCore(pipeline, { maxBodyBytes: 0 })).toThrow(/maxBodyBytes/);
    await pipeline.close();
  });
});
