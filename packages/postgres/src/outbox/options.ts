import type { Logger, PublishInput, PublishResult } from '@wardcast/server';
import type { PgPool } from '../pg.js';

/**
 * What the outbox needs from the hub: `NotificationHub` fits. `validatePublish` runs every check
 * `publish` runs (topic, kind, payload schema, size, escalation policy) and returns the id the
 * notification will have, so a bad notification fails inside your transaction, not after it.
 *
 * @category Transactional outbox
 */
export interface OutboxHub {
  publish(topic: string, input: PublishInput): Promise<PublishResult>;
  validatePublish(topic: string, input: PublishInput): string;
}

/**
 * A connection inside your open transaction: a `pg` `PoolClient` or `Client` fits.
 *
 * @category Transactional outbox
 */
export interface PgTransactionClient {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

/**
 * A notification the relay gave up on (its input was refused by the hub at relay time).
 *
 * @category Transactional outbox
 */
export interface DeadLetter {
  readonly position: string;
  readonly id: string;
  readonly topic: string;
  readonly code: string;
  readonly message: string;
}

/**
 * Options of {@link PostgresOutbox}.
 *
 * @category Transactional outbox
 */
export interface PostgresOutboxOptions {
  /** The `pg` pool: the relay holds one of its connections while it leads. */
  readonly pool: PgPool;
  /** The hub that publishes what the relay takes from the outbox. */
  readonly hub: OutboxHub;
  /** Schema of the tables (run `migrate` first). @default 'wardcast' */
  readonly schema?: string;
  /** How often the relay looks for rows when no NOTIFY woke it, and how often a standby instance tries to lead. @default 1000 */
  readonly pollIntervalMs?: number;
  /** Rows read per round. @default 100 */
  readonly batchSize?: number;
  /** First wait after a failed publish (doubles up to 5 s). @default 100 */
  readonly retryDelayMs?: number;
  /** Called for each row moved aside because the hub refused it (it stays in the table with `failed_at`). */
  readonly onDeadLetter?: (letter: DeadLetter) => void;
  /** Where the relay logs leadership changes and failures. */
  readonly logger?: Logger;
  /** `false` to enqueue only (this process never relays). @default true */
  readonly relay?: boolean;
}

/**
 * Defaults of {@link PostgresOutboxOptions}.
 *
 * @category Transactional outbox
 */
export const DEFAULT_POSTGRES_OUTBOX = {
  pollIntervalMs: 1_000,
  batchSize: 100,
  retryDelayMs: 100,
} as const;

/**
 * What {@link PostgresOutbox.stats} reports.
 *
 * @category Transactional outbox
 */
export interface OutboxStats {
  /** Whether this process holds the relay lock. */
  readonly leader: boolean;
  /** Rows this process published and removed. */
  readonly relayed: number;
  /** Rows this process moved aside (refused by the hub). */
  readonly deadLettered: number;
  /** Publishes that failed and will be retried (the hub's store was unavailable). */
  readonly retries: number;
}
