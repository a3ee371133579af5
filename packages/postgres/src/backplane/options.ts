import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { ErrorCode, WardcastError } from '@wardcast/protocol';
import type { Logger } from '@wardcast/server';
import { checkPool, DEFAULT_SCHEMA, type PgPool, quoteSchema } from '../pg.js';

/**
 * The connection the backplane LISTENs on: a `pg` `Client` (or a `PoolClient`) fits. It must be a
 * session (not behind a transaction-pooling PgBouncer): `LISTEN` belongs to the session.
 *
 * @example
 * ```ts
 * // A listener of your own (called again after each loss of the session):
 * const backplane = createPostgresBackplane({
 *   pool,
 *   listener: async () => {
 *     const client = new pg.Client({ connectionString: process.env.DIRECT_DATABASE_URL });
 *     await client.connect();
 *     return client;
 *   },
 * });
 * ```
 *
 * @category Backplane
 */
export interface PgListenClient {
  query(text: string, values?: unknown[]): Promise<unknown>;
  on(event: 'notification', listener: (message: { channel: string; payload?: string }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  removeAllListeners?(event?: string): unknown;
  /** A `PoolClient`'s. */
  release?(error?: Error | boolean): void;
  /** A `Client`'s. */
  end?(): Promise<void>;
}

/**
 * Options of {@link createPostgresBackplane}.
 *
 * @example
 * ```ts
 * const backplane = createPostgresBackplane({
 *   pool,                                  // shared with PostgresInbox and PostgresEscalationStore
 *   listener: process.env.DIRECT_DATABASE_URL, // a session connection when `pool` goes through PgBouncer
 *   maxLen: 10_000,
 *   maxAgeMs: 86_400_000,
 * });
 * ```
 *
 * @category Backplane
 */
export interface PostgresBackplaneOptions {
  /**
   * A `pg` `Pool` (or anything with the same `query`/`connect`), shared with the inbox and the
   * escalation store. The backplane never ends it. Each publish holds one of its connections
   * from the append to the commit (see `maxReservations`).
   */
  readonly pool: PgPool;
  /** Schema that {@link migrate} created the tables in. @default 'wardcast' */
  readonly schema?: string;
  /**
   * Where the backplane LISTENs (one long-lived session per instance):
   * - absent: a connection taken from `pool` for good (the pool has one connection less);
   * - a connection string or a `pg` `ClientConfig`: a `pg.Client` of its own (use a direct,
   *   session-pooled connection when `pool` goes through PgBouncer in transaction mode);
   * - a function that resolves a connected client (called again after each loss).
   */
  readonly listener?: string | Record<string, unknown> | (() => Promise<PgListenClient>) | undefined;
  /** Notifications kept per topic (exact, trimmed at each publish). @default 10_000 */
  readonly maxLen?: number;
  /** Age (ms) past which notifications are dropped from a topic's stream. @default 86_400_000 (24 h) */
  readonly maxAgeMs?: number;
  /**
   * Time (ms) without a publish after which a topic's row is deleted (its epoch then changes, so
   * resume points into it get `recovered: false`). @default 604_800_000 (7 days), at least `maxAgeMs`
   */
  readonly topicTtlMs?: number;
  /**
   * How long a publish may hold its topic between the append and the commit (while the hub stores
   * the inbox row and the escalation). The reservation is an open transaction holding the topic's
   * row lock: later publishes to the topic wait for it. Past this the backplane rolls it back (and
   * PostgreSQL ends the session of an instance that froze, by `idle_in_transaction_session_timeout`):
   * the publish rejects with `store_unavailable`, delivered to no one, and its seq is reused.
   * @default 10_000
   */
  readonly reservationTtlMs?: number;
  /** Longest a query may take before the operation fails with `store_unavailable`. @default 5_000 */
  readonly commandTimeoutMs?: number;
  /**
   * Most reservations (open publish transactions) at once on this instance; more publishes wait
   * in memory. Keeps the pool from being filled with reservations whose inbox row then cannot get a
   * connection. @default half of the pool's `max` (`pool.options.max`, 10 when unknown), at least 1
   */
  readonly maxReservations?: number;
  /** This instance's name in presence and connection slots. @default `${hostname}:${pid}:${random}` */
  readonly instanceId?: string;
  /**
   * How long the presence and connection slots of an instance that stopped heartbeating (crashed)
   * are kept; heartbeats (and a check of the listening connection) run every third of it.
   * @default 8_000
   */
  readonly instanceTtlMs?: number;
  /** Where to log reconnects and background failures. @default silent */
  readonly logger?: Logger;
}

/**
 * Defaults of {@link PostgresBackplaneOptions}.
 *
 * @example
 * ```ts
 * const backplane = createPostgresBackplane({ pool, maxLen: DEFAULT_POSTGRES_BACKPLANE.maxLen * 2 });
 * ```
 *
 * @category Backplane
 */
export const DEFAULT_POSTGRES_BACKPLANE = {
  maxLen: 10_000,
  maxAgeMs: 86_400_000,
  topicTtlMs: 604_800_000,
  reservationTtlMs: 10_000,
  commandTimeoutMs: 5_000,
  instanceTtlMs: 8_000,
} as const;

/** Options with defaults applied. */
export interface ResolvedBackplaneOptions {
  readonly pool: PgPool;
  readonly schema: string;
  /** Quoted schema. */
  readonly s: string;
  readonly maxLen: number;
  readonly maxAgeMs: number;
  readonly topicTtlMs: number;
  readonly reservationTtlMs: number;
  readonly commandTimeoutMs: number;
  readonly maxReservations: number;
  readonly instanceId: string;
  readonly instanceTtlMs: number;
  /** NOTIFY channel of `topic`. */
  channel(topic: string): string;
  /** NOTIFY channel of control messages. */
  readonly controlChannel: string;
}

const OWNER = 'createPostgresBackplane';

function invalid(message: string): WardcastError {
  return new WardcastError(ErrorCode.InvalidOption, `${OWNER}: ${message}`);
}

/** A channel name: a plain identifier under 63 bytes, derived from the schema and a key. */
function channelName(schema: string, key: string): string {
  return `wardcast_${createHash('sha256').update(`${schema}\0${key}`).digest('hex').slice(0, 40)}`;
}

/** Applies defaults and checks values. @throws {WardcastError} `invalid_option` */
export function resolveBackplaneOptions(options: PostgresBackplaneOptions): ResolvedBackplaneOptions {
  if (!options || typeof options !== 'object') throw invalid('options are required');
  const pool = checkPool(options.pool, OWNER);
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const s = quoteSchema(schema, OWNER);
  const d = DEFAULT_POSTGRES_BACKPLANE;
  const poolMax = Number((pool as { options?: { max?: unknown } }).options?.max ?? 10);
  const numbers = {
    maxLen: options.maxLen ?? d.maxLen,
    maxAgeMs: options.maxAgeMs ?? d.maxAgeMs,
    topicTtlMs: options.topicTtlMs ?? Math.max(d.topicTtlMs, options.maxAgeMs ?? 0),
    reservationTtlMs: options.reservationTtlMs ?? d.reservationTtlMs,
    commandTimeoutMs: options.commandTimeoutMs ?? d.commandTimeoutMs,
    maxReservations: options.maxReservations ?? Math.max(1, Math.floor((Number.isFinite(poolMax) ? poolMax : 10) / 2)),
    instanceTtlMs: options.instanceTtlMs ?? d.instanceTtlMs,
  };
  for (const [name, value] of Object.entries(numbers)) {
    if (!Number.isSafeInteger(value) || value < 1) throw invalid(`${name} must be a positive integer`);
  }
  if (numbers.topicTtlMs < numbers.maxAgeMs) throw invalid('topicTtlMs must be at least maxAgeMs');
  const instanceId = options.instanceId ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  if (typeof instanceId !== 'string' || instanceId === '' || /\s/.test(instanceId)) {
    throw invalid('instanceId must be a non-empty string without spaces');
  }
  const l = options.listener;
  if (l !== undefined && typeof l !== 'string' && typeof l !== 'function' && (typeof l !== 'object' || l === null)) {
    throw invalid('listener must be a connection string, a pg ClientConfig or a function');
  }
  return {
    pool,
    schema,
    s,
    ...numbers,
    instanceId,
    channel: (topic) => channelName(schema, `topic:${topic}`),
    controlChannel: channelName(schema, 'control'),
  };
}
