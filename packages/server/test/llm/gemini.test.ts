import { GoogleGenAI } from '@google/genai';
import { isWardcastError, type WardcastError } from '@wardcast/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createGeminiAdapter } from '../../src/llm/gemini.js';
import { createResilientLlm } from '../../src/llm/resilient.js';
import { synthesisJsonSchema } from '../../src/llm/schema.js';
import { type FakeVendor, GEMINI_REPORTED_MODEL, type Step, split, startFakeVendor } from './helpers/fake-vendor.js';
import { input, recordingSleep, synthesis, synthesisJson } from './helpers/fixtures.js';

let vendor: FakeVendor | undefined;
afterEach(async () => {
  await vendor?.close();
  vendor = undefined;
});

async function setup(steps: Step[]) {
  vendor = await startFakeVendor('gemini', steps);
  const adapter = createGeminiAdapter({ apiKey: 'g-test', httpOptions: { baseUrl: vendor.origin } });
  return { vendor, adapter };
}

async function rejection(promise: Promise<unknown>): Promise<WardcastError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  if (!isWardcastError(error)) throw error;
  return error;
}

const request = () => ({
  system: 'sys',
  prompt: 'hello',
  jsonSchema: synthesisJsonSchema,
  signal: new AbortController().signal,
});

const retryInfo = (seconds: number) => ({
  error: {
    code: 429,
    message: 'Resource has been exhausted (e.g. check quota).',
    status: 'RESOURCE_EXHAUSTED',
    details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${seconds}s` }],
  },
});

describe('Gemini adapter through @google/genai', () => {
  it('streams deltas to onText and returns the parsed JSON', async () => {
    const { vendor, adapter } = await setup([{ kind: 'text', deltas: split(synthesisJson) }]);
    const deltas: string[] = [];
    const response = await adapter.generate({ ...request(), onText: (d) => deltas.push(d) });
    expect(response.output).toEqual(synthesis);
    expect(response.model).toBe(GEMINI_REPORTED_MODEL);
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe(synthesisJson);

    const [recorded] = vendor.requests;
    expect(recorded?.url).toBe('/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse');
    expect(recorded?.headers['x-goog-api-key']).toBe('g-test');
    expect(recorded?.body).toMatchObject({
      contents: [{ role: 'user', parts: [{ text: 'hello' }] }],
      systemInstruction: { parts: [{ text: 'sys' }] },
      generationConfig: { responseMimeType: 'application/json', responseJsonSchema: synthesisJsonSchema },
    });
  });

  it('maps 429 (Retry-After header or RetryInfo), 503 and 403', async () => {
    const { adapter } = await setup([
      { kind: 'status', status: 429, headers: { 'retry-after': '2' } },
      { kind: 'status', status: 429, body: retryInfo(7) },
      { kind: 'status', status: 503 },
      { kind: 'status', status: 403 },
    ]);
    await expect(adapter.generate(request())).rejects.toMatchObject({ kind: 'rate_limited', retryAfterSeconds: 2 });
    await expect(adapter.generate(request())).rejects.toMatchObject({ kind: 'rate_limited', retryAfterSeconds: 7 });
    await expect(adapter.generate(request())).rejects.toMatchObject({ kind: 'server', status: 503 });
    await expect(adapter.generate(request())).rejects.toMatchObject({ kind: 'client', status: 403 });
  });

  it('reads RetryInfo with a caller-supplied client', async () => {
    vendor = await startFakeVendor('gemini', [{ kind: 'status', status: 429, body: retryInfo(3) }]);
    const client = new GoogleGenAI({ apiKey: 'g-test', httpOptions: { baseUrl: vendor.origin } });
    const adapter = createGeminiAdapter({ client, model: 'gemini-2.5-flash' });
    await expect(adapter.generate(request())).rejects.toMatchObject({ kind: 'rate_limited', retryAfterSeconds: 3 });
    expect(vendor.requests[0]?.url).toContain('/models/gemini-2.5-flash:streamGenerateContent');
  });

  it('maps a refused connection to network', async () => {
    const { vendor, adapter } = await setup([{ kind: 'hang' }]);
    await vendor.close();
    await expect(adapter.generate(request())).rejects.toMatchObject({ kind: 'network' });
  });
});

describe('resilient wrapper over Gemini', () => {
  it('retries a 429 after its retry delay', async () => {
    const { vendor, adapter } = await setup([
      { kind: 'status', status: 429, body: retryInfo(1) },
      { kind: 'text', deltas: split(synthesisJson) },
    ]);
    const { sleep, delays } = recordingSleep();
    const result = await createResilientLlm({ adapters: [adapter], sleep }).synthesize(input);
    expect(result).toMatchObject({
      adapter: 'gemini',
      model: 'gemini-2.0-flash',
      version: GEMINI_REPORTED_MODEL,
      attempts: 2,
    });
    expect(delays[0]).toBeGreaterThanOrEqual(1000);
    expect(vendor.requests).toHaveLength(2);
  });

  it('retries a 500', async () => {
    const { adapter } = await setup([
      { kind: 'status', status: 500 },
      { kind: 'text', deltas: [synthesisJson] },
    ]);
    const result = await createResilientLlm({ adapters: [adapter], sleep: recordingSleep().sleep }).synthesize(input);
    expect(result.attempts).toBe(2);
  });

  it('times out a silent server and retries', async () => {
    const { vendor, adapter } = await setup([{ kind: 'hang' }, { kind: 'text', deltas: [synthesisJson] }]);
    const llm = createResilientLlm({ adapters: [adapter], attemptTimeoutMs: 300, sleep: recordingSleep().sleep });
    const result = await llm.synthesize(input);
    expect(result.attempts).toBe(2);
    await vendor.waitForClientClose(1);
  });

  it('asks once for a repair after malformed JSON, then fails with a typed error', async () => {
    const { vendor, adapter } = await setup([{ kind: 'text', deltas: ['not', ' json'] }]);
    const error = await rejection(createResilientLlm({ adapters: [adapter] }).synthesize(input));
    expect(error.code).toBe('llm_failed');
    expect(error.cause).toMatchObject({ kind: 'bad_output' });
    expect(vendor.requests).toHaveLength(2);
  });

  it('cancels mid-stream: the connection closes, llm_cancelled, no retry', async () => {
    const { vendor, adapter } = await setup([{ kind: 'text', deltas: split(synthesisJson), holdOpen: true }]);
    const controller = new AbortController();
    let seen = 0;
    const error = await rejection(
      createResilientLlm({ adapters: [adapter] }).synthesize(input, {
        signal: controller.signal,
        onText: () => {
          seen += 1;
          if (seen === 2) controller.abort();
        },
      }),
    );
    expect(error.code).toBe('llm_cancelled');
    await vendor.waitForClientClose(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(vendor.requests).toHaveLength(1);
  });

  it('never sends the email, phone or MRN in the intake', async () => {
    const { vendor, adapter } = await setup([{ kind: 'text', deltas: [synthesisJson] }]);
    await createResilientLlm({ adapters: [adapter] }).synthesize(input);
    const raw = vendor.requests[0]?.raw ?? '';
    expect(raw).not.toMatch(/jane\.doe@example\.org|555|00482913/);
    expect(raw).toContain('[EMAIL]');
  });
});
