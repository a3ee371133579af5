/**
 * Retry helpers of the resilient wrapper: which failures are retried, full-jitter backoff that
 * honours `Retry-After`, an abortable sleep, and one attempt under a timeout.
 *
 * @module
 */

import {
  type LlmAdapter,
  LlmError,
  type LlmErrorKind,
  type LlmRequest,
  type LlmResponse,
} from '../assessment/types.js';
import { errorMessage, isAbortError, isLlmError, isNetworkError } from './errors.js';

/**
 * Backoff between retries of one adapter.
 *
 * @example
 * ```ts
 * createResilientLlm({ adapters, backoff: { baseMs: 250, maxMs: 5_000 } });
 * ```
 *
 * @category LLM
 */
export interface BackoffOptions {
  /** First retry's maximum delay; doubles on each retry. @default 500 */
  readonly baseMs?: number;
  /** Cap on any delay. A `Retry-After` longer than this skips to the next adapter instead. @default 10_000 */
  readonly maxMs?: number;
  /** Source of randomness in [0, 1), for tests. @default Math.random */
  readonly random?: () => number;
}

/** Failures worth retrying on the same adapter. */
export const RETRYABLE_KINDS: ReadonlySet<LlmErrorKind> = new Set(['rate_limited', 'server', 'network', 'timeout']);

/**
 * Delay before retry number `retry` (0 for the first retry): full jitter, `random() * min(maxMs,
 * baseMs * 2^retry)`, but never less than `Retry-After`. Returns `undefined` when `Retry-After`
 * exceeds `maxMs` (the caller then moves on to the next adapter rather than wait that long).
 *
 * @example
 * ```ts
 * backoffDelay(1, undefined, { baseMs: 100, maxMs: 1000 }); // 0..200
 * backoffDelay(0, 2, {}); // 2000 (or more)
 * ```
 */
export function backoffDelay(
  retry: number,
  retryAfterSeconds: number | undefined,
  options: BackoffOptions = {},
): number | undefined {
  const baseMs = options.baseMs ?? 500;
  const maxMs = options.maxMs ?? 10_000;
  const random = options.random ?? Math.random;
  const jitter = Math.floor(random() * Math.min(maxMs, baseMs * 2 ** retry));
  if (retryAfterSeconds === undefined) return jitter;
  const retryAfterMs = Math.ceil(retryAfterSeconds * 1000);
  if (retryAfterMs > maxMs) return undefined;
  return Math.max(jitter, retryAfterMs);
}

/**
 * Resolves after `ms`, or rejects with the signal's reason as soon as `signal` aborts.
 *
 * @example
 * ```ts
 * await abortableSleep(250, controller.signal);
 * ```
 */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Converts anything an adapter threw to an {@link LlmError}. Unknown errors count as `network`
 * when they look like a connection failure and as `server` otherwise (retryable: a custom
 * adapter that throws plain errors still gets retries).
 */
export function toLlmError(error: unknown, adapter: string): LlmError {
  if (isLlmError(error)) return error;
  if (isAbortError(error)) return new LlmError('aborted', `${adapter}: aborted`, { cause: error });
  const kind = isNetworkError(error) ? 'network' : 'server';
  return new LlmError(kind, `${adapter}: ${errorMessage(error)}`, { cause: error });
}

/** Thrown by {@link runAttempt} when the caller's signal aborted the attempt. */
export class AttemptCancelled extends Error {
  constructor(readonly reason: unknown) {
    super('cancelled');
    this.name = 'AttemptCancelled';
  }
}

/**
 * Runs one `adapter.generate` under a timeout and the caller's signal. Settles as soon as either
 * fires, even if the adapter ignores its signal. Text deltas arriving after the attempt ended are
 * dropped. Throws {@link AttemptCancelled} when the caller aborted, else an {@link LlmError}
 * (`timeout` when the timer fired).
 */
export async function runAttempt(
  adapter: LlmAdapter,
  request: Omit<LlmRequest, 'signal'>,
  callerSignal: AbortSignal,
  timeoutMs: number,
): Promise<LlmResponse> {
  if (callerSignal.aborted) throw new AttemptCancelled(callerSignal.reason);
  const timeout = new AbortController();
  const timer = setTimeout(() => {
    timeout.abort(new LlmError('timeout', `${adapter.name}: no answer within ${timeoutMs} ms`));
  }, timeoutMs);
  const signal = AbortSignal.any([callerSignal, timeout.signal]);
  let settled = false;
  const { onText } = request;
  const guardedOnText = onText
    ? (delta: string) => {
        if (!settled) onText(delta);
      }
    : undefined;
  let removeListener = () => {};
  try {
    const aborted = new Promise<never>((_, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      removeListener = () => signal.removeEventListener('abort', onAbort);
    });
    const call = Promise.resolve().then(() =>
      adapter.generate({ ...request, signal, ...(guardedOnText ? { onText: guardedOnText } : {}) }),
    );
    call.catch(() => {}); // a late rejection after the race is lost must not go unhandled
    return await Promise.race([call, aborted]);
  } catch (error) {
    if (callerSignal.aborted) throw new AttemptCancelled(callerSignal.reason);
    if (timeout.signal.aborted) throw timeout.signal.reason as LlmError;
    throw toLlmError(error, adapter.name);
  } finally {
    settled = true;
    removeListener();
    clearTimeout(timer);
  }
}
