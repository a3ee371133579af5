import { isWardcastError, type WardcastError } from '@wardcast/protocol';
import { APICallError } from 'ai';
import { MockLanguageModelV3, simulateReadableStream } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { createAiSdkAdapter } from '../../src/llm/ai-sdk.js';
import { createResilientLlm } from '../../src/llm/resilient.js';
import { synthesisJsonSchema } from '../../src/llm/schema.js';
import { split } from './helpers/fake-vendor.js';
import { input, recordingSleep, synthesis, synthesisJson } from './helpers/fixtures.js';

type StreamResult = Awaited<ReturnType<MockLanguageModelV3['doStream']>>;
type Part = StreamResult['stream'] extends ReadableStream<infer P> ? P : never;

const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 20, text: 20, reasoning: 0 },
};

function textStream(deltas: readonly string[], chunkDelayInMs = 0): StreamResult {
  const chunks: Part[] = [
    { type: 'stream-start', warnings: [] },
    { type: 'response-metadata', id: 'r1', modelId: 'mock-model-2025-01-01', timestamp: new Date(0) },
    { type: 'text-start', id: 't1' },
    ...deltas.map((delta): Part => ({ type: 'text-delta', id: 't1', delta })),
    { type: 'text-end', id: 't1' },
    { type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage },
  ];
  return { stream: simulateReadableStream({ chunks, chunkDelayInMs }) };
}

function apiError(statusCode: number, headers: Record<string, string> = {}): APICallError {
  return new APICallError({
    message: `HTTP ${statusCode}`,
    url: 'https://api.example.test/v1/chat',
    requestBodyValues: {},
    statusCode,
    responseHeaders: headers,
    responseBody: '{}',
    isRetryable: statusCode === 429 || statusCode >= 500,
  });
}

const request = () => ({
  system: 'sys',
  prompt: 'hello',
  jsonSchema: synthesisJsonSchema,
  signal: new AbortController().signal,
});

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

describe('AI SDK adapter (streamText with Output.object)', () => {
  it('streams deltas, asks for JSON with the schema, and returns the parsed output', async () => {
    const model = new MockLanguageModelV3({ modelId: 'mock-model', doStream: textStream(split(synthesisJson)) });
    const adapter = createAiSdkAdapter({ model });
    expect(adapter).toMatchObject({ name: 'ai-sdk', model: 'mock-model' });
    const deltas: string[] = [];
    const response = await adapter.generate({ ...request(), onText: (d) => deltas.push(d) });
    expect(response.output).toEqual(synthesis);
    expect(response.model).toBe('mock-model-2025-01-01');
    expect(deltas.join('')).toBe(synthesisJson);
    expect(deltas.length).toBeGreaterThan(3);

    const call = model.doStreamCalls[0];
    expect(call?.responseFormat).toMatchObject({ type: 'json', name: 'synthesis', schema: synthesisJsonSchema });
    expect(call?.prompt[0]).toEqual({ role: 'system', content: 'sys' });
  });

  it('maps APICallError statuses and Retry-After', async () => {
    const errors = [apiError(429, { 'Retry-After': '4' }), apiError(502), apiError(401)];
    const model = new MockLanguageModelV3({
      doStream: async () => {
        throw errors.shift();
      },
    });
    const adapter = createAiSdkAdapter({ model });
    await expect(adapter.generate(request())).rejects.toMatchObject({
      kind: 'rate_limited',
      retryAfterSeconds: 4,
      status: 429,
    });
    await expect(adapter.generate(request())).rejects.toMatchObject({ kind: 'server', status: 502 });
    await expect(adapter.generate(request())).rejects.toMatchObject({ kind: 'client', status: 401 });
    expect(model.doStreamCalls).toHaveLength(3); // the AI SDK's own retries are off
  });

  it('is retried by the wrapper after a 429, honouring Retry-After', async () => {
    let calls = 0;
    const model = new MockLanguageModelV3({
      doStream: async () => {
        calls += 1;
        if (calls === 1) throw apiError(429, { 'retry-after': '1' });
        return textStream([synthesisJson]);
      },
    });
    const { sleep, delays } = recordingSleep();
    const result = await createResilientLlm({ adapters: [createAiSdkAdapter({ model })], sleep }).synthesize(input);
    expect(result).toMatchObject({ adapter: 'ai-sdk', attempts: 2, synthesis });
    expect(delays[0]).toBeGreaterThanOrEqual(1000);
  });

  it('asks once for a repair after malformed output, then fails with a typed error', async () => {
    const model = new MockLanguageModelV3({ doStream: async () => textStream(['{"summary":', ' 42}']) });
    const error = await rejection(createResilientLlm({ adapters: [createAiSdkAdapter({ model })] }).synthesize(input));
    expect(error.code).toBe('llm_failed');
    expect(error.cause).toMatchObject({ kind: 'bad_output' });
    expect(model.doStreamCalls).toHaveLength(2);
  });

  it('cancels mid-stream with llm_cancelled and no retry', async () => {
    const model = new MockLanguageModelV3({ doStream: async () => textStream(split(synthesisJson, 4), 10) });
    const controller = new AbortController();
    let seen = 0;
    const error = await rejection(
      createResilientLlm({ adapters: [createAiSdkAdapter({ model })] }).synthesize(input, {
        signal: controller.signal,
        onText: () => {
          seen += 1;
          if (seen === 2) controller.abort();
        },
      }),
    );
    expect(error.code).toBe('llm_cancelled');
    expect(model.doStreamCalls).toHaveLength(1);
    expect(model.doStreamCalls[0]?.abortSignal?.aborted).toBe(true);
  });

  it('maps an error part in the stream', async () => {
    const model = new MockLanguageModelV3({
      doStream: async () => ({
        stream: simulateReadableStream<Part>({
          chunks: [
            { type: 'stream-start', warnings: [] },
            { type: 'error', error: apiError(503) },
          ],
        }),
      }),
    });
    await expect(createAiSdkAdapter({ model }).generate(request())).rejects.toMatchObject({
      kind: 'server',
      status: 503,
    });
  });
});
