import { randomBytes } from 'node:crypto';
import { MIGRATIONS, migrate } from '@wardcast/postgres';
import { isWardcastError } from '@wardcast/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { database, newPool } from './helpers/db.js';

describe.skipIf(!database)('migrate', () => {
  const schemas: string[] = [];
  const pools = [newPoolLazy(), newPoolLazy()];
  const fresh = (): string => {
    const name = `wardcast_test_${randomBytes(6).toString('hex')}`;
    schemas.push(name);
    return name;
  };

  afterAll(async () => {
    const pool = pools[0]?.get();
    for (const s of schemas) await pool?.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await Promise.all(pools.map((p) => p.end()));
  });

  it('creates the schema, the tables and their indexes, and records the version', async () => {
    const pool = pools[0]?.get() as ReturnType<typeof newPool>;
    const schema = fresh();
    const result = await migrate(pool, { schema });
    expect(result).toEqual({ schema, applied: MIGRATIONS.map((m) => m.version), version: 3 });
    const tables = await pool.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [schema],
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual([
      'backplane_connections',
      'backplane_instances',
      'backplane_presence',
      'backplane_stream',
      'backplane_topics',
      'escalations',
      'inbox',
      'outbox',
      'wardcast_migrations',
    ]);
    const indexes = await pool.query<{ indexname: string; indexdef: string }>(
      'SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1',
      [schema],
    );
    const paging = indexes.rows.find((r) => r.indexname === 'inbox_paging');
    expect(paging?.indexdef).toContain('(user_id, created_at DESC, seq DESC, id DESC)');
    expect(indexes.rows.map((r) => r.indexname)).toEqual(
      expect.arrayContaining([
        'inbox_pkey',
        'inbox_unread',
        'inbox_retention',
        'escalations_pkey',
        'escalations_pending',
      ]),
    );
    const columns = await pool.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'inbox'`,
      [schema],
    );
    expect(columns.rows.map((r) => r.column_name).sort()).toEqual(
      [
        'acknowledged_at',
        'created_at',
        'epoch',
        'id',
        'kind',
        'payload',
        'priority',
        'read_at',
        'seq',
        'topic',
        'user_id',
      ].sort(),
    );
    const versions = await pool.query(`SELECT version, name FROM "${schema}".wardcast_migrations`);
    expect(versions.rows).toEqual([
      { version: 1, name: 'inbox and escalations' },
      { version: 2, name: 'backplane: topic streams, instances, presence, connection slots' },
      { version: 3, name: 'transactional outbox' },
    ]);
  });

  it('is idempotent: a second run applies nothing and keeps the data', async () => {
    const pool = pools[0]?.get() as ReturnType<typeof newPool>;
    const schema = fresh();
    await migrate(pool, { schema });
    await pool.query(
      `INSERT INTO "${schema}".inbox (user_id, id, topic, epoch, seq, kind, priority, created_at, payload)
       VALUES ('u1', 'n1', 'user:u1', 'e', 1, 'custom', 'routine', now(), '{}')`,
    );
    expect(await migrate(pool, { schema })).toEqual({ schema, applied: [], version: 3 });
    expect(await migrate(pool, { schema })).toEqual({ schema, applied: [], version: 3 });
    const rows = await pool.query(`SELECT count(*)::int AS n FROM "${schema}".inbox`);
    expect(rows.rows[0]).toEqual({ n: 1 });
  });

  it('is safe when several instances migrate at once (two pools, advisory lock)', async () => {
    const a = pools[0]?.get() as ReturnType<typeof newPool>;
    const b = pools[1]?.get() as ReturnType<typeof newPool>;
    const schema = fresh();
    const results = await Promise.all([
      migrate(a, { schema }),
      migrate(b, { schema }),
      migrate(a, { schema }),
      migrate(b, { schema }),
    ]);
    const applied = results.map((r) => r.applied);
    expect(applied.filter((x) => x.length > 0)).toEqual([[1, 2, 3]]);
    expect(results.every((r) => r.version === 3)).toBe(true);
    const versions = await a.query(`SELECT count(*)::int AS n FROM "${schema}".wardcast_migrations`);
    expect(versions.rows[0]).toEqual({ n: 3 });
  });

  it('refuses a schema name that is not a plain identifier, touching nothing', async () => {
    const pool = pools[0]?.get() as ReturnType<typeof newPool>;
    for (const schema of ['bad-name', 'x"; DROP TABLE y; --', '', '1abc', 'a'.repeat(64)]) {
      const error = await migrate(pool, { schema }).catch((e: unknown) => e);
      expect(isWardcastError(error) && error.code).toBe('invalid_option');
    }
  });

  it('rolls back everything when a statement fails', async () => {
    const pool = pools[0]?.get() as ReturnType<typeof newPool>;
    const schema = fresh();
    // A table in the way: the migration's CREATE TABLE fails, and the schema stays as it was.
    await pool.query(`CREATE SCHEMA "${schema}"`);
    await pool.query(`CREATE TABLE "${schema}".inbox (x int)`);
    const error = await migrate(pool, { schema }).catch((e: unknown) => e);
    expect(isWardcastError(error) && error.code).toBe('store_unavailable');
    const tables = await pool.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1',
      [schema],
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual(['inbox']);
  });
});

/** A pool created on first use (so a skipped file never connects). */
function newPoolLazy(): { get(): ReturnType<typeof newPool>; end(): Promise<void> } {
  let pool: ReturnType<typeof newPool> | undefined;
  return {
    get() {
      pool ??= newPool();
      return pool;
    },
    async end() {
      await pool?.end().catch(() => {});
    },
  };
}
