/**
 * Helpers shared by the LLM adapters to turn vendor SDK errors into {@link LlmError}s.
 *
 * Checks are by shape, not `instanceof`: the CommonJS build bundles each adapter entry on its
 * own, and an application may load a second copy of a vendor SDK.
 *
 * @module
 */

import { LlmError, type LlmErrorKind } from '../assessment/types.js';

/**
 * Whether `value` is an {@link LlmError} (by shape, so it also works across bundled copies).
 *
 * @example
 * ```ts
 * if (isLlmError(err) && err.kind === 'rate_limited') console.warn('retry after', err.retryAfterSeconds);
 * ```
 *
 * @category LLM
 */
export function isLlmError(value: unknown): value is LlmError {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { name?: unknown; kind?: unknown };
  return v.name === 'LlmError' && typeof v.kind === 'string';
}

/**
 * Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date) or an
 * OpenAI-style `retry-after-ms` header. `undefined` when absent or unparseable.
 *
 * @example
 * ```ts
 * parseRetryAfter('3'); // 3
 * parseRetryAfter(undefined, '1500'); // 1.5
 * ```
 */
export function parseRetryAfter(
  retryAfter: string | null | undefined,
  retryAfterMs?: string | null,
  now: number = Date.now(),
): number | undefined {
  if (retryAfterMs) {
    const ms = Number(retryAfterMs);
    if (Number.isFinite(ms) && ms >= 0) return ms / 1000;
  }
  if (!retryAfter) return undefined;
  const trimmed = retryAfter.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, (date - now) / 1000);
}

/**
 * The {@link LlmErrorKind} for an HTTP status: 429 is `rate_limited`, 408 and 5xx are `server`
 * (transient), other 4xx are `client`.
 *
 * @example
 * ```ts
 * kindForStatus(503); // 'server'
 * ```
 */
export function kindForStatus(status: number): LlmErrorKind {
  if (status === 429) return 'rate_limited';
  if (status === 408 || status >= 500) return 'server';
  return 'client';
}

/** Whether `error` is an abort (a DOM `AbortError`, or an SDK's user-abort error). */
export function isAbortError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const name = (error as { name?: unknown }).name;
  const ctor = (error as { constructor?: { name?: unknown } }).constructor?.name;
  return name === 'AbortError' || ctor === 'APIUserAbortError' || name === 'APIUserAbortError';
}

/** Network error codes that mean the request never got (or lost) a response. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Whether `error` (or one of its causes) is a connection-level failure, e.g. `fetch failed`. */
export function isNetworkError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const e = current as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown };
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
    if (e.name === 'APIConnectionError' || e.name === 'APIConnectionTimeoutError') return true;
    if (e.name === 'TypeError' && typeof e.message === 'string' && /fetch failed|terminated/i.test(e.message)) {
      return true;
    }
    current = e.cause;
  }
  return false;
}

/** Message of an unknown thrown value, shortened for logs. */
export function errorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/**
 * Parses an adapter's final text as JSON. Returns the text itself when it is not JSON: the
 * resilient wrapper validates and asks for a repair.
 */
export function parseJsonOutput(text: string): unknown {
  const trimmed = text.trim();
  // Tolerate a fenced block (```json ... ```), which some models add despite JSON mode.
  const fenced = /^```(?:json)?\s*([\s\S]*?)\s*```$/.exec(trimmed);
  try {
    return JSON.parse(fenced?.[1] ?? trimmed);
  } catch {
    return text;
  }
}

/** Builds an {@link LlmError} for a vendor HTTP status. */
export function httpError(
  vendor: string,
  status: number,
  message: string,
  retryAfterSeconds: number | undefined,
  cause: unknown,
): LlmError {
  return new LlmError(kindForStatus(status), `${vendor}: HTTP ${status}: ${message}`, {
    status,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    cause,
  });
}
