/**
 * The state of one thing the hub needs to serve: `'ok'`, or `'degraded'` while it is unavailable
 * (for `@wardcast/redis`: a Redis connection is down, or the subscriber is catching up after one).
 *
 * @example
 * ```ts
 * const broker: HealthCheckStatus = hub.health().checks.broker;
 * ```
 *
 * @category Observability
 */
export type HealthCheckStatus = 'ok' | 'degraded';

/**
 * The hub's overall state: `'ok'`, `'degraded'` while a check is not `'ok'`, or `'shutting_down'`
 * from the moment `close()` is called (and after it finished).
 *
 * @example
 * ```ts
 * const status: HealthStatus = hub.health().status; // 'ok' | 'degraded' | 'shutting_down'
 * ```
 *
 * @category Observability
 */
export type HealthStatus = 'ok' | 'degraded' | 'shutting_down';

/**
 * The checks behind {@link HubHealth.ready}, by name.
 *
 * @example
 * ```ts
 * const { broker, history }: HealthChecks = hub.health().checks;
 * ```
 *
 * @category Observability
 */
export interface HealthChecks {
  /**
   * The broker's `health()`: whether it reaches the other instances (`'ok'` when the broker has
   * no `health`, as the memory broker; `'degraded'` when `health` throws).
   */
  readonly broker: HealthCheckStatus;
  /**
   * The history store's `health()`: whether it can store and replay notifications now (`'ok'`
   * when the store has no `health`, as `MemoryHistoryStore`; `'degraded'` when `health` throws).
   */
  readonly history: HealthCheckStatus;
}

/**
 * What keeps a hub from being ready: a check that is not `'ok'`, or `'shutdown'` once `close()`
 * was called.
 *
 * @example
 * ```ts
 * const failing: readonly HealthFailure[] = hub.health().failing; // e.g. ['broker', 'history']
 * ```
 *
 * @category Observability
 */
export type HealthFailure = keyof HealthChecks | 'shutdown';

/**
 * What `hub.health()` returns: whether this instance should get traffic now. Holds states only:
 * no user ids, topics, tokens or payloads.
 *
 * @example
 * ```ts
 * const health: HubHealth = hub.health();
 * // { status: 'degraded', ready: false, checks: { broker: 'degraded', history: 'degraded' },
 * //   failing: ['broker', 'history'] }
 * ```
 *
 * @category Observability
 */
export interface HubHealth {
  /** `'shutting_down'` once `close()` was called; else `'degraded'` while a check fails; else `'ok'`. */
  readonly status: HealthStatus;
  /** `true` only when `status` is `'ok'`: the instance can store, replay and fan out notifications. */
  readonly ready: boolean;
  /** Each check's state (still probed during shutdown, for information). */
  readonly checks: HealthChecks;
  /** Why the hub is not ready, in a stable order (`shutdown`, then the failing checks); empty when ready. */
  readonly failing: readonly HealthFailure[];
}

/** A component's `health()`, `'degraded'` when it throws; `'ok'` when it has none. */
export function probe(component: { health?(): 'ok' | 'degraded' }): HealthCheckStatus {
  try {
    return component.health === undefined || component.health() === 'ok' ? 'ok' : 'degraded';
  } catch {
    return 'degraded';
  }
}

/** Combines the checks and the shutdown flag into a {@link HubHealth}. */
export function hubHealth(checks: HealthChecks, shuttingDown: boolean): HubHealth {
  const failing: HealthFailure[] = shuttingDown ? ['shutdown'] : [];
  for (const name of ['broker', 'history'] as const) if (checks[name] !== 'ok') failing.push(name);
  const status: HealthStatus = shuttingDown ? 'shutting_down' : failing.length > 0 ? 'degraded' : 'ok';
  return { status, ready: status === 'ok', checks, failing };
}
