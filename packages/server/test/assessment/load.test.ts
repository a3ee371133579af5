import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createLocalAdapter, createResilientLlm } from '@wardcast/server/llm';
import { describe, expect, it } from 'vitest';
import { assessBody, startAssess } from '../helpers/assessment.js';
import { useHarness } from '../helpers/harness.js';

const RUNS = 20;
/**
 * Generous bounds: a loop blocked by the pipeline would show hundreds of ms; a healthy one shows
 * 15-45 ms here. Single spikes also come from CPU starvation when other processes share a small
 * machine (seen up to ~100 ms on 2 CPUs under load average 7), hence the looser bound on the
 * maximum and the retries.
 */
const P99_LAG_MS = 100;
const MAX_LAG_MS = 150;

/** A setInterval probe: how late each 5 ms tick fires. */
function driftProbe(): { stop(): number[] } {
  const lags: number[] = [];
  let expected = performance.now() + 5;
  const timer = setInterval(() => {
    const now = performance.now();
    lags.push(Math.max(0, now - expected));
    expected = now + 5;
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      return lags;
    },
  };
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

describe('assessment pipeline under load', () => {
  const harness = useHarness();

  it(`keeps the event loop responsive while ${RUNS} assessments stream at once`, { retry: 2 }, async () => {
    const llm = createResilientLlm({ adapters: [createLocalAdapter({ delayMs: 5, chunkSize: 8 })] });
    const fx = await startAssess(harness, { llm, concurrency: RUNS });
    const topics = Array.from({ length: RUNS }, (_, i) => `patient:load-${i}`);
    const viewers = await Promise.all([0, 1].map((i) => harness.subscriber(fx, `dr-${i}`, topics)));

    // Warm up (JIT, first fetch, schema compilation), so the measurement sees the steady state.
    const warmUp = await fx.request('POST', '/api/assess', { body: assessBody('load-0') });
    expect(warmUp.status).toBe(202);
    for (const viewer of viewers) {
      await viewer.nextFrame('notification', (n) => n.kind === 'diagnosis_update', 10_000);
    }

    const histogram = monitorEventLoopDelay({ resolution: 5 });
    histogram.enable();
    const probe = driftProbe();
    const started = performance.now();
    const responses = await Promise.all(
      topics.map((_, i) => fx.request('POST', '/api/assess', { body: assessBody(`load-${i}`) })),
    );
    expect(responses.map((r) => r.status)).toEqual(topics.map(() => 202));
    for (const viewer of viewers) {
      for (const topic of topics) {
        await viewer.nextFrame('notification', (n) => n.topic === topic && n.kind === 'diagnosis_update', 10_000);
      }
    }
    const elapsedMs = performance.now() - started;
    histogram.disable();
    const lags = probe.stop();

    const loop = {
      p50: histogram.percentile(50) / 1e6,
      p99: histogram.percentile(99) / 1e6,
      max: histogram.max / 1e6,
    };
    const drift = { p99: percentile(lags, 99), max: Math.max(...lags) };
    const frames = viewers[0]?.framesOf('notification').length ?? 0;
    console.log(
      `[assessment load] ${RUNS} assessments in ${elapsedMs.toFixed(0)} ms, ${frames} frames per viewer; ` +
        `monitorEventLoopDelay (5 ms resolution) p50 ${loop.p50.toFixed(1)} ms, p99 ${loop.p99.toFixed(1)} ms, ` +
        `max ${loop.max.toFixed(1)} ms; setInterval drift p99 ${drift.p99.toFixed(1)} ms, max ${drift.max.toFixed(1)} ms`,
    );
    // The histogram's values include the 5 ms resolution itself.
    expect(loop.p99).toBeLessThan(P99_LAG_MS);
    expect(loop.max).toBeLessThan(MAX_LAG_MS);
    expect(drift.p99).toBeLessThan(P99_LAG_MS);
    expect(drift.max).toBeLessThan(MAX_LAG_MS);
    const diagnoses = viewers[0]?.framesOf('notification').filter((n) => n.kind === 'diagnosis_update') ?? [];
    expect(new Set(diagnoses.map((n) => n.topic)).size).toBe(RUNS);
    for (const n of diagnoses) {
      const { assessmentId } = n.payload as { assessmentId: string };
      expect(fx.pipeline.get(assessmentId)?.status).toBe('preliminary');
    }
  });
});
