/**
 * A per-adapter circuit breaker: closed → open after N consecutive failures → half-open (one
 * trial call) after a cool-down → closed on success, open again on failure.
 *
 * @module
 */

import { ErrorCode, WardcastError } from '@wardcast/protocol';

/**
 * Circuit breaker settings.
 *
 * @example
 * ```ts
 * createResilientLlm({ adapters, breaker: { failureThreshold: 3, resetAfterMs: 60_000 } });
 * ```
 *
 * @category LLM
 */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. @default 5 */
  readonly failureThreshold?: number;
  /** How long the circuit stays open before one trial call is let through. @default 30_000 */
  readonly resetAfterMs?: number;
}

/**
 * State of an adapter's circuit breaker.
 *
 * @example
 * ```ts
 * if (llm.circuitState(0) === 'open') console.warn('primary LLM is failing; using fallbacks');
 * ```
 *
 * @category LLM
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * Tracks one adapter's health. Not shared between processes.
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({ failureThreshold: 3, resetAfterMs: 10_000 });
 * if (breaker.tryAcquire()) {
 *   try { await call(); breaker.onSuccess(); } catch (err) { breaker.onFailure(); throw err; }
 * }
 * ```
 */
export class CircuitBreaker {
  readonly #threshold: number;
  readonly #resetAfterMs: number;
  readonly #now: () => number;
  #state: CircuitState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #trialInFlight = false;

  constructor(options: CircuitBreakerOptions = {}, now: () => number = Date.now) {
    this.#threshold = positive(options.failureThreshold ?? 5, 'failureThreshold');
    this.#resetAfterMs = positive(options.resetAfterMs ?? 30_000, 'resetAfterMs');
    this.#now = now;
  }

  /** Current state (an open circuit whose cool-down has passed reports `half-open`). */
  get state(): CircuitState {
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.#resetAfterMs) return 'half-open';
    return this.#state;
  }

  /**
   * Whether a call may go through now. In `half-open`, only one trial call at a time is allowed;
   * the caller must then report {@link onSuccess} or {@link onFailure} (or {@link release}).
   */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open') return false;
    if (this.#trialInFlight) return false;
    this.#state = 'half-open';
    this.#trialInFlight = true;
    return true;
  }

  /** Reports a successful call: closes the circuit. */
  onSuccess(): void {
    this.#state = 'closed';
    this.#failures = 0;
    this.#trialInFlight = false;
  }

  /** Reports a failed call: opens the circuit at the threshold, or re-opens it after a failed trial. */
  onFailure(): void {
    this.#trialInFlight = false;
    this.#failures += 1;
    if (this.#state === 'half-open' || this.#failures >= this.#threshold) {
      this.#state = 'open';
      this.#openedAt = this.#now();
    }
  }

  /** Reports a call that ended without a verdict (cancelled by the caller): frees the trial slot. */
  release(): void {
    this.#trialInFlight = false;
  }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new WardcastError(ErrorCode.InvalidOption, `breaker.${name} must be a positive number`);
  }
  return value;
}
