/**
 * `@wardcast/postgres`: a durable per-user inbox (offline delivery, read state shared by a
 * user's devices, retention) and durable escalation state for `@wardcast/server`, on PostgreSQL
 * with `pg`.
 *
 * @packageDocumentation
 * @module \@wardcast/postgres
 */

export {
  DEFAULT_POSTGRES_ESCALATIONS,
  PostgresEscalationStore,
  type PostgresEscalationStoreOptions,
} from './escalation-store.js';
export { DEFAULT_POSTGRES_INBOX, PostgresInbox, type PostgresInboxOptions } from './inbox.js';
export { MIGRATIONS, type MigrateOptions, type MigrateResult, type Migration, migrate } from './migrations.js';
export { DEFAULT_SCHEMA, type PgClient, type PgPool, type PgResult } from './pg.js';
