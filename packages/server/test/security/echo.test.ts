import { createFetchHandler, createNodeHandler, MemoryInbox } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { assessBody, CALM_VITALS_JSON, startAssess, streamingSynthesizer } from '../helpers/assessment.js';
import { nextRef } from '../helpers/client.js';
import { eventually, tokenFor, useHarness } from '../helpers/harness.js';
import { call } from '../http/fixture.js';
import { describeCost, expectBounded, footprint, startControl } from './guard.js';
import { expectNoMarker, MARKER, markerLogger } from './marker.js';

/**
 * Issue 10, defect 3: error messages name fields, types and limits, never what was submitted.
 * A marker standing for a patient name is typed into every box a client controls (bodies,
 * queries, path ids, methods, tokens, origins, frame fields); no error body, `error` frame or
 * log line may repeat it.
 */

const PATIENT_NAME = `Jane ${MARKER} Doe`;

describe('error messages never repeat submitted values', () => {
  const harness = useHarness();

  it('POST /api/assess names the fields in snake_case, keeps units, and never repeats a value', async () => {
    const logger = markerLogger();
    const fx = await startAssess(harness, { llm: streamingSynthesizer() }, { logger }, { logger });

    const res = await fx.request('POST', '/api/assess', {
      body: assessBody('p1', {
        vitals: { ...CALM_VITALS_JSON, pulse: PATIENT_NAME, systolic_bp: 400, consciousness: PATIENT_NAME },
      }),
    });
    const body = (await res.json()) as { error: { code: string; message: string } };

    expect(res.status).toBe(400);
    expect(body.error.code).toBe('invalid_vitals');
    expect(body.error.message).toBe(
      'invalid vitals: systolic_bp: above the plausible range 0-350 mmHg; pulse: expected a finite number, received a string; consciousness: expected one of "A", "C", "V", "P", "U"',
    );
    expectNoMarker(JSON.stringify(body), 'the 400 body');
    expectNoMarker(logger.lines.join('\n'), 'the logs');
    console.log(`[security] POST /api/assess with a name in the pulse box: 400 "${body.error.message}"`);
  });

  it('every assessment error path answers without repeating the submission', async () => {
    const logger = markerLogger();
    const fx = await startAssess(harness, { llm: streamingSynthesizer() }, { logger }, { logger });
    const cases: [string, string, Parameters<typeof fx.request>[2], number][] = [
      ['POST', '/api/assess', { body: assessBody(`${PATIENT_NAME}`) }, 400],
      ['POST', '/api/assess', { body: assessBody('p1', { intake: { chief_complaint: 'x', [PATIENT_NAME]: 1 } }) }, 400],
      ['POST', '/api/assess', { body: assessBody('p1', { intake: { chief_complaint: 'x', age: PATIENT_NAME } }) }, 400],
      ['POST', '/api/assess', { body: assessBody('p1', { intake: { chief_complaint: 'x', sex: PATIENT_NAME } }) }, 400],
      ['POST', '/api/assess', { body: assessBody('p1', { vitals: { ...CALM_VITALS_JSON, [PATIENT_NAME]: 1 } }) }, 400],
      ['POST', '/api/assess', { body: assessBody('p1', { vitals: PATIENT_NAME }) }, 400],
      ['POST', '/api/assess', { body: PATIENT_NAME }, 400],
      ['POST', '/api/assess', { body: `{"patient_id": "${PATIENT_NAME}"` }, 400],
      ['POST', '/api/assess', { body: assessBody('p1'), headers: { 'idempotency-key': MARKER.repeat(20) } }, 400],
      ['POST', '/api/assess', { body: assessBody('p1'), headers: { origin: `http://${MARKER}.example` } }, 403],
      [
        'POST',
        '/api/assess',
        { as: null, body: assessBody('p1'), headers: { authorization: `Bearer ${MARKER}` } },
        401,
      ],
      ['GET', `/api/assess/${MARKER}`, {}, 404],
      ['POST', `/api/assess/${MARKER}/review`, { body: { decision: PATIENT_NAME } }, 404],
      ['POST', `/api/assess/${MARKER}/cancel`, {}, 404],
      ['DELETE', `/api/assess/${MARKER}`, {}, 405],
    ];
    for (const [method, path, options, status] of cases) {
      const res = await fx.request(method, path, options);
      const text = await res.text();
      expect(res.status, `${method} ${path} ${text}`).toBe(status);
      expectNoMarker(text, `${method} ${path} (${status})`);
    }
    // A review of a real assessment with a bad decision and an unknown field.
    const submitted = await fx.request('POST', '/api/assess', { body: assessBody('p2') });
    const { data } = (await submitted.json()) as { data: { assessment_id: string } };
    const review = await fx.request('POST', `/api/assess/${data.assessment_id}/review`, {
      body: { decision: PATIENT_NAME, summary: 42 },
    });
    expectNoMarker(await review.text(), 'the review 400/403');
    expectNoMarker(logger.lines.join('\n'), 'the logs');
    console.log(`[security] ${cases.length + 1} assessment error paths with a marked value: none repeated it`);
  });

  it('every /v1 error path answers without repeating the request', async () => {
    const logger = markerLogger();
    const fx = await harness.start({ inbox: new MemoryInbox(), logger });
    const handler = createNodeHandler(fx.hub, { enableTestNotifications: true, logger });
    fx.server.removeAllListeners('request');
    fx.server.on('request', (req, res) => handler(req, res));
    const base = `http://127.0.0.1:${fx.port}`;
    await fx.hub.publish('user:nurse', { kind: 'custom', id: 'n1', payload: { title: 't' } });
    const testBody = (extra: Record<string, unknown>) => ({ user_id: 'nurse', title: 't', message: 'm', ...extra });
    const cases: [string, string, Parameters<typeof call>[3], number][] = [
      ['GET', `/v1/notifications?cursor=${MARKER}`, { as: 'nurse' }, 400],
      ['GET', `/v1/notifications?cursor=${MARKER}.${'A'.repeat(16)}`, { as: 'nurse' }, 400],
      ['GET', `/v1/notifications?cursor=${MARKER.repeat(80)}`, { as: 'nurse' }, 400],
      ['GET', `/v1/notifications?limit=${MARKER}`, { as: 'nurse' }, 400],
      ['GET', '/v1/notifications', { headers: { authorization: `Bearer ${MARKER}` } }, 401],
      ['POST', `/v1/notifications/${MARKER}/read`, { as: 'nurse' }, 404],
      ['POST', `/v1/notifications/${MARKER}/ack`, { as: 'nurse' }, 404],
      ['POST', `/v1/notifications/${MARKER}%E0%A4%A/read`, { as: 'nurse' }, 400],
      ['POST', `/v1/notifications/${MARKER.repeat(10)}/read`, { as: 'nurse' }, 400],
      ['POST', '/v1/notifications/n1/read', { as: 'nurse', headers: { origin: `http://${MARKER}.example` } }, 403],
      ['POST', '/v1/ws/test-notification', { as: 'nurse', body: testBody({ user_id: PATIENT_NAME }) }, 400],
      ['POST', '/v1/ws/test-notification', { as: 'nurse', body: testBody({ title: 5, message: [PATIENT_NAME] }) }, 400],
      ['POST', '/v1/ws/test-notification', { as: 'nurse', body: testBody({ priority: PATIENT_NAME }) }, 400],
      ['POST', '/v1/ws/test-notification', { as: 'nurse', body: testBody({ title: PATIENT_NAME.repeat(20) }) }, 400],
      ['POST', '/v1/ws/test-notification', { as: 'nurse', body: testBody({ user_id: MARKER }) }, 403],
      ['POST', '/v1/ws/test-notification', { as: 'nurse', body: PATIENT_NAME }, 400],
      ['POST', '/v1/ws/test-notification', { as: 'nurse', rawBody: `{"title":"${PATIENT_NAME}"` }, 400],
      ['POST', '/v1/ws/test-notification', { as: 'nurse', rawBody: `"${PATIENT_NAME.repeat(2_000)}"` }, 413],
      ['GET', '/v1/ws/test-notification', { as: 'nurse' }, 405],
      ['DELETE', `/v1/notifications?cursor=${MARKER}`, { as: 'nurse' }, 405],
    ];
    for (const [method, path, options, status] of cases) {
      const reply = await call(base, method, path, options);
      expect(reply.status, `${method} ${path} ${reply.text}`).toBe(status);
      expectNoMarker(reply.text, `${method} ${path} (${status})`);
    }
    // A Fetch runtime passes any method token; a 405 does not repeat it.
    const fetchHandler = createFetchHandler(fx.hub);
    const res = await fetchHandler(
      new Request(`${base}/v1/notifications`, {
        method: `X${MARKER}`,
        headers: { authorization: `Bearer ${tokenFor('nurse')}` },
      }),
    );
    expect(res.status).toBe(405);
    expectNoMarker(await res.text(), 'the 405 for a marked method');
    expectNoMarker(logger.lines.join('\n'), 'the logs');
    console.log(`[security] ${cases.length + 1} /v1 error paths with a marked value: none repeated it`);
  });

  it('error frames never repeat a frame field, a type or a token, and the hub keeps serving', async () => {
    const logger = markerLogger();
    const fx = await harness.start({ logger, maxInvalidFrames: 100 });
    const control = await startControl(harness, fx);
    const before = await footprint();
    const client = await harness.connectAs(fx, 'nurse');
    const frames: object[] = [
      { type: PATIENT_NAME },
      { type: 'subscribe', topics: [{ topic: PATIENT_NAME }] },
      { type: 'subscribe', topics: [{ topic: 'user:nurse', since: { epoch: PATIENT_NAME, seq: PATIENT_NAME } }] },
      { type: 'subscribe', topics: [{ topic: 'user:nurse', phi: PATIENT_NAME }] },
      { type: 'subscribe', topics: PATIENT_NAME },
      { type: 'unsubscribe', topics: [{ [PATIENT_NAME]: 1 }] },
      { type: 'ack', id: { [PATIENT_NAME]: PATIENT_NAME } },
      { type: 'read', id: MARKER.repeat(20) },
      { type: 'read', id: PATIENT_NAME },
      { type: 'ack', id: PATIENT_NAME },
      { type: 'ping', ts: PATIENT_NAME },
      { type: 'telemetry', enabled: PATIENT_NAME },
      { type: 'auth', token: 42 },
      // Last: a failed re-authentication (the connection may be closed after it).
      { type: 'auth', token: PATIENT_NAME },
    ];
    client.sendText(`{"type":"ack","id":"${PATIENT_NAME}"`);
    client.sendText(`not json ${PATIENT_NAME}`);
    await client.roundTrip();
    for (const frame of frames) {
      const ref = nextRef();
      client.send({ ...frame, ref });
      // Every frame is answered (error, receipt or subscribed) with its ref.
      await eventually(() => client.frames.some((f) => 'ref' in f && f.ref === ref), `a reply to ${ref}`);
    }
    const errors = client.framesOf('error');
    for (const e of errors) expectNoMarker(`${e.code} ${e.message}`, `error frame ${e.code}`);
    expect(errors.length).toBeGreaterThanOrEqual(10);

    // Before authentication: an unknown type and a bad token.
    const anonymous = harness.connect(fx, { label: 'anonymous' });
    await anonymous.opened;
    anonymous.send({ type: PATIENT_NAME });
    anonymous.send({ type: 'auth', token: PATIENT_NAME });
    const closed = await anonymous.waitClose(5_000);
    for (const e of anonymous.framesOf('error')) expectNoMarker(`${e.code} ${e.message}`, `pre-auth error ${e.code}`);
    expectNoMarker(closed.reason, 'the close reason');

    const { delivered } = await control.finish();
    const after = await footprint();
    expectBounded(before, after, { heapMiB: 64, rssMiB: 128, slack: 4 });
    expectNoMarker(logger.lines.join('\n'), 'the logs');
    console.log(
      describeCost(
        'marked frames',
        before,
        after,
        `${frames.length + 2} marked frames, ${errors.length} error frames, none repeated input; control got ${delivered}`,
      ),
    );
  });
});
