import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import { migrate } from '@wardcast/postgres';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

/** Where the tests look for PostgreSQL unless `DATABASE_URL` says otherwise. */
export const DEFAULT_DATABASE_URL = 'postgres://127.0.0.1:5432/test';

function candidates(): pg.PoolConfig[] {
  const url = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  if (new URL(url).username !== '') return [{ connectionString: url }];
  // Trust auth on a developer machine or CI: try the usual user names.
  const users = [process.env.PGUSER, safeUser(), 'root', 'postgres'].filter(
    (u, i, all): u is string => typeof u === 'string' && u !== '' && all.indexOf(u) === i,
  );
  return users.map((user) => {
    const withUser = new URL(url);
    withUser.username = encodeURIComponent(user);
    return { connectionString: withUser.toString(), user };
  });
}

function safeUser(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

/**
 * The connection settings that reach the test database, or `undefined` (after a clear warning)
 * when PostgreSQL is not reachable. Under CI (`process.env.CI` set) an unreachable database
 * throws instead, so the suite fails rather than silently skipping.
 */
export async function probeDatabase(): Promise<pg.PoolConfig | undefined> {
  const errors: string[] = [];
  for (const config of candidates()) {
    const client = new pg.Client({ ...config, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return config;
    } catch (cause) {
      errors.push(`${config.user ?? '(url user)'}: ${(cause as Error).message}`);
    } finally {
      await client.end().catch(() => {});
    }
  }
  const where = (process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL).replace(/\/\/[^@/]*@/, '//***@');
  const message = `PostgreSQL is not reachable at ${where} (${errors.join('; ')})`;
  if (process.env.CI) throw new Error(`${message}: the @wardcast/postgres tests need it under CI`);
  console.warn(`${message}: skipping the @wardcast/postgres tests (set DATABASE_URL to run them)`);
  return undefined;
}

/** Settings of the test database, probed once per test file. */
export const database = await probeDatabase();

/** A new pool on the test database. */
export function newPool(max = 5, overrides: pg.PoolConfig = {}): pg.Pool {
  if (!database) throw new Error('no test database');
  const pool = new pg.Pool({ ...database, max, ...overrides });
  pool.on('error', () => {});
  return pool;
}

/** A schema of its own for one test file, migrated, dropped afterwards, and a pool on it. */
export interface TestSchema {
  readonly name: string;
  readonly pool: pg.Pool;
}

/**
 * Creates a unique schema (`wardcast_test_<random>`) before the file's tests, migrates it, and
 * drops it (and ends every pool made with {@link TestSchema.pool} or `track`) after them.
 */
export function useSchema(): TestSchema & { track(pool: pg.Pool): pg.Pool } {
  const name = `wardcast_test_${randomBytes(6).toString('hex')}`;
  const pools: pg.Pool[] = [];
  let main: pg.Pool | undefined;
  beforeAll(async () => {
    main = newPool(10);
    await migrate(main, { schema: name });
  });
  afterAll(async () => {
    await main?.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
    await Promise.all([main, ...pools].map((p) => p?.end().catch(() => {})));
  });
  return {
    name,
    get pool(): pg.Pool {
      if (!main) throw new Error('useSchema: the pool exists only inside tests');
      return main;
    },
    track(pool: pg.Pool): pg.Pool {
      pools.push(pool);
      return pool;
    },
  };
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
