/**
 * `@wardcast/postgres`: a durable per-user inbox (offline delivery, read state shared by a
 * user's devices, retention), durable escalation state, and a backplane (history + broker over
 * LISTEN/NOTIFY) for Redis-free clusters of `@wardcast/server`, on PostgreSQL with `pg`.
 *
 * @packageDocumentation
 * @module \@wardcast/postgres
 */

export { createPostgresBackplane, PostgresBackplane } from './backplane/backplane.js';
export {
  DEFAULT_POSTGRES_BACKPLANE,
  type PgListenClient,
  type PostgresBackplaneOptions,
} from './backplane/options.js';
export {
  DEFAULT_POSTGRES_ESCALATIONS,
  PostgresEscalationStore,
  type PostgresEscalationStoreOptions,
} from './escalation-store.js';
export { DEFAULT_POSTGRES_INBOX, PostgresInbox, type PostgresInboxOptions } from './inbox.js';
export { MIGRATIONS, type MigrateOptions, type MigrateResult, type Migration, migrate } from './migrations.js';
export {
  DEFAULT_POSTGRES_OUTBOX,
  type DeadLetter,
  type OutboxHub,
  type OutboxStats,
  type PgTransactionClient,
  type PostgresOutboxOptions,
} from './outbox/options.js';
export { type EnqueuedNotification, PostgresOutbox } from './outbox/outbox.js';
export { DEFAULT_SCHEMA, type PgClient, type PgPool, type PgResult } from './pg.js';
