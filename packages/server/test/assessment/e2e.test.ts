import type { AssessmentProgressPayload, DiagnosisUpdatePayload } from '@wardcast/protocol/kinds';
import { WardcastError } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { assessBody, STUB_SYNTHESIS, startAssess, streamingSynthesizer } from '../helpers/assessment.js';
import type { FrameOf, TestClient } from '../helpers/client.js';
import { eventually, useHarness } from '../helpers/harness.js';

type Notification = FrameOf<'notification'>;

/** The notifications of one assessment on a client, in arrival order. */
function framesOf(client: TestClient, assessmentId: string): Notification[] {
  return client
    .framesOf('notification')
    .filter((n) => (n.payload as { assessmentId?: string } | null)?.assessmentId === assessmentId);
}

const progressOf = (n: Notification) => n.payload as AssessmentProgressPayload;

async function submitted(res: Response): Promise<string> {
  expect(res.status).toBe(202);
  const body = (await res.json()) as { success: boolean; data: { assessment_id: string } };
  expect(body.success).toBe(true);
  return body.data.assessment_id;
}

describe('assessment pipeline end to end', () => {
  const harness = useHarness();

  it('publishes the preliminary diagnosis as urgent when the clinical risk is high and routine when it is low', async () => {
    const fx = await startAssess(harness, { llm: streamingSynthesizer({ deltas: 2, delayMs: 5 }) });
    const viewer = await harness.subscriber(fx, 'dr-lee', ['patient:p1', 'patient:p2']);
    const high = {
      respiration_rate: 26,
      spo2: 90,
      on_oxygen: false,
      systolic_bp: 95,
      pulse: 125,
      consciousness: 'C',
      temperature: 39.4,
    };

    await submitted(await fx.request('POST', '/api/assess', { body: assessBody('p1') }));
    await submitted(await fx.request('POST', '/api/assess', { body: assessBody('p2', { vitals: high }) }));
    const low = await viewer.nextFrame(
      'notification',
      (n) => n.kind === 'diagnosis_update' && n.topic === 'patient:p1',
    );
    const urgent = await viewer.nextFrame(
      'notification',
      (n) => n.kind === 'diagnosis_update' && n.topic === 'patient:p2',
    );

    expect(low.priority).toBe('routine');
    expect(urgent.priority).toBe('urgent');
    expect((urgent.payload as DiagnosisUpdatePayload).riskScore).toBeGreaterThanOrEqual(7);
  });

  it('streams queued, scoring, synthesis (growing text) and the preliminary diagnosis in order after one POST', async () => {
    const llm = streamingSynthesizer({ deltas: 12, delayMs: 15 });
    const fx = await startAssess(harness, { llm, progressIntervalMs: 40 });
    const viewer = await harness.subscriber(fx, 'dr-lee', ['patient:p1']);

    const res = await fx.request('POST', '/api/assess', { body: assessBody('p1') });
    // The 202 answers before the work finishes.
    expect(res.status).toBe(202);
    const location = res.headers.get('location');
    const id = await submitted(res);
    expect(location).toBe(`/api/assess/${id}`);
    expect(viewer.framesOf('notification').some((n) => n.kind === 'diagnosis_update')).toBe(false);
    expect(fx.pipeline.get(id)?.status).not.toBe('preliminary');

    const diagnosis = await viewer.nextFrame('notification', (n) => n.kind === 'diagnosis_update');
    const frames = framesOf(viewer, id);
    const stages = frames.map((n) => (n.kind === 'diagnosis_update' ? 'diagnosis' : progressOf(n).stage));
    expect(stages.slice(0, 3)).toEqual(['queued', 'scoring', 'synthesis']);
    expect(stages.at(-1)).toBe('diagnosis');
    const partial = frames.filter((n) => n.kind === 'assessment_progress' && progressOf(n).partialText !== undefined);
    expect(partial.length).toBeGreaterThanOrEqual(2);
    const texts = partial.map((n) => progressOf(n).partialText ?? '');
    for (let i = 1; i < texts.length; i++) {
      expect(texts[i]?.length).toBeGreaterThan(texts[i - 1]?.length ?? 0);
      expect(texts[i]?.startsWith(texts[i - 1] ?? '')).toBe(true);
    }
    expect(llm.texts[0]?.startsWith(texts.at(-1) ?? '')).toBe(true);
    // Seqs strictly increase: one ordered stream.
    const seqs = frames.map((n) => n.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    const payload = diagnosis.payload as DiagnosisUpdatePayload;
    expect(payload).toMatchObject({
      assessmentId: id,
      patientId: 'p1',
      status: 'preliminary',
      summary: STUB_SYNTHESIS.summary,
      differential: STUB_SYNTHESIS.differential,
      riskScore: 0,
      model: { name: 'stub-model', version: 'v1' },
    });
    expect(payload.reviewedBy).toBeUndefined();

    const got = await fx.request('GET', location ?? '');
    expect(got.status).toBe(200);
    const body = (await got.json()) as { data: Record<string, unknown> };
    expect(body.data).toMatchObject({
      assessment_id: id,
      patient_id: 'p1',
      requested_by: 'dr-lee',
      status: 'preliminary',
      risk: { scorer: 'news2', total: 0, band: 'low', parameters: { respiration_rate: 0 } },
      synthesis: { adapter: 'stub', model: 'stub-model', version: 'v1', attempts: 1 },
      result: { summary: STUB_SYNTHESIS.summary },
    });
    expect((body.data.synthesis as { latency_ms: number }).latency_ms).toBeGreaterThan(0);
  });

  it('returns the same assessment for a repeated Idempotency-Key of the same caller', async () => {
    const fx = await startAssess(harness, { llm: streamingSynthesizer({ deltas: 2 }) });
    const headers = { 'idempotency-key': 'form-42' };
    const first = await submitted(await fx.request('POST', '/api/assess', { body: assessBody('p1'), headers }));
    const again = await fx.request('POST', '/api/assess', { body: assessBody('p1'), headers });
    expect(again.status).toBe(202);
    expect(((await again.json()) as { data: unknown }).data).toMatchObject({ assessment_id: first, duplicate: true });
    const viaBody = await fx.request('POST', '/api/assess', { body: assessBody('p1', { idempotency_key: 'form-42' }) });
    expect(await submitted(viaBody)).toBe(first);
    // The key is scoped to the caller.
    const other = await submitted(
      await fx.request('POST', '/api/assess', { as: 'dr-kim', body: assessBody('p1'), headers }),
    );
    expect(other).not.toBe(first);
  });

  it('answers 429 busy with Retry-After when the queue is full', async () => {
    let release = (): void => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const fx = await startAssess(harness, {
      llm: streamingSynthesizer({ deltas: 1, gate }),
      concurrency: 1,
      maxQueue: 1,
    });
    const running = await submitted(await fx.request('POST', '/api/assess', { body: assessBody('p1') }));
    const queued = await submitted(await fx.request('POST', '/api/assess', { body: assessBody('p2') }));
    expect(fx.pipeline.get(queued)?.status).toBe('queued');
    const busy = await fx.request('POST', '/api/assess', { body: assessBody('p3') });
    expect(busy.status).toBe(429);
    const retryAfter = Number(busy.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
    expect(((await busy.json()) as { error: { code: string } }).error.code).toBe('busy');
    release();
    // Once the queue drains, submissions are accepted again.
    await eventually(
      () => [running, queued].every((id) => fx.pipeline.get(id)?.status === 'preliminary'),
      'both assessments finished',
    );
    expect((await fx.request('POST', '/api/assess', { body: assessBody('p4') })).status).toBe(202);
  });

  it('cancels mid-synthesis: the synthesizer sees the abort, viewers get stage cancelled and no diagnosis', async () => {
    const llm = streamingSynthesizer({ deltas: 200, delayMs: 10 });
    const fx = await startAssess(harness, { llm, progressIntervalMs: 30 });
    const viewer = await harness.subscriber(fx, 'dr-lee', ['patient:p1']);
    const id = await submitted(await fx.request('POST', '/api/assess', { body: assessBody('p1') }));
    await viewer.nextFrame('notification', (n) => (n.payload as AssessmentProgressPayload).partialText !== undefined);

    const res = await fx.request('POST', `/api/assess/${id}/cancel`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: unknown }).data).toEqual({
      assessment_id: id,
      cancelled: true,
      status: 'cancelled',
    });
    expect(llm.signals[0]?.aborted).toBe(true);
    const cancelled = await viewer.nextFrame(
      'notification',
      (n) => (n.payload as AssessmentProgressPayload).stage === 'cancelled',
    );
    expect((cancelled.payload as AssessmentProgressPayload).assessmentId).toBe(id);
    const sentAtCancel = llm.sent[0] ?? 0;
    await new Promise((r) => setTimeout(r, 100));
    expect(llm.sent[0]).toBe(sentAtCancel); // it stopped streaming
    const after = framesOf(viewer, id);
    expect(after.at(-1)?.id).toBe(cancelled.id);
    expect(after.some((n) => n.kind === 'diagnosis_update')).toBe(false);
    expect(fx.pipeline.get(id)?.status).toBe('cancelled');

    // Cancelling a finished assessment is a no-op that says so.
    const again = await fx.request('POST', `/api/assess/${id}/cancel`);
    expect(((await again.json()) as { data: unknown }).data).toEqual({
      assessment_id: id,
      cancelled: false,
      status: 'cancelled',
    });
  });

  it('publishes a failed stage with the reason when the LLM fails', async () => {
    const llm = streamingSynthesizer({ deltas: 2, fail: new WardcastError('llm_failed', 'all adapters failed') });
    const fx = await startAssess(harness, { llm });
    const viewer = await harness.subscriber(fx, 'dr-lee', ['patient:p1']);
    const id = await submitted(await fx.request('POST', '/api/assess', { body: assessBody('p1') }));
    const failed = await viewer.nextFrame(
      'notification',
      (n) => (n.payload as AssessmentProgressPayload).stage === 'failed',
    );
    expect(failed.priority).toBe('urgent');
    expect(failed.payload).toEqual({ assessmentId: id, stage: 'failed', reason: 'llm_failed' });
    expect(framesOf(viewer, id).some((n) => n.kind === 'diagnosis_update')).toBe(false);
    const body = (await (await fx.request('GET', `/api/assess/${id}`)).json()) as { data: Record<string, unknown> };
    expect(body.data).toMatchObject({
      status: 'failed',
      failure: { reason: 'llm_failed', message: 'all adapters failed' },
    });
  });

  it('coalesces 100 deltas over ~300 ms into at most ~10 frames per second', async () => {
    const llm = streamingSynthesizer({ deltas: 100, delayMs: 3 });
    const fx = await startAssess(harness, { llm });
    const viewer = await harness.subscriber(fx, 'dr-lee', ['patient:p1']);
    const id = await submitted(await fx.request('POST', '/api/assess', { body: assessBody('p1') }));
    await viewer.nextFrame('notification', (n) => n.kind === 'diagnosis_update');
    const streamed = llm.streamMs[0] ?? 0;
    const synthesisFrames = framesOf(viewer, id).filter(
      (n) => n.kind === 'assessment_progress' && progressOf(n).stage === 'synthesis',
    );
    const withText = synthesisFrames.filter((n) => progressOf(n).partialText !== undefined);
    // The leading frame, then one per 100 ms of streaming: ~4-5 for ~300-400 ms. (A machine too busy
    // to stream 100 deltas in 500 ms gets a proportionally larger, still <= 10/s, bound.)
    console.log(
      `[assessment coalescing] ${withText.length} text frames for 100 deltas streamed over ${streamed.toFixed(0)} ms`,
    );
    expect(withText.length).toBeGreaterThanOrEqual(2);
    expect(withText.length).toBeLessThanOrEqual(Math.max(6, Math.ceil(streamed / 100) + 1));
    expect(synthesisFrames.length).toBe(withText.length + 1); // plus the stage's opening frame
  });
});
