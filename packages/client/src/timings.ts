/** Timings of the client: its defaults, and the cap on the hub's retry hint. */

/**
 * Default timings of the client, ms.
 *
 * @category Client
 */
export const DEFAULT_CLIENT_TIMINGS = {
  pingIntervalMs: 15_000,
  pongTimeoutMs: 10_000,
  refreshLeewayMs: 60_000,
} as const;

/** Longest `retryAfterMs` hint from the hub the client honours, ms (a larger one is capped). */
export const MAX_RETRY_AFTER_MS = 300_000;
