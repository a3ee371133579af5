import { describeIssue, ErrorCode, isWardcastError } from '@wardcast/protocol';
import type { z } from 'zod';
import type { HttpResult } from './types.js';

const BASE_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  // Inbox pages hold PHI: never let a browser or proxy cache a response.
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

/**
 * An HTTP failure with a stable error code, answered as
 * `{ success: false, error: { code, message } }`.
 *
 * @example
 * ```ts
 * throw new HttpError(404, ErrorCode.NotFound, 'no such notification');
 * ```
 *
 * @category HTTP endpoints
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: string, message: string, headers: Readonly<Record<string, string>> = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** A `200 { success: true, data }` result. */
export function ok(data: unknown): HttpResult {
  return { status: 200, headers: BASE_HEADERS, body: { success: true, data } };
}

/** A failure result. */
export function failure(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): HttpResult {
  return { status, headers: { ...BASE_HEADERS, ...headers }, body: { success: false, error: { code, message } } };
}

/** A 413 for a body past `maxBytes`. */
export function bodyTooLarge(maxBytes: number): HttpError {
  return new HttpError(413, ErrorCode.BodyTooLarge, `request body is larger than ${maxBytes} bytes`);
}

/**
 * A 400 naming every invalid field of a zod error: field paths, types and rules, never the
 * values (`input` is what was parsed; only the types of its fields are named).
 */
export function badRequest(what: string, error: z.ZodError, input: unknown): HttpError {
  const issues = error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : what}: ${describeIssue(i, input)}`);
  return new HttpError(400, ErrorCode.BadRequest, `invalid ${what}: ${issues.join('; ')}`);
}

const CLIENT_ERRORS = new Set<string>([
  ErrorCode.BadRequest,
  ErrorCode.InvalidTopic,
  ErrorCode.InvalidNotification,
  ErrorCode.UnknownKind,
  ErrorCode.InvalidPayload,
  ErrorCode.PayloadTooLarge,
]);

/**
 * The result for anything a route threw: an {@link HttpError} as is; a `WardcastError` for bad
 * input as 400, `hub_closed`/`store_unavailable` as 503; anything else as a generic 500.
 * Returns `undefined` for the unexpected ones (the caller logs them).
 */
export function resultOf(err: unknown): HttpResult | undefined {
  if (err instanceof HttpError) return failure(err.status, err.code, err.message, { ...err.headers });
  if (isWardcastError(err)) {
    if (CLIENT_ERRORS.has(err.code)) return failure(400, err.code, err.message);
    if (err.code === ErrorCode.HubClosed || err.code === ErrorCode.StoreUnavailable) {
      return failure(503, err.code, err.code === ErrorCode.HubClosed ? 'hub is closed' : 'store unavailable');
    }
  }
  return undefined;
}

/** The generic 500. */
export function internalError(): HttpResult {
  return failure(500, ErrorCode.Internal, 'internal error');
}
