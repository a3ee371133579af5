import { isWardcastError, type WardcastError } from '@wardcast/protocol';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Synthesizer } from '../../src/assessment/model.js';
import { LlmError } from '../../src/assessment/types.js';
import { CircuitBreaker } from '../../src/llm/circuit-breaker.js';
import { createResilientLlm } from '../../src/llm/resilient.js';
import { backoffDelay } from '../../src/llm/retry.js';
import { input, recordingSleep, scriptedAdapter, synthesis, synthesisJson } from './helpers/fixtures.js';

const ok = () => ({ output: synthesis, text: synthesisJson, model: 'v1' });
const fail = (kind: LlmError['kind'], retryAfterSeconds?: number) => {
  throw new LlmError(kind, `failed: ${kind}`, retryAfterSeconds === undefined ? {} : { retryAfterSeconds });
};

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

describe('backoffDelay', () => {
  it('uses full jitter capped at maxMs', () => {
    expect(backoffDelay(0, undefined, { baseMs: 100, random: () => 0.5 })).toBe(50);
    expect(backoffDelay(3, undefined, { baseMs: 100, random: () => 0.999 })).toBe(799);
    expect(backoffDelay(10, undefined, { baseMs: 100, maxMs: 1000, random: () => 0.999 })).toBe(999);
  });
  it('honours Retry-After, and gives up on one longer than the cap', () => {
    expect(backoffDelay(0, 2, { random: () => 0 })).toBe(2000);
    expect(backoffDelay(0, 60, { maxMs: 10_000 })).toBeUndefined();
  });
});

describe('createResilientLlm', () => {
  it('retries only transient kinds', async () => {
    for (const kind of ['rate_limited', 'server', 'network', 'timeout'] as const) {
      const adapter = scriptedAdapter('a', (call) => (call === 1 ? fail(kind) : ok()));
      const result = await createResilientLlm({ adapters: [adapter], sleep: recordingSleep().sleep }).synthesize(input);
      expect(result.attempts).toBe(2);
    }
    for (const kind of ['client', 'aborted'] as const) {
      const adapter = scriptedAdapter('a', () => fail(kind));
      const error = await rejection(createResilientLlm({ adapters: [adapter] }).synthesize(input));
      expect(error.code).toBe('llm_failed');
      expect(adapter.calls).toHaveLength(1);
    }
  });

  it('moves to the next adapter when Retry-After is longer than the backoff cap', async () => {
    const first = scriptedAdapter('first', () => fail('rate_limited', 120));
    const second = scriptedAdapter('second', ok);
    const { sleep, delays } = recordingSleep();
    const result = await createResilientLlm({ adapters: [first, second], sleep }).synthesize(input);
    expect(result.adapter).toBe('second');
    expect(first.calls).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it('falls back after invalid output survives the repair', async () => {
    const first = scriptedAdapter('first', () => ({ output: { summary: 1 }, text: '{"summary":1}', model: 'x' }));
    const second = scriptedAdapter('second', ok);
    const result = await createResilientLlm({ adapters: [first, second] }).synthesize(input);
    expect(result).toMatchObject({ adapter: 'second', attempts: 3 });
    expect(first.calls[1]?.prompt).toContain('summary: ');
  });

  it('stops an adapter that ignores its signal at the attempt timeout', async () => {
    const stuck = scriptedAdapter('stuck', () => new Promise(() => {}));
    const error = await rejection(
      createResilientLlm({
        adapters: [stuck],
        attemptTimeoutMs: 50,
        maxRetries: 1,
        sleep: recordingSleep().sleep,
      }).synthesize(input),
    );
    expect(error.cause).toMatchObject({ kind: 'timeout' });
    expect(stuck.calls).toHaveLength(2);
  });

  it('cancels during the backoff sleep without another attempt', async () => {
    const controller = new AbortController();
    const adapter = scriptedAdapter('a', () => fail('server'));
    const llm = createResilientLlm({ adapters: [adapter], backoff: { baseMs: 10_000, random: () => 0.9 } });
    const pending = llm.synthesize(input, { signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    const error = await rejection(pending);
    expect(error.code).toBe('llm_cancelled');
    expect(adapter.calls).toHaveLength(1);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const adapter = scriptedAdapter('a', ok);
    const error = await rejection(
      createResilientLlm({ adapters: [adapter] }).synthesize(input, { signal: AbortSignal.abort() }),
    );
    expect(error.code).toBe('llm_cancelled');
    expect(adapter.calls).toHaveLength(0);
  });

  it('drops text deltas an abandoned attempt sends late', async () => {
    let late: ((d: string) => void) | undefined;
    const adapter = scriptedAdapter('a', (call, request) => {
      if (call === 1) {
        late = request.onText;
        return new Promise(() => {});
      }
      return ok();
    });
    const seen: string[] = [];
    await createResilientLlm({ adapters: [adapter], attemptTimeoutMs: 20, sleep: recordingSleep().sleep }).synthesize(
      input,
      {
        onText: (d) => seen.push(d),
      },
    );
    late?.('stale');
    expect(seen).toEqual([]);
  });

  it('passes the redacted context, schema and schema name to adapters', async () => {
    const adapter = scriptedAdapter('a', ok);
    await createResilientLlm({ adapters: [adapter] }).synthesize(input);
    const request = adapter.calls[0];
    expect(request?.schemaName).toBe('synthesis');
    expect(request?.jsonSchema).toMatchObject({
      type: 'object',
      required: ['summary', 'differential', 'recommendations'],
    });
    expect(request?.context?.intake.history).toContain('[EMAIL]');
    expect(request?.context?.risk.total).toBe(9);
    expect(request?.prompt).not.toContain('p-123');
  });

  it('uses a custom redactor on system, prompt and repair text', async () => {
    let call = 0;
    const adapter = scriptedAdapter('a', () => {
      call += 1;
      return call === 1 ? { output: 'nope', text: 'SECRET nope', model: 'x' } : ok();
    });
    await createResilientLlm({
      adapters: [adapter],
      redact: (t) => t.replaceAll('SECRET', '***'),
      system: 'SECRET sys',
    }).synthesize({ ...input, intake: { ...input.intake, chiefComplaint: 'SECRET cough' } });
    for (const request of adapter.calls) {
      expect(`${request.system}${request.prompt}${request.context?.intake.chiefComplaint}`).not.toContain('SECRET');
    }
    expect(adapter.calls[1]?.prompt).toContain('*** nope');
  });

  it('validates against a custom schema', async () => {
    const schema = z.object({
      summary: z.string().startsWith('OK'),
      differential: z.array(z.any()),
      recommendations: z.array(z.string()),
    });
    const adapter = scriptedAdapter('a', ok);
    const error = await rejection(createResilientLlm({ adapters: [adapter], schema }).synthesize(input));
    expect(error.cause).toMatchObject({ kind: 'bad_output' });
  });

  it('rejects bad options', () => {
    expect(() => createResilientLlm({ adapters: [] })).toThrow(/at least one/);
    expect(() => createResilientLlm({ adapters: [scriptedAdapter('a', ok)], maxRetries: -1 })).toThrow(/maxRetries/);
    expect(() =>
      createResilientLlm({ adapters: [scriptedAdapter('a', ok)], breaker: { failureThreshold: 0 } }),
    ).toThrow(/failureThreshold/);
  });
});

describe('circuit breaker', () => {
  it('opens after the threshold, skips the adapter, and lets one trial through after the reset', async () => {
    let clock = 1_000;
    let healthy = false;
    const flaky = scriptedAdapter('flaky', () => (healthy ? ok() : fail('server')));
    const backup = scriptedAdapter('backup', ok);
    const llm = createResilientLlm({
      adapters: [flaky, backup],
      maxRetries: 0,
      breaker: { failureThreshold: 3, resetAfterMs: 10_000 },
      now: () => clock,
    });
    for (let i = 0; i < 3; i++) expect((await llm.synthesize(input)).adapter).toBe('backup');
    expect(flaky.calls).toHaveLength(3);
    expect(llm.circuitState(0)).toBe('open');

    // Open: skipped without a call.
    expect((await llm.synthesize(input)).adapter).toBe('backup');
    expect(flaky.calls).toHaveLength(3);

    // Half-open trial fails: open again for another resetAfterMs.
    clock += 10_000;
    expect(llm.circuitState(0)).toBe('half-open');
    await llm.synthesize(input);
    expect(flaky.calls).toHaveLength(4);
    expect(llm.circuitState(0)).toBe('open');
    clock += 5_000;
    await llm.synthesize(input);
    expect(flaky.calls).toHaveLength(4);

    // Half-open trial succeeds: closed.
    clock += 5_000;
    healthy = true;
    const result = await llm.synthesize(input);
    expect(result.adapter).toBe('flaky');
    expect(llm.circuitState(0)).toBe('closed');
  });

  it('fails with llm_failed when every circuit is open', async () => {
    const adapter = scriptedAdapter('a', () => fail('server'));
    const llm = createResilientLlm({ adapters: [adapter], maxRetries: 0, breaker: { failureThreshold: 1 } });
    await rejection(llm.synthesize(input));
    const error = await rejection(llm.synthesize(input));
    expect(error.code).toBe('llm_failed');
    expect(error.message).toContain('circuit open');
    expect(adapter.calls).toHaveLength(1);
  });

  it('stops retrying an adapter whose circuit opens mid-retries', async () => {
    const adapter = scriptedAdapter('a', () => fail('server'));
    const llm = createResilientLlm({
      adapters: [adapter],
      maxRetries: 5,
      breaker: { failureThreshold: 2 },
      sleep: recordingSleep().sleep,
    });
    const error = await rejection(llm.synthesize(input));
    expect(error.cause).toMatchObject({ kind: 'server' });
    expect(adapter.calls).toHaveLength(2);
  });

  it('allows a single trial at a time when half-open', () => {
    let clock = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetAfterMs: 100 }, () => clock);
    breaker.onFailure();
    expect(breaker.tryAcquire()).toBe(false);
    clock = 100;
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false);
    breaker.release();
    expect(breaker.tryAcquire()).toBe(true);
    breaker.onSuccess();
    expect(breaker.state).toBe('closed');
  });
});

describe('pipeline contract', () => {
  it('is a Synthesizer for the assessment pipeline', () => {
    const synthesizer: Synthesizer = createResilientLlm({ adapters: [scriptedAdapter('a', ok)] });
    expect(typeof synthesizer.synthesize).toBe('function');
  });
});
