import { shouldReconnect } from '@wardcast/protocol/lean';

/**
 * Reconnect backoff settings.
 *
 * @category Reconnection
 */
export interface BackoffOptions {
  /** Upper bound of the first delay, ms. @default 500 */
  readonly initialDelayMs: number;
  /** Upper bound of any delay, ms. @default 30_000 */
  readonly maxDelayMs: number;
  /** Growth of the upper bound per attempt. @default 2 */
  readonly factor: number;
}

/**
 * Default {@link BackoffOptions}: 500 ms, doubling, capped at 30 s.
 *
 * @category Reconnection
 */
export const DEFAULT_BACKOFF: BackoffOptions = { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2 };

/**
 * Exponential backoff with full jitter: a uniformly random delay in
 * `[0, min(maxDelayMs, initialDelayMs * factor ** attempt))`. Spreads a crowd of clients that lost
 * the same server so they do not all come back at once.
 *
 * @param attempt - 0 for the first retry.
 * @param random - source of randomness in `[0, 1)`, for tests.
 *
 * @example
 * ```ts
 * backoffDelay(0); // 0..500 ms
 * backoffDelay(3); // 0..4000 ms
 * backoffDelay(20); // 0..30000 ms
 * ```
 *
 * @category Reconnection
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

/**
 * What the client knows about a closed socket.
 *
 * @category Reconnection
 */
export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

/**
 * The default retry rule: reconnect unless the close code is one the protocol marks fatal
 * (unauthorized, forbidden, revoked, bad frame, ...). `4430` (too many connections) is retried,
 * not before the hub's `retryAfterMs` hint.
 *
 * @example
 * ```ts
 * defaultShouldRetry({ code: 4503, reason: 'server shutting down' }); // true
 * defaultShouldRetry({ code: 4401, reason: 'unauthorized' }); // false
 * ```
 *
 * @category Reconnection
 */
export function defaultShouldRetry(close: CloseInfo): boolean {
  return shouldReconnect(close.code);
}
