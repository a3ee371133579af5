import { afterEach, describe, expect, it } from 'vitest';
import { createGeminiAdapter } from '../../src/llm/gemini.js';
import { createOpenAIAdapter } from '../../src/llm/openai.js';
import { createResilientLlm, type LlmEvent } from '../../src/llm/resilient.js';
import { type FakeVendor, split, startFakeVendor } from './helpers/fake-vendor.js';
import { input, recordingSleep, synthesis, synthesisJson } from './helpers/fixtures.js';

const vendors: FakeVendor[] = [];
afterEach(async () => {
  await Promise.all(vendors.splice(0).map((v) => v.close()));
});

describe('fallback from OpenAI to Gemini through both SDKs', () => {
  it('answers from Gemini when OpenAI keeps failing, and streams only the answering attempt at the end', async () => {
    const openai = await startFakeVendor('openai', [{ kind: 'status', status: 503 }]);
    const gemini = await startFakeVendor('gemini', [{ kind: 'text', deltas: split(synthesisJson) }]);
    vendors.push(openai, gemini);
    const events: LlmEvent[] = [];
    const attempts: string[] = [];
    let streamed = '';
    const llm = createResilientLlm({
      adapters: [
        createOpenAIAdapter({ apiKey: 'sk-test', baseURL: `${openai.origin}/v1` }),
        createGeminiAdapter({ apiKey: 'g-test', httpOptions: { baseUrl: gemini.origin } }),
      ],
      maxRetries: 1,
      sleep: recordingSleep().sleep,
      onEvent: (e) => events.push(e),
    });
    const result = await llm.synthesize(input, {
      onAttempt: (info) => {
        attempts.push(`${info.adapter}#${info.attempt}`);
        streamed = '';
      },
      onText: (d) => {
        streamed += d;
      },
    });
    expect(result.synthesis).toEqual(synthesis);
    expect(result).toMatchObject({ adapter: 'gemini', attempts: 3 });
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(openai.requests).toHaveLength(2);
    expect(gemini.requests).toHaveLength(1);
    expect(attempts).toEqual(['openai#1', 'openai#2', 'gemini#3']);
    expect(streamed).toBe(synthesisJson);
    expect(events.map((e) => e.type)).toEqual(['attempt', 'failure', 'attempt', 'failure', 'attempt', 'success']);
  });

  it('falls back when the first adapter times out', async () => {
    const openai = await startFakeVendor('openai', [{ kind: 'hang' }]);
    const gemini = await startFakeVendor('gemini', [{ kind: 'text', deltas: [synthesisJson] }]);
    vendors.push(openai, gemini);
    const llm = createResilientLlm({
      adapters: [
        createOpenAIAdapter({ apiKey: 'sk-test', baseURL: `${openai.origin}/v1` }),
        createGeminiAdapter({ apiKey: 'g-test', httpOptions: { baseUrl: gemini.origin } }),
      ],
      attemptTimeoutMs: 200,
      maxRetries: 0,
    });
    const result = await llm.synthesize(input);
    expect(result.adapter).toBe('gemini');
    await openai.waitForClientClose(1);
  });
});
