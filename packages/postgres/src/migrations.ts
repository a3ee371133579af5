import { ErrorCode, WardcastError } from '@wardcast/protocol';
import { checkPool, DEFAULT_SCHEMA, type PgPool, quoteSchema } from './pg.js';

/**
 * One versioned schema change the package ships.
 *
 * @category Migrations
 */
export interface Migration {
  /** Applied in increasing order; recorded in `<schema>.wardcast_migrations`. */
  readonly version: number;
  readonly name: string;
  /** The SQL, for a schema name already quoted. */
  readonly sql: (schema: string) => string;
}

/**
 * The migrations of `@wardcast/postgres`, oldest first. Never edit a released one: add a new
 * version instead.
 *
 * @category Migrations
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'inbox and escalations',
    sql: (s) => `
CREATE TABLE ${s}.inbox (
  user_id text NOT NULL,
  id text NOT NULL,
  topic text NOT NULL,
  epoch text NOT NULL,
  seq bigint NOT NULL,
  kind text NOT NULL,
  priority text NOT NULL,
  created_at timestamptz NOT NULL,
  payload jsonb NOT NULL,
  read_at timestamptz,
  acknowledged_at timestamptz,
  PRIMARY KEY (user_id, id)
);
CREATE INDEX inbox_paging ON ${s}.inbox (user_id, created_at DESC, seq DESC, id DESC);
CREATE INDEX inbox_unread ON ${s}.inbox (user_id, created_at DESC, seq DESC, id DESC) WHERE read_at IS NULL;
CREATE INDEX inbox_retention ON ${s}.inbox (created_at);

CREATE TABLE ${s}.escalations (
  id text PRIMARY KEY,
  topic text NOT NULL,
  kind text NOT NULL,
  priority text NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  chain jsonb NOT NULL,
  step integer NOT NULL,
  deadline timestamptz NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'acknowledged', 'unacknowledged')),
  acknowledged_by text,
  lease_owner text,
  lease_until timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX escalations_pending ON ${s}.escalations (deadline) WHERE status = 'pending';
CREATE INDEX escalations_finished ON ${s}.escalations (updated_at) WHERE status <> 'pending';
`,
  },
  {
    version: 2,
    name: 'backplane: topic streams, instances, presence, connection slots',
    sql: (s) => `
CREATE TABLE ${s}.backplane_topics (
  topic text PRIMARY KEY,
  epoch text NOT NULL,
  seq bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX backplane_topics_idle ON ${s}.backplane_topics (updated_at);

CREATE TABLE ${s}.backplane_stream (
  topic text NOT NULL,
  seq bigint NOT NULL,
  epoch text NOT NULL,
  id text NOT NULL,
  body text NOT NULL,
  stored_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (topic, seq)
);
CREATE UNIQUE INDEX backplane_stream_ids ON ${s}.backplane_stream (topic, id);
CREATE INDEX backplane_stream_age ON ${s}.backplane_stream (topic, stored_at);

CREATE TABLE ${s}.backplane_instances (
  instance_id text PRIMARY KEY,
  deadline timestamptz NOT NULL
);

CREATE TABLE ${s}.backplane_presence (
  instance_id text NOT NULL,
  topic text NOT NULL,
  user_id text NOT NULL,
  PRIMARY KEY (instance_id, topic, user_id)
);

CREATE TABLE ${s}.backplane_connections (
  user_id text NOT NULL,
  instance_id text NOT NULL,
  session_id text NOT NULL,
  deadline timestamptz NOT NULL,
  PRIMARY KEY (user_id, instance_id, session_id)
);
CREATE INDEX backplane_connections_instance ON ${s}.backplane_connections (instance_id);
`,
  },
  {
    version: 3,
    name: 'transactional outbox',
    sql: (s) => `
CREATE TABLE ${s}.outbox (
  position bigserial PRIMARY KEY,
  id text NOT NULL,
  topic text NOT NULL,
  input text NOT NULL,
  enqueued_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  failed_at timestamptz
);
CREATE INDEX outbox_pending ON ${s}.outbox (position) WHERE failed_at IS NULL;
`,
  },
];

/**
 * Options of {@link migrate}.
 *
 * @category Migrations
 */
export interface MigrateOptions {
  /** Schema to create the tables in (created if missing). @default 'wardcast' */
  readonly schema?: string;
}

/**
 * What {@link migrate} did.
 *
 * @category Migrations
 */
export interface MigrateResult {
  readonly schema: string;
  /** Versions applied by this call, in order (empty when the schema was up to date). */
  readonly applied: readonly number[];
  /** The schema's version after the call. */
  readonly version: number;
}

/**
 * Creates or upgrades the tables of `@wardcast/postgres` in `schema`. Safe to call on every
 * start, from every instance at once: everything runs in one transaction under a transaction
 * level advisory lock (one per schema), so concurrent calls wait for each other and only the
 * first applies anything. Applied versions are recorded in `<schema>.wardcast_migrations`.
 *
 * @throws {WardcastError} `invalid_option` for a bad schema name or pool; `store_unavailable`
 * (with the database's error as `cause`, nothing applied) when a statement fails.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { migrate } from '@wardcast/postgres';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate(pool); // { schema: 'wardcast', applied: [1], version: 1 } the first time
 * ```
 *
 * @category Migrations
 */
export async function migrate(pool: PgPool, options: MigrateOptions = {}): Promise<MigrateResult> {
  const db = checkPool(pool, 'migrate');
  const name = options.schema ?? DEFAULT_SCHEMA;
  const s = quoteSchema(name, 'migrate');
  const client = await db.connect();
  let failed: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`wardcast.migrate:${name}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.wardcast_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`,
    );
    const done = await client.query<{ version: number }>(`SELECT version FROM ${s}.wardcast_migrations`);
    const have = new Set(done.rows.map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (have.has(m.version)) continue;
      await client.query(m.sql(s));
      await client.query(`INSERT INTO ${s}.wardcast_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    const version = Math.max(0, ...have, ...applied);
    return { schema: name, applied, version };
  } catch (cause) {
    failed = cause instanceof Error ? cause : new Error(String(cause));
    await client.query('ROLLBACK').catch(() => {});
    if (cause instanceof WardcastError) throw cause;
    throw new WardcastError(ErrorCode.StoreUnavailable, `migrate: ${failed.message}`, { cause });
  } finally {
    client.release(failed);
  }
}
