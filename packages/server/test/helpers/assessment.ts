import { WardcastError } from '@wardcast/server';
import {
  type AssessmentHttpOptions,
  type AssessmentPipeline,
  type AssessmentPipelineOptions,
  createAssessmentNodeHandler,
  createAssessmentPipeline,
  type Synthesis,
  type SynthesisOutcome,
  type Synthesizer,
} from '@wardcast/server/assessment';
import type { Fixture, Harness, StartOptions } from './harness.js';
import { tokenFor } from './harness.js';

/** Vitals scoring NEWS2 0 (low). */
export const CALM_VITALS = {
  respirationRate: 16,
  spo2: 98,
  onOxygen: false,
  systolicBp: 124,
  pulse: 72,
  consciousness: 'A',
  temperature: 36.8,
} as const;

/** The same vitals in the HTTP body's snake_case. */
export const CALM_VITALS_JSON = {
  respiration_rate: 16,
  spo2: 98,
  on_oxygen: false,
  systolic_bp: 124,
  pulse: 72,
  consciousness: 'A',
  temperature: 36.8,
} as const;

/** What the stub synthesizer answers. */
export const STUB_SYNTHESIS: Synthesis = {
  summary: 'Febrile patient; sepsis to be excluded.',
  differential: [
    { condition: 'Sepsis', likelihood: 0.4 },
    { condition: 'Viral illness', likelihood: 0.3 },
  ],
  recommendations: ['Blood cultures', 'Lactate'],
};

/** Options of {@link streamingSynthesizer}. */
export interface StreamOptions {
  /** Text deltas streamed before answering. @default 10 */
  readonly deltas?: number;
  /** Pause before each delta. @default 10 */
  readonly delayMs?: number;
  /** Throws this instead of answering, after streaming. */
  readonly fail?: unknown;
  /** Resolves only when this promise does (after streaming). */
  readonly gate?: Promise<void>;
}

/** A {@link Synthesizer} standing in for a vendor: streams `deltas` text chunks with pauses. */
export interface StubSynthesizer extends Synthesizer {
  /** The signal of every call, in order. */
  readonly signals: AbortSignal[];
  /** Deltas sent per call. */
  readonly sent: number[];
  /** The full text of every delta of a call. */
  readonly texts: string[];
  /** How long each call streamed, first delta to last (ms). */
  readonly streamMs: number[];
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new WardcastError('llm_cancelled', 'cancelled'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Creates a {@link StubSynthesizer}. */
export function streamingSynthesizer(options: StreamOptions = {}): StubSynthesizer {
  const { deltas = 10, delayMs = 10 } = options;
  const signals: AbortSignal[] = [];
  const sent: number[] = [];
  const texts: string[] = [];
  const streamMs: number[] = [];
  return {
    signals,
    sent,
    texts,
    streamMs,
    async synthesize(_input, { signal, onText }): Promise<SynthesisOutcome> {
      const call = signals.length;
      signals.push(signal);
      sent.push(0);
      texts.push('');
      streamMs.push(0);
      let first = 0;
      for (let i = 0; i < deltas; i++) {
        await sleep(delayMs, signal);
        if (i === 0) first = performance.now();
        streamMs[call] = performance.now() - first;
        const delta = `chunk ${i}; `;
        sent[call] = i + 1;
        texts[call] += delta;
        onText(delta);
      }
      if (options.gate) await options.gate;
      if (options.fail !== undefined) throw options.fail;
      return { synthesis: STUB_SYNTHESIS, adapter: 'stub', model: 'stub-model', version: 'v1', attempts: 1 };
    },
  };
}

/** A hub, a pipeline and the assessment endpoints on one real server on port 0. */
export interface AssessFixture extends Fixture {
  readonly pipeline: AssessmentPipeline;
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  /** Calls an endpoint as `userId` (no token when `null`). */
  request(method: string, path: string, options?: RequestOptions): Promise<Response>;
}

/** Options of {@link AssessFixture.request}. */
export interface RequestOptions {
  readonly as?: string | null;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

/** Hub policy for these tests: own user topic and any patient topic. */
export const clinicianTopics = (principal: { userId: string }, topic: string): boolean =>
  topic === `user:${principal.userId}` || topic.startsWith('patient:');

/** Starts a hub with the assessment endpoints (Node handler) and a pipeline over `llm`. */
export async function startAssess(
  harness: Harness,
  pipelineOptions: Omit<AssessmentPipelineOptions, 'hub'>,
  httpOptions: AssessmentHttpOptions = {},
  hubOptions: StartOptions = {},
): Promise<AssessFixture> {
  const fx = await harness.start({ authorize: clinicianTopics, ...hubOptions });
  const pipeline = createAssessmentPipeline({ hub: fx.hub, ...pipelineOptions });
  const handler = createAssessmentNodeHandler(pipeline, httpOptions);
  fx.server.removeAllListeners('request');
  fx.server.on('request', (req, res) => handler(req, res));
  const base = `http://127.0.0.1:${fx.port}`;
  fx.server.once('close', () => void pipeline.close());
  return {
    ...fx,
    pipeline,
    base,
    request(method, path, options = {}) {
      const { as = 'dr-lee', body, headers = {} } = options;
      const all: Record<string, string> = { ...headers };
      if (as !== null) all.authorization = `Bearer ${tokenFor(as)}`;
      if (body !== undefined) all['content-type'] = 'application/json';
      return fetch(`${base}${path}`, {
        method,
        headers: all,
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
    },
  };
}

/** A valid `POST /api/assess` body for `patientId`. */
export function assessBody(patientId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    patient_id: patientId,
    intake: { chief_complaint: 'fever and rigors', age: 64, sex: 'female' },
    vitals: CALM_VITALS_JSON,
    ...extra,
  };
}
