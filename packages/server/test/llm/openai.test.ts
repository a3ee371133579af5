import { isWardcastError, type WardcastError } from '@wardcast/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createOpenAIAdapter } from '../../src/llm/openai.js';
import { createResilientLlm } from '../../src/llm/resilient.js';
import { synthesisJsonSchema } from '../../src/llm/schema.js';
import { type FakeVendor, OPENAI_REPORTED_MODEL, type Step, split, startFakeVendor } from './helpers/fake-vendor.js';
import { input, recordingSleep, synthesis, synthesisJson } from './helpers/fixtures.js';

let vendor: FakeVendor | undefined;
afterEach(async () => {
  await vendor?.close();
  vendor = undefined;
});

async function setup(steps: Step[]) {
  vendor = await startFakeVendor('openai', steps);
  const adapter = createOpenAIAdapter({ apiKey: 'sk-test', baseURL: `${vendor.origin}/v1`, model: 'gpt-4o' });
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

describe('OpenAI adapter through the openai SDK', () => {
  it('streams deltas to onText and returns the parsed JSON', async () => {
    const { vendor, adapter } = await setup([{ kind: 'text', deltas: split(synthesisJson) }]);
    const deltas: string[] = [];
    const response = await adapter.generate({
      system: 'sys',
      prompt: 'hello',
      jsonSchema: synthesisJsonSchema,
      signal: new AbortController().signal,
      onText: (d) => deltas.push(d),
    });
    expect(response.output).toEqual(synthesis);
    expect(response.text).toBe(synthesisJson);
    expect(response.model).toBe(OPENAI_REPORTED_MODEL);
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe(synthesisJson);

    const [request] = vendor.requests;
    expect(request?.method).toBe('POST');
    expect(request?.headers.authorization).toBe('Bearer sk-test');
    expect(request?.body).toMatchObject({
      model: 'gpt-4o',
      stream: true,
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'hello' },
      ],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'synthesis', strict: true, schema: synthesisJsonSchema },
      },
    });
  });

  it('maps 429 with Retry-After to rate_limited, 500 to server, 400 to client (no SDK retries)', async () => {
    const { vendor, adapter } = await setup([
      { kind: 'status', status: 429, headers: { 'retry-after': '1' } },
      { kind: 'status', status: 500 },
      { kind: 'status', status: 400 },
    ]);
    const call = () =>
      adapter.generate({
        system: 's',
        prompt: 'p',
        jsonSchema: synthesisJsonSchema,
        signal: new AbortController().signal,
      });
    await expect(call()).rejects.toMatchObject({
      name: 'LlmError',
      kind: 'rate_limited',
      status: 429,
      retryAfterSeconds: 1,
    });
    await expect(call()).rejects.toMatchObject({ kind: 'server', status: 500 });
    await expect(call()).rejects.toMatchObject({ kind: 'client', status: 400 });
    expect(vendor.requests).toHaveLength(3);
  });

  it('fails fast with invalid_option when no API key is available', () => {
    vi.stubEnv('OPENAI_API_KEY', '');
    try {
      expect(() => createOpenAIAdapter()).toThrow(expect.objectContaining({ code: 'invalid_option' }));
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('maps a refused connection to network', async () => {
    const { vendor, adapter } = await setup([{ kind: 'hang' }]);
    await vendor.close();
    await expect(
      adapter.generate({
        system: 's',
        prompt: 'p',
        jsonSchema: synthesisJsonSchema,
        signal: new AbortController().signal,
      }),
    ).rejects.toMatchObject({ kind: 'network' });
  });
});

describe('resilient wrapper over OpenAI', () => {
  it('retries a 429 after the Retry-After wait, then succeeds', async () => {
    const { vendor, adapter } = await setup([
      { kind: 'status', status: 429, headers: { 'retry-after': '1' } },
      { kind: 'text', deltas: split(synthesisJson) },
    ]);
    const { sleep, delays } = recordingSleep();
    const llm = createResilientLlm({ adapters: [adapter], sleep });
    const result = await llm.synthesize(input);
    expect(result.synthesis).toEqual(synthesis);
    expect(result).toMatchObject({ adapter: 'openai', model: 'gpt-4o', version: OPENAI_REPORTED_MODEL, attempts: 2 });
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeGreaterThanOrEqual(1000);
    expect(vendor.requests).toHaveLength(2);
  });

  it('waits for real with the default sleep', async () => {
    const { adapter } = await setup([
      { kind: 'status', status: 429, headers: { 'retry-after-ms': '150' } },
      { kind: 'text', deltas: [synthesisJson] },
    ]);
    const llm = createResilientLlm({ adapters: [adapter], backoff: { baseMs: 1 } });
    const started = Date.now();
    await llm.synthesize(input);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('retries 500s up to maxRetries, then fails with llm_failed', async () => {
    const { vendor, adapter } = await setup([{ kind: 'status', status: 500 }]);
    const { sleep, delays } = recordingSleep();
    const llm = createResilientLlm({ adapters: [adapter], sleep, maxRetries: 2 });
    const error = await rejection(llm.synthesize(input));
    expect(error.code).toBe('llm_failed');
    expect(error.cause).toMatchObject({ name: 'LlmError', kind: 'server', status: 500 });
    expect(vendor.requests).toHaveLength(3);
    expect(delays).toHaveLength(2);
  });

  it('does not retry a 400', async () => {
    const { vendor, adapter } = await setup([{ kind: 'status', status: 400 }]);
    const llm = createResilientLlm({ adapters: [adapter], sleep: recordingSleep().sleep });
    const error = await rejection(llm.synthesize(input));
    expect(error.cause).toMatchObject({ kind: 'client' });
    expect(vendor.requests).toHaveLength(1);
  });

  it('times out an attempt the server never answers, closes it, and retries', async () => {
    const { vendor, adapter } = await setup([{ kind: 'hang' }, { kind: 'text', deltas: split(synthesisJson) }]);
    const llm = createResilientLlm({ adapters: [adapter], attemptTimeoutMs: 300, sleep: recordingSleep().sleep });
    const result = await llm.synthesize(input);
    expect(result.attempts).toBe(2);
    await vendor.waitForClientClose(1);
    expect(vendor.clientClosed).toBe(1);
  });

  it('asks once for a repair after malformed JSON, then fails with a typed error', async () => {
    const { vendor, adapter } = await setup([{ kind: 'text', deltas: ['{"summary": "trunc', 'ated'] }]);
    const llm = createResilientLlm({ adapters: [adapter], sleep: recordingSleep().sleep });
    const error = await rejection(llm.synthesize(input));
    expect(error.code).toBe('llm_failed');
    expect(error.cause).toMatchObject({ name: 'LlmError', kind: 'bad_output' });
    expect(vendor.requests).toHaveLength(2);
    const repair = vendor.requests[1]?.body as { messages: Array<{ content: string }> };
    expect(repair.messages[1]?.content).toContain('did not match the required JSON schema');
    expect(repair.messages[1]?.content).toContain('not a valid JSON object');
  });

  it('accepts the repaired answer', async () => {
    const { vendor, adapter } = await setup([
      { kind: 'text', deltas: [JSON.stringify({ summary: '', differential: [], recommendations: [] })] },
      { kind: 'text', deltas: split(synthesisJson) },
    ]);
    const llm = createResilientLlm({ adapters: [adapter] });
    const result = await llm.synthesize(input);
    expect(result.synthesis).toEqual(synthesis);
    expect(result.attempts).toBe(2);
    const repair = vendor.requests[1]?.body as { messages: Array<{ content: string }> };
    expect(repair.messages[1]?.content).toContain('summary:');
  });

  it('cancels mid-stream: the connection closes, llm_cancelled, no retry', async () => {
    const { vendor, adapter } = await setup([{ kind: 'text', deltas: split(synthesisJson), holdOpen: true }]);
    const controller = new AbortController();
    const llm = createResilientLlm({ adapters: [adapter], sleep: recordingSleep().sleep });
    const seen: string[] = [];
    const error = await rejection(
      llm.synthesize(input, {
        signal: controller.signal,
        onText: (delta) => {
          seen.push(delta);
          if (seen.length === 3) controller.abort();
        },
      }),
    );
    expect(error.code).toBe('llm_cancelled');
    await vendor.waitForClientClose(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(vendor.requests).toHaveLength(1);
    expect(seen).toHaveLength(3);
  });

  it('never sends the email, phone or MRN in the intake', async () => {
    const { vendor, adapter } = await setup([{ kind: 'text', deltas: [synthesisJson] }]);
    await createResilientLlm({ adapters: [adapter] }).synthesize(input);
    const raw = vendor.requests[0]?.raw ?? '';
    expect(raw).not.toContain('jane.doe@example.org');
    expect(raw).not.toContain('555');
    expect(raw).not.toContain('00482913');
    expect(raw).toContain('[EMAIL]');
    expect(raw).toContain('[PHONE]');
    expect(raw).toContain('[MRN]');
    expect(raw).toContain('Fever and shortness of breath');
  });
});
