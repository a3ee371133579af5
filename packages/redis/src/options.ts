import { hostname } from 'node:os';
import { ErrorCode, WardcastError } from '@wardcast/protocol';
import type { Logger } from '@wardcast/server';
import type { Redis } from 'ioredis';

/**
 * Options of {@link createRedisBackplane}.
 *
 * @category Backplane
 */
export interface RedisBackplaneOptions {
  /**
   * An ioredis client, or a `redis://` URL to create one. The backplane runs its commands on it and
   * opens one more connection (`duplicate()`) for pub/sub. A client you pass stays yours: `close()`
   * does not quit it.
   */
  readonly redis: Redis | string;
  /** Prefix of every key and channel, to share a Redis with other apps or other hub clusters. @default 'wardcast:' */
  readonly keyPrefix?: string;
  /** Notifications kept per topic (approximately: `XADD MAXLEN ~`, so a little more may stay). @default 10_000 */
  readonly maxLen?: number;
  /** Age (ms) past which notifications are dropped from a topic's stream. @default 86_400_000 (24 h) */
  readonly maxAgeMs?: number;
  /**
   * Time (ms) without a publish after which a topic's keys expire whole (its epoch then changes).
   * @default 604_800_000 (7 days)
   */
  readonly topicTtlMs?: number;
  /**
   * How long a publish may hold its reserved seq between the append and the commit (while the
   * hub records the inbox row and the escalation). Later publishes to the topic become visible
   * only after it settles. When a hub instance dies mid-publish, a retry of the same id (on any
   * instance) takes its reservation over once this long has passed, keeping its seq; without a
   * retry the reservation is skipped at 1.5 times this (nobody ever receives that notification,
   * its publisher never resolved, and subscribers see a gap). A publish slower than this may be
   * overtaken and then rejects with `store_unavailable`, delivering nothing.
   * @default 10_000
   */
  readonly reservationTtlMs?: number;
  /** Longest a Redis command may take before the operation fails with `store_unavailable`. @default 5_000 */
  readonly commandTimeoutMs?: number;
  /** This instance's name in presence and connection slots. @default `${hostname}:${pid}:${random}` */
  readonly instanceId?: string;
  /**
   * How long the presence and connection slots of an instance that stopped heartbeating (crashed)
   * are kept: the slots of a crashed instance stop counting against `maxConnectionsPerUser` at most
   * this long after it died, and a connection refused for the limit is told to retry after it
   * (`retryAfterMs`). Heartbeats run every third of it, so an instance is taken for dead after
   * about two missed heartbeats (an event-loop stall or Redis outage longer than two thirds of it).
   * @default 8_000
   */
  readonly instanceTtlMs?: number;
  /** Where to log reconnects and background failures. @default silent */
  readonly logger?: Logger;
}

/**
 * Defaults of {@link RedisBackplaneOptions}.
 *
 * @category Backplane
 */
export const DEFAULT_REDIS_BACKPLANE = {
  keyPrefix: 'wardcast:',
  maxLen: 10_000,
  maxAgeMs: 86_400_000,
  topicTtlMs: 604_800_000,
  commandTimeoutMs: 5_000,
  reservationTtlMs: 10_000,
  instanceTtlMs: 8_000,
} as const;

/** Options with defaults applied. */
export type ResolvedOptions = Required<Omit<RedisBackplaneOptions, 'redis' | 'logger'>>;

/** Applies defaults and checks numbers. @throws {WardcastError} `invalid_option` */
export function resolveOptions(options: RedisBackplaneOptions): ResolvedOptions {
  const d = DEFAULT_REDIS_BACKPLANE;
  const resolved: ResolvedOptions = {
    keyPrefix: options.keyPrefix ?? d.keyPrefix,
    maxLen: options.maxLen ?? d.maxLen,
    maxAgeMs: options.maxAgeMs ?? d.maxAgeMs,
    topicTtlMs: options.topicTtlMs ?? Math.max(d.topicTtlMs, options.maxAgeMs ?? 0),
    commandTimeoutMs: options.commandTimeoutMs ?? d.commandTimeoutMs,
    reservationTtlMs: options.reservationTtlMs ?? d.reservationTtlMs,
    instanceId: options.instanceId ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`,
    instanceTtlMs: options.instanceTtlMs ?? d.instanceTtlMs,
  };
  for (const name of [
    'maxLen',
    'maxAgeMs',
    'topicTtlMs',
    'commandTimeoutMs',
    'instanceTtlMs',
    'reservationTtlMs',
  ] as const) {
    const value = resolved[name];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new WardcastError(ErrorCode.InvalidOption, `createRedisBackplane: ${name} must be a positive integer`);
    }
  }
  if (resolved.topicTtlMs < resolved.maxAgeMs) {
    throw new WardcastError(ErrorCode.InvalidOption, 'createRedisBackplane: topicTtlMs must be at least maxAgeMs');
  }
  if (typeof resolved.instanceId !== 'string' || resolved.instanceId === '' || /\s/.test(resolved.instanceId)) {
    throw new WardcastError(
      ErrorCode.InvalidOption,
      'createRedisBackplane: instanceId must be a non-empty string without spaces',
    );
  }
  if (typeof options.redis !== 'string' && typeof options.redis?.duplicate !== 'function') {
    throw new WardcastError(ErrorCode.InvalidOption, 'createRedisBackplane: redis must be an ioredis client or a URL');
  }
  return resolved;
}
