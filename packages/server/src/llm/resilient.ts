/**
 * The resilient LLM wrapper: per-attempt timeout, retries with backoff, a circuit breaker per
 * adapter, fallback along a chain of adapters, schema validation with one repair attempt,
 * cancellation and redaction.
 *
 * @module
 */

import { ErrorCode, WardcastError } from '@wardcast/protocol';
import type { z } from 'zod';
import { type Intake, type LlmAdapter, LlmError } from '../assessment/types.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { buildRepairPrompt, buildSynthesisPrompt, SYNTHESIS_SYSTEM_PROMPT } from './prompt.js';
import { defaultRedact, type Redactor } from './redact.js';
import type {
  LlmAttemptInfo,
  LlmEvent,
  LlmSynthesisResult,
  LlmSynthesizeInput,
  LlmSynthesizeOptions,
  ResilientLlm,
  ResilientLlmOptions,
} from './resilient-types.js';
import { AttemptCancelled, abortableSleep, backoffDelay, RETRYABLE_KINDS, runAttempt } from './retry.js';
import { synthesisJsonSchema, synthesisSchema, toPortableJsonSchema } from './schema.js';

export type {
  LlmAttemptInfo,
  LlmEvent,
  LlmSynthesisResult,
  LlmSynthesizeInput,
  LlmSynthesizeOptions,
  ResilientLlm,
  ResilientLlmOptions,
} from './resilient-types.js';

type AdapterOutcome = { ok: true; result: LlmSynthesisResult } | { ok: false; error: LlmError };

/**
 * Creates the resilient wrapper the assessment pipeline calls.
 *
 * @example
 * ```ts
 * import { createLocalAdapter, createResilientLlm } from '@wardcast/server/llm';
 * import { createOpenAIAdapter } from '@wardcast/server/llm/openai';
 *
 * const llm = createResilientLlm({ adapters: [createOpenAIAdapter(), createLocalAdapter()] });
 * const { synthesis, adapter } = await llm.synthesize({ intake, vitals, risk, patientId }, {
 *   signal: AbortSignal.timeout(120_000),
 *   onText: (delta) => process.stdout.write(delta),
 * });
 * ```
 *
 * @category LLM
 */
export function createResilientLlm(options: ResilientLlmOptions): ResilientLlm {
  const adapters = [...options.adapters];
  if (adapters.length === 0) throw new WardcastError(ErrorCode.InvalidOption, 'adapters: at least one is required');
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 30_000;
  const maxRetries = options.maxRetries ?? 2;
  if (!(attemptTimeoutMs > 0)) throw new WardcastError(ErrorCode.InvalidOption, 'attemptTimeoutMs must be > 0');
  if (!(Number.isInteger(maxRetries) && maxRetries >= 0)) {
    throw new WardcastError(ErrorCode.InvalidOption, 'maxRetries must be an integer >= 0');
  }
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? abortableSleep;
  const redact = options.redact ?? defaultRedact;
  const schema = options.schema ?? synthesisSchema;
  const jsonSchema =
    options.jsonSchema ?? (schema === synthesisSchema ? synthesisJsonSchema : toPortableJsonSchema(schema));
  const system = redact(options.system ?? SYNTHESIS_SYSTEM_PROMPT);
  const breakers = adapters.map(() => new CircuitBreaker(options.breaker, now));
  const emit = (event: LlmEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // an observer must not break synthesis
    }
  };

  async function tryAdapter(
    index: number,
    base: { prompt: string; context: ReturnType<typeof redactContext> },
    call: { signal: AbortSignal; opts: LlmSynthesizeOptions; start: number; patientId: string | undefined },
    counter: { attempts: number },
  ): Promise<AdapterOutcome | 'skipped'> {
    const adapter = adapters[index] as LlmAdapter;
    const breaker = breakers[index] as CircuitBreaker;
    let prompt = base.prompt;
    let repair = false;
    let retries = 0;
    let lastError: LlmError | undefined;
    for (;;) {
      if (!breaker.tryAcquire()) {
        emit({ type: 'skipped', adapter: adapter.name, reason: 'circuit_open' });
        return lastError ? { ok: false, error: lastError } : 'skipped';
      }
      counter.attempts += 1;
      const info: LlmAttemptInfo = { adapter: adapter.name, model: adapter.model, attempt: counter.attempts, repair };
      emit({ type: 'attempt', ...info, ...(call.patientId === undefined ? {} : { patientId: call.patientId }) });
      call.opts.onAttempt?.(info);
      let response: Awaited<ReturnType<LlmAdapter['generate']>>;
      try {
        response = await runAttempt(
          adapter,
          {
            system,
            prompt,
            jsonSchema,
            schemaName: 'synthesis',
            context: base.context,
            ...(call.opts.onText ? { onText: call.opts.onText } : {}),
          },
          call.signal,
          attemptTimeoutMs,
        );
      } catch (error) {
        if (error instanceof AttemptCancelled) {
          breaker.release();
          throw error;
        }
        const llmError = error as LlmError;
        lastError = llmError;
        breaker.onFailure();
        const delay =
          RETRYABLE_KINDS.has(llmError.kind) && retries < maxRetries
            ? backoffDelay(retries, llmError.retryAfterSeconds, options.backoff)
            : undefined;
        emit({
          type: 'failure',
          adapter: adapter.name,
          error: llmError,
          ...(delay === undefined ? {} : { retryInMs: delay }),
        });
        if (delay === undefined) return { ok: false, error: llmError };
        retries += 1;
        try {
          await sleep(delay, call.signal);
        } catch (sleepError) {
          throw new AttemptCancelled(call.signal.aborted ? call.signal.reason : sleepError);
        }
        continue;
      }
      breaker.onSuccess();
      const parsed = schema.safeParse(response.output);
      if (parsed.success) {
        const latencyMs = now() - call.start;
        emit({ type: 'success', adapter: adapter.name, attempts: counter.attempts, latencyMs });
        return {
          ok: true,
          result: {
            synthesis: parsed.data,
            adapter: adapter.name,
            model: adapter.model,
            ...(response.model ? { version: response.model } : {}),
            latencyMs,
            attempts: counter.attempts,
          },
        };
      }
      const problems = describeIssues(response.output, parsed.error);
      const badOutput = new LlmError('bad_output', `${adapter.name}: output does not match the schema: ${problems}`, {
        cause: parsed.error,
      });
      emit({ type: 'failure', adapter: adapter.name, error: badOutput });
      if (repair) return { ok: false, error: badOutput };
      repair = true;
      prompt = redact(buildRepairPrompt(base.prompt, response.text, problems));
    }
  }

  async function synthesize(input: LlmSynthesizeInput, opts: LlmSynthesizeOptions = {}): Promise<LlmSynthesisResult> {
    const signal = opts.signal ?? new AbortController().signal;
    const start = now();
    if (signal.aborted) throw cancelled(signal.reason);
    const base = {
      prompt: redact(buildSynthesisPrompt(input)),
      context: redactContext(input, redact),
    };
    const counter = { attempts: 0 };
    const failures: string[] = [];
    let lastError: LlmError | undefined;
    for (let index = 0; index < adapters.length; index++) {
      const name = (adapters[index] as LlmAdapter).name;
      let outcome: AdapterOutcome | 'skipped';
      try {
        outcome = await tryAdapter(index, base, { signal, opts, start, patientId: input.patientId }, counter);
      } catch (error) {
        if (error instanceof AttemptCancelled) throw cancelled(error.reason);
        throw error;
      }
      if (outcome === 'skipped') {
        failures.push(`${name}: circuit open`);
        continue;
      }
      if (outcome.ok) return outcome.result;
      lastError = outcome.error;
      failures.push(`${name}: ${outcome.error.kind}`);
    }
    const cause = lastError ?? new LlmError('server', 'every adapter has an open circuit');
    throw new WardcastError(
      ErrorCode.LlmFailed,
      `LLM synthesis failed after ${counter.attempts} attempt(s): ${failures.join('; ')}`,
      { cause },
    );
  }

  return {
    synthesize,
    circuitState: (index) => {
      const breaker = breakers[index];
      if (!breaker) throw new WardcastError(ErrorCode.InvalidOption, `no adapter at index ${index}`);
      return breaker.state;
    },
  };
}

function cancelled(reason: unknown): WardcastError {
  return new WardcastError(ErrorCode.LlmCancelled, 'LLM synthesis cancelled', { cause: reason });
}

/** The structured context handed to adapters, with free-text intake fields redacted. */
function redactContext(input: LlmSynthesizeInput, redact: Redactor) {
  const { intake } = input;
  const redactedIntake: Intake = {
    ...intake,
    chiefComplaint: redact(intake.chiefComplaint),
    ...(intake.history === undefined ? {} : { history: redact(intake.history) }),
    ...(intake.medications === undefined ? {} : { medications: intake.medications.map(redact) }),
    ...(intake.allergies === undefined ? {} : { allergies: intake.allergies.map(redact) }),
  };
  return { intake: redactedIntake, vitals: input.vitals, risk: input.risk };
}

/** Validation problems as short lines for the repair prompt. */
function describeIssues(output: unknown, error: z.ZodError): string {
  if (typeof output === 'string') return 'The answer is not a valid JSON object.';
  return error.issues
    .slice(0, 10)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('\n');
}
