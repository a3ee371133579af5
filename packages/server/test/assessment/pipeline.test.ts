import { isWardcastError, NotificationHub, type PublishInput } from '@wardcast/server';
import {
  AssessmentBusyError,
  type AssessmentPipeline,
  createAssessmentPipeline,
  type RiskScorer,
  type Synthesizer,
} from '@wardcast/server/assessment';
import { createLocalAdapter, createResilientLlm, type LlmAdapter, LlmError } from '@wardcast/server/llm';
import { afterEach, describe, expect, it } from 'vitest';
import { CALM_VITALS, streamingSynthesizer } from '../helpers/assessment.js';
import { eventually, testAuthenticate } from '../helpers/harness.js';

const hubs: NotificationHub[] = [];
const pipelines: AssessmentPipeline[] = [];

function setup(options: Partial<Parameters<typeof createAssessmentPipeline>[0]> = {}) {
  const hub = new NotificationHub({ authenticate: testAuthenticate });
  hubs.push(hub);
  const published: { topic: string; kind: string }[] = [];
  hub.on('publish', ({ topic, kind }) => published.push({ topic, kind }));
  const pipeline = createAssessmentPipeline({ hub, llm: streamingSynthesizer({ deltas: 1, delayMs: 1 }), ...options });
  pipelines.push(pipeline);
  return { hub, pipeline, published };
}

const input = (patientId = 'p1', extra: Record<string, unknown> = {}) => ({
  patientId,
  requestedBy: 'dr-lee',
  intake: { chiefComplaint: 'short of breath' },
  vitals: CALM_VITALS,
  ...extra,
});

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
}

afterEach(async () => {
  await Promise.all(pipelines.splice(0).map((p) => p.close()));
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});

describe('createAssessmentPipeline', () => {
  it('rejects bad options and bad input with typed errors', () => {
    const hub = new NotificationHub({ authenticate: testAuthenticate });
    hubs.push(hub);
    const llm = streamingSynthesizer();
    expect(() => createAssessmentPipeline({ hub, llm, concurrency: 0 })).toThrow(/concurrency/);
    expect(() => createAssessmentPipeline({ hub, llm: {} as Synthesizer })).toThrow(/llm/);
    const { pipeline } = setup();
    expect(
      isWardcastError(
        thrown(() => pipeline.submit(input('p 1'))),
        'invalid_request',
      ),
    ).toBe(true);
    expect(
      isWardcastError(
        thrown(() => pipeline.submit({ ...input(), intake: {} } as never)),
        'invalid_request',
      ),
    ).toBe(true);
    const vitals = thrown(() => pipeline.submit({ ...input(), vitals: { ...CALM_VITALS, spo2: 140 } }));
    expect(isWardcastError(vitals, 'invalid_vitals')).toBe(true);
    expect((vitals as Error).message).toMatch(/spo2/);
    expect(() => pipeline.get('unknown')).not.toThrow();
    expect(pipeline.get('unknown')).toBeUndefined();
    expect(
      isWardcastError(
        thrown(() => pipeline.cancel('unknown')),
        'not_found',
      ),
    ).toBe(true);
  });

  it('returns before doing any work and carries a retryAfterSeconds hint when busy', () => {
    const { pipeline, published } = setup({ concurrency: 1, maxQueue: 2 });
    const ids = [pipeline.submit(input()), pipeline.submit(input()), pipeline.submit(input())].map(
      (r) => r.assessmentId,
    );
    // Nothing ran synchronously: all are still queued (one is about to start).
    expect(ids.map((id) => pipeline.get(id)?.status)).toEqual(['queued', 'queued', 'queued']);
    expect(published).toEqual([]);
    const busy = thrown(() => pipeline.submit(input()));
    expect(busy).toBeInstanceOf(AssessmentBusyError);
    expect(isWardcastError(busy, 'busy')).toBe(true);
    expect((busy as AssessmentBusyError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
  });

  it('runs at most `concurrency` at once', async () => {
    let active = 0;
    let peak = 0;
    const llm: Synthesizer = {
      async synthesize() {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 10));
        active--;
        return { synthesis: { summary: 's', differential: [], recommendations: [] }, adapter: 'a', model: 'm' };
      },
    };
    const { pipeline } = setup({ llm, concurrency: 3 });
    const ids = Array.from({ length: 10 }, () => pipeline.submit(input()).assessmentId);
    await eventually(() => ids.every((id) => pipeline.get(id)?.status === 'preliminary'), 'all done');
    expect(peak).toBe(3);
    expect(pipeline.get(ids[0] ?? '')?.synthesis).toMatchObject({ adapter: 'a', model: 'm' });
  });

  it('fails with scorer_failed when the scorer throws, and with assessment_timeout past timeoutMs', async () => {
    const scorer: RiskScorer = {
      name: 'broken',
      score() {
        throw new Error('boom');
      },
    };
    const a = setup({ scorer });
    const id = a.pipeline.submit(input()).assessmentId;
    await eventually(() => a.pipeline.get(id)?.status === 'failed', 'failed');
    expect(a.pipeline.get(id)?.failure).toEqual({ reason: 'scorer_failed', message: 'boom' });

    const llm = streamingSynthesizer({ deltas: 1000, delayMs: 5 });
    const b = setup({ llm, timeoutMs: 50 });
    const slow = b.pipeline.submit(input()).assessmentId;
    await eventually(() => b.pipeline.get(slow)?.status === 'failed', 'timed out');
    expect(b.pipeline.get(slow)?.failure?.reason).toBe('assessment_timeout');
    expect(llm.signals[0]?.aborted).toBe(true);
  });

  it('cancels a queued assessment without running it', async () => {
    const llm = streamingSynthesizer({ deltas: 20, delayMs: 5 });
    const { pipeline } = setup({ llm, concurrency: 1 });
    const first = pipeline.submit(input()).assessmentId;
    const second = pipeline.submit(input()).assessmentId;
    expect(pipeline.cancel(second)).toEqual({ cancelled: true, status: 'cancelled' });
    await eventually(() => pipeline.get(first)?.status === 'preliminary', 'first done');
    expect(llm.signals).toHaveLength(1);
    expect(pipeline.get(second)?.status).toBe('cancelled');
  });

  it('forgets the oldest finished assessments past retention.maxFinished, with their idempotency keys', async () => {
    const { pipeline } = setup({ retention: { maxFinished: 2 } });
    const ids: string[] = [];
    for (const key of ['k1', 'k2', 'k3']) {
      const id = pipeline.submit(input('p1', { idempotencyKey: key })).assessmentId;
      ids.push(id);
      await eventually(() => pipeline.get(id)?.status === 'preliminary', `${key} done`);
    }
    expect(pipeline.get(ids[0] ?? '')).toBeUndefined();
    expect(pipeline.get(ids[2] ?? '')?.status).toBe('preliminary');
    const again = pipeline.submit(input('p1', { idempotencyKey: 'k1' }));
    expect(again.duplicate).toBe(false);
    expect(pipeline.submit(input('p1', { idempotencyKey: 'k3' }))).toEqual({ assessmentId: ids[2], duplicate: true });
  });

  it('forgets finished assessments after retention.ttlMs', async () => {
    const { pipeline } = setup({ retention: { ttlMs: 30 } });
    const id = pipeline.submit(input()).assessmentId;
    await eventually(() => pipeline.get(id)?.status === 'preliminary', 'done');
    await eventually(() => pipeline.get(id) === undefined, 'forgotten', 1_000);
  });

  it('close() cancels what runs, waits, and refuses new work', async () => {
    const llm = streamingSynthesizer({ deltas: 1000, delayMs: 5 });
    const { pipeline } = setup({ llm });
    const id = pipeline.submit(input()).assessmentId;
    await eventually(() => pipeline.get(id)?.status === 'synthesis', 'synthesizing');
    await pipeline.close();
    expect(pipeline.get(id)?.status).toBe('cancelled');
    expect(llm.signals[0]?.aborted).toBe(true);
    expect(
      isWardcastError(
        thrown(() => pipeline.submit(input())),
        'hub_closed',
      ),
    ).toBe(true);
  });

  it('restarts the partial text when the resilient LLM retries, and fails with llm_failed when every attempt fails', async () => {
    // A vendor that streams some text, then fails with a 503.
    let calls = 0;
    const flaky: LlmAdapter = {
      name: 'flaky',
      model: 'flaky-1',
      async generate(request) {
        calls++;
        request.onText?.('garbage from a failing attempt ');
        throw new LlmError('server', 'HTTP 503', { status: 503 });
      },
    };
    const llm = createResilientLlm({ adapters: [flaky, createLocalAdapter({ delayMs: 0 })], maxRetries: 0 });
    const ok = setup({ llm, progressIntervalMs: 0 });
    const partials: string[] = [];
    const publish = ok.hub.publish.bind(ok.hub);
    ok.hub.publish = (topic: string, n: PublishInput) => {
      const text = (n.payload as { partialText?: string }).partialText;
      if (text !== undefined) partials.push(text);
      return publish(topic, n);
    };
    const id = ok.pipeline.submit(input()).assessmentId;
    await eventually(() => ok.pipeline.get(id)?.status === 'preliminary', 'fallback answered');
    expect(calls).toBe(1);
    expect(ok.pipeline.get(id)?.synthesis).toMatchObject({ adapter: 'local', attempts: 2 });
    expect(partials[0]).toBe('garbage from a failing attempt ');
    expect(partials.at(-1)?.startsWith('{')).toBe(true); // the fallback's text starts over

    const failing = setup({ llm: createResilientLlm({ adapters: [flaky], maxRetries: 0 }) });
    const bad = failing.pipeline.submit(input()).assessmentId;
    await eventually(() => failing.pipeline.get(bad)?.status === 'failed', 'failed');
    expect(failing.pipeline.get(bad)?.failure?.reason).toBe('llm_failed');
  });
});
