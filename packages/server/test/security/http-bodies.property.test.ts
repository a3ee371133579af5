import { createHttpCore, type HttpCore, type HttpResult, isWardcastError, MemoryInbox } from '@wardcast/server';
import { createAssessmentHttpCore, createAssessmentPipeline } from '@wardcast/server/assessment';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { submitInputOf } from '../../src/assessment/http-json.js';
import { parseReview, parseSubmit } from '../../src/assessment/schemas.js';
import { jsonBody, readWebBody } from '../../src/http/body.js';
import { HttpError } from '../../src/http/errors.js';
import { assessBody, streamingSynthesizer } from '../helpers/assessment.js';
import { tokenFor, useHarness } from '../helpers/harness.js';
import { dump, expectNoMarker, MARKER, markedJson, markerLogger, maybeMarked } from './marker.js';

/**
 * Property tests of every HTTP body parser (issue 10): for arbitrary strings and arbitrary JSON
 * they never throw anything but a documented `HttpError`/`WardcastError`, and no error message,
 * error body or log line repeats the marker planted in the input.
 */

const RUNS = 400;

/** A raw body: arbitrary text, arbitrary (marked) JSON, or JSON cut short. */
const rawBody = fc.oneof(
  maybeMarked,
  fc.string({ unit: 'binary', maxLength: 40 }),
  markedJson().map((v) => JSON.stringify(v)),
  markedJson().map((v) => JSON.stringify(v).slice(0, -1)),
);

/** Fields of the submit and review bodies, so that generated objects reach the schemas. */
const ASSESS_KEYS = [
  'patient_id',
  'intake',
  'vitals',
  'idempotency_key',
  'chief_complaint',
  'age',
  'sex',
  'medications',
  'respiration_rate',
  'spo2',
  'spo2_scale',
  'systolic_bp',
  'pulse',
  'consciousness',
  'temperature',
  'on_oxygen',
  'decision',
  'summary',
];

/** A valid submission with one field (top level, intake or vitals) replaced by marked JSON. */
const submitBody = fc
  .tuple(
    fc.constantFrom('', 'intake', 'vitals'),
    fc.constantFrom(...ASSESS_KEYS),
    markedJson(ASSESS_KEYS),
    fc.boolean(),
  )
  .map(([section, key, value, unknownKey]) => {
    const body = assessBody('p1') as Record<string, Record<string, unknown>>;
    const target = section === '' ? body : { ...body[section] };
    target[unknownKey ? `${key}_${MARKER}` : key] = value;
    return section === '' ? body : { ...body, [section]: target };
  });

/** Asserts an error result repeats nothing; returns whether it was an error. */
function expectQuietError(result: HttpResult | undefined, where: string): boolean {
  expect(result, `${where}: answered`).toBeDefined();
  if (!result || result.status < 400) return false;
  expectNoMarker(JSON.stringify(result.body), `${where} ${result.status}`);
  return true;
}

/** Calls `core.handle` and fails the test if it rejects. */
async function handle(core: HttpCore, req: Parameters<HttpCore['handle']>[0]): Promise<HttpResult | undefined> {
  try {
    return await core.handle(req);
  } catch (error) {
    throw new Error(`handle rejected: ${String(error)}`);
  }
}

describe('HTTP body parsers (property)', () => {
  const harness = useHarness();

  it('jsonBody parses or refuses with a 400/413 HttpError that repeats none of the body', async () => {
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(rawBody, async (text) => {
        try {
          const value = await jsonBody({ method: 'POST', url: '/', headers: {}, readBody: async () => text }, 256);
          expect(value).toEqual(JSON.parse(text));
        } catch (error) {
          expect(error).toBeInstanceOf(HttpError);
          expect([400, 413]).toContain((error as HttpError).status);
          expectNoMarker((error as HttpError).message, 'jsonBody error');
          refused++;
        }
      }),
      { numRuns: RUNS },
    );
    // A body a framework already parsed: measured, never serialized into a message.
    await fc.assert(
      fc.asyncProperty(markedJson(), async (body) => {
        const value = await jsonBody({ method: 'POST', url: '/', headers: {}, body }, 64).catch((e: unknown) => e);
        if (value instanceof Error) {
          expect(value).toBeInstanceOf(HttpError);
          expectNoMarker(value.message, 'jsonBody error');
        }
      }),
      { numRuns: RUNS },
    );
    const cyclic: Record<string, unknown> = { name: MARKER };
    cyclic.self = cyclic;
    const error = await jsonBody({ method: 'POST', url: '/', headers: {}, body: cyclic }, 64).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(400);
    console.log(
      `[property] jsonBody: ${RUNS} raw bodies (${refused} refused) and ${RUNS} parsed bodies; no echo, only HttpError`,
    );
  });

  it('readWebBody returns the text or refuses with 413, whatever the bytes and declared length', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.option(fc.nat(1_000)), async (bytes, declared) => {
        const headers: Record<string, string> = declared === null ? {} : { 'content-length': String(declared) };
        const request = new Request('http://127.0.0.1/', { method: 'POST', body: bytes, headers });
        try {
          const text = await readWebBody(request, 200);
          expect(text).toBe(new TextDecoder().decode(bytes));
        } catch (error) {
          expect(error).toBeInstanceOf(HttpError);
          expect((error as HttpError).status).toBe(413);
        }
      }),
      { numRuns: 200 },
    );
    console.log('[property] readWebBody: 200 arbitrary byte bodies; text or 413 only');
  });

  it('the assessment request parsing throws only invalid_request/invalid_vitals, never repeating the input', () => {
    let refused = 0;
    fc.assert(
      fc.property(fc.oneof(submitBody, markedJson(ASSESS_KEYS)), fc.option(maybeMarked), (body, key) => {
        try {
          parseSubmit(submitInputOf(body, 'dr-lee', key ?? undefined));
        } catch (error) {
          expect(isWardcastError(error), dump(error)).toBe(true);
          expect(['invalid_request', 'invalid_vitals']).toContain((error as { code: string }).code);
          expectNoMarker((error as Error).message, 'parseSubmit error');
          refused++;
        }
        try {
          parseReview({
            reviewedBy: 'dr-lee',
            ...(typeof body === 'object' && body !== null ? body : { decision: body }),
          });
        } catch (error) {
          expect(isWardcastError(error, 'invalid_request'), dump(error)).toBe(true);
          expectNoMarker((error as Error).message, 'parseReview error');
        }
      }),
      { numRuns: RUNS * 2 },
    );
    expect(refused).toBeGreaterThan(RUNS);
    console.log(
      `[property] parseSubmit/parseReview: ${RUNS * 2} marked bodies, ${refused} refused, none repeated input`,
    );
  });

  it('every POST endpoint core answers arbitrary bodies without rejecting or repeating them', async () => {
    const logger = markerLogger();
    const fx = await harness.start({ inbox: new MemoryInbox(), logger });
    const pipeline = createAssessmentPipeline({ hub: fx.hub, llm: streamingSynthesizer({ deltas: 1, delayMs: 1 }) });
    const cores: [string, HttpCore][] = [
      ['v1', createHttpCore(fx.hub, { enableTestNotifications: true, logger })],
      ['assess', createAssessmentHttpCore(pipeline, { logger, authorize: () => true })],
    ];
    const { assessment_id: existing } = (
      (await handle(cores[1]?.[1] as HttpCore, {
        method: 'POST',
        url: '/api/assess',
        headers: { authorization: `Bearer ${tokenFor('dr-lee')}` },
        body: assessBody('p1'),
      })) as { body: { data: { assessment_id: string } } }
    ).body.data;
    const urls = [
      '/v1/ws/test-notification',
      '/v1/notifications/n1/read',
      '/api/assess',
      `/api/assess/${existing}/review`,
      `/api/assess/${existing}/cancel`,
    ];
    const body = fc.oneof(
      rawBody.map((text) => ({ readBody: async () => text })),
      fc
        .oneof(submitBody, markedJson(['user_id', 'title', 'message', 'priority', ...ASSESS_KEYS]))
        .map((b) => ({ body: b })),
    );
    let errors = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...urls), body, async (url, source) => {
        for (const [name, core] of cores) {
          const result = await handle(core, {
            method: 'POST',
            url,
            headers: { authorization: `Bearer ${tokenFor('dr-lee')}`, 'content-type': 'application/json' },
            ...source,
          });
          if (result === undefined) continue; // not this core's path
          if (expectQuietError(result, `${name} POST ${url}`)) errors++;
        }
      }),
      { numRuns: RUNS },
    );
    await pipeline.close();
    expectNoMarker(logger.lines.join('\n'), 'the logs');
    console.log(
      `[property] HTTP cores: ${RUNS} arbitrary bodies on ${urls.length} POST endpoints, ${errors} error answers, none repeated input`,
    );
  });

  it('over real HTTP, arbitrary bodies get error answers that repeat none of them', async () => {
    const logger = markerLogger();
    const fx = await harness.start({ inbox: new MemoryInbox(), logger });
    const pipeline = createAssessmentPipeline({ hub: fx.hub, llm: streamingSynthesizer({ deltas: 1, delayMs: 1 }) });
    const v1 = createHttpCore(fx.hub, { enableTestNotifications: true, logger, maxBodyBytes: 512 });
    const assess = createAssessmentHttpCore(pipeline, { logger, maxBodyBytes: 512 });
    const { nodeHandlerOf } = await import('../../src/http/node.js');
    const handlers = [nodeHandlerOf(v1), nodeHandlerOf(assess)];
    fx.server.removeAllListeners('request');
    fx.server.on('request', (req, res) => {
      const [first, second] = handlers;
      first?.(req, res, () => second?.(req, res));
    });
    const base = `http://127.0.0.1:${fx.port}`;
    const runs = 80;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/v1/ws/test-notification', '/api/assess', '/v1/notifications/x/ack'),
        fc.oneof(
          rawBody,
          submitBody.map((b) => JSON.stringify(b)),
          fc.constant(`"${MARKER.repeat(60)}"`),
        ),
        async (path, text) => {
          const res = await fetch(`${base}${path}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${tokenFor('dr-lee')}`, 'content-type': 'application/json' },
            body: text,
          });
          const answer = await res.text();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect(res.status).toBeLessThan(500);
          if (res.status >= 400) expectNoMarker(answer, `POST ${path} ${res.status}`);
        },
      ),
      { numRuns: runs },
    );
    await pipeline.close();
    expectNoMarker(logger.lines.join('\n'), 'the logs');
    console.log(
      `[property] real HTTP: ${runs} arbitrary bodies; statuses ${JSON.stringify(Object.fromEntries(statuses))}; none repeated input`,
    );
  });
});
