/**
 * PostgreSQL backplanes for in-process tests: each on its own pool (as separate instances would
 * be) on the test file's schema, with a listener whose session carries an `application_name` the
 * test can find (to `pg_terminate_backend` it) and whose reconnects the test can hold back.
 */
import { createPostgresBackplane, type PgListenClient, type PostgresBackplane } from '@wardcast/postgres';
import pg from 'pg';
import { afterEach } from 'vitest';
import type { Fixture, Harness, StartOptions } from '../../../server/test/helpers/harness.js';
import { database, newPool, type TestSchema } from './db.js';

/** A hub on a Postgres backplane. */
export interface PgFixture extends Fixture {
  readonly backplane: PostgresBackplane;
  readonly pool: pg.Pool;
  /** The listener session's `application_name`. */
  readonly listenerName: string;
}

/** Blocks listener (re)connects while closed. */
export class Gate {
  #open = true;
  #waiters: (() => void)[] = [];
  close(): void {
    this.#open = false;
  }
  open(): void {
    this.#open = true;
    for (const w of this.#waiters.splice(0)) w();
  }
  async pass(): Promise<void> {
    if (!this.#open) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
}

type BackplaneOptions = Partial<Parameters<typeof createPostgresBackplane>[0]> & {
  /** Use the backplane's default listener (a connection from the pool) instead of a named client. */
  defaultListener?: boolean;
};

/** Backplanes on `schema`, closed (and their pools ended) after each test. */
export function useBackplanes(schema: TestSchema): {
  make(options?: BackplaneOptions & { gate?: Gate; name?: string }): {
    backplane: PostgresBackplane;
    pool: pg.Pool;
    listenerName: string;
  };
  /** Hubs on backplanes of their own, every topic allowed. */
  cluster(
    harness: Harness,
    count: number,
    options?: { backplane?: BackplaneOptions; hub?: StartOptions; gates?: Gate[] },
  ): Promise<PgFixture[]>;
} {
  const made: { backplane: PostgresBackplane; pool: pg.Pool }[] = [];
  afterEach(async () => {
    const all = made.splice(0);
    await Promise.all(all.map((m) => m.backplane.close().catch(() => {})));
    await Promise.all(all.map((m) => m.pool.end().catch(() => {})));
  });
  let n = 0;
  const make = (options: BackplaneOptions & { gate?: Gate; name?: string } = {}) => {
    const { gate, name, pool: given, defaultListener, ...rest } = options;
    const pool = (given as pg.Pool | undefined) ?? newPool(8);
    const instanceId = name ?? `hub-${++n}-${Math.random().toString(36).slice(2, 6)}`;
    const listenerName = `wcl-${instanceId}`.slice(0, 60);
    const listener = async (): Promise<PgListenClient> => {
      await gate?.pass();
      if (!database) throw new Error('no test database');
      const client = new pg.Client({ ...database, application_name: listenerName });
      client.on('error', () => {});
      await client.connect();
      return client as unknown as PgListenClient;
    };
    const backplane = createPostgresBackplane({
      pool,
      schema: schema.name,
      instanceId,
      ...(defaultListener ? {} : { listener }),
      commandTimeoutMs: 3_000,
      ...rest,
    });
    made.push({ backplane, pool });
    return { backplane, pool, listenerName };
  };
  return {
    make,
    async cluster(harness, count, options = {}) {
      const out: PgFixture[] = [];
      for (let i = 0; i < count; i++) {
        const gate = options.gates?.[i];
        const { backplane, pool, listenerName } = make({ ...options.backplane, ...(gate ? { gate } : {}) });
        const fx = await harness.start({
          history: backplane,
          broker: backplane,
          authorize: () => true,
          ...options.hub,
        });
        out.push({ ...fx, backplane, pool, listenerName });
      }
      return out;
    },
  };
}

/** Ends the listener session(s) named `name` from another connection; resolves how many. */
export async function terminateListener(admin: pg.Pool, name: string): Promise<number> {
  const r = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
    name,
  ]);
  return r.rowCount ?? 0;
}

/** Polls until `condition` holds; rejects with `what` after `timeoutMs`. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}
