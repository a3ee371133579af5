import { ErrorCode, WardcastError } from '@wardcast/protocol';
import type { PgClient, PgPool, PgResult } from '../pg.js';

/** `store_unavailable`, with the database error as `cause`. */
export function unavailable(message: string, cause?: unknown): WardcastError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new WardcastError(
    ErrorCode.StoreUnavailable,
    `postgres backplane: ${message}${detail}`,
    cause === undefined ? undefined : { cause },
  );
}

/** Rejects with `store_unavailable` when `promise` takes longer than `ms` (the query itself is not cancelled). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(unavailable(`${what} timed out after ${ms} ms`)), ms);
      timer.unref?.();
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The pool as the backplane uses it: every query with a client-side deadline, failures turned into
 * `store_unavailable`, and the outcome remembered for `health()`.
 */
export class Db {
  readonly pool: PgPool;
  readonly timeoutMs: number;
  /** The last query on the pool succeeded (or none failed yet). */
  healthy = true;

  constructor(pool: PgPool, timeoutMs: number) {
    this.pool = pool;
    this.timeoutMs = timeoutMs;
  }

  /** Runs one statement on the pool. @throws {WardcastError} `store_unavailable` */
  async query<R = Record<string, unknown>>(what: string, text: string, values?: unknown[]): Promise<PgResult<R>> {
    try {
      const result = await withTimeout(this.pool.query<R>(text, values), this.timeoutMs, what);
      this.healthy = true;
      return result;
    } catch (cause) {
      this.healthy = false;
      if (cause instanceof WardcastError) throw cause;
      throw unavailable(`${what} failed`, cause);
    }
  }

  /** A connection of its own (for a transaction). @throws {WardcastError} `store_unavailable` */
  async connect(what: string): Promise<PgClient> {
    const connecting = this.pool.connect();
    try {
      const client = await withTimeout(connecting, this.timeoutMs, `${what}: connect`);
      this.healthy = true;
      return client;
    } catch (cause) {
      // A connection that arrives after the deadline goes straight back.
      connecting.then(
        (c) => c.release(),
        () => {},
      );
      this.healthy = false;
      if (cause instanceof WardcastError) throw cause;
      throw unavailable(`${what}: connect failed`, cause);
    }
  }

  /** Runs `fn` in a transaction on a connection of its own. @throws {WardcastError} `store_unavailable` */
  async transaction<T>(
    what: string,
    fn: (q: (text: string, values?: unknown[]) => Promise<PgResult>) => Promise<T>,
  ): Promise<T> {
    const client = await this.connect(what);
    // Between queries the session may die: `pg` then emits `error` on the client (uncaught without a listener).
    const events = client as unknown as {
      on?(event: 'error', fn: () => void): unknown;
      off?(event: 'error', fn: () => void): unknown;
    };
    const onError = (): void => {};
    events.on?.('error', onError);
    let broken: Error | undefined;
    const q = (text: string, values?: unknown[]): Promise<PgResult> =>
      withTimeout(client.query(text, values), this.timeoutMs, what);
    try {
      await q('BEGIN');
      const result = await fn(q);
      await q('COMMIT');
      this.healthy = true;
      return result;
    } catch (cause) {
      // Released as broken below: the connection is destroyed and PostgreSQL rolls back with it.
      broken = cause instanceof Error ? cause : new Error(String(cause));
      this.healthy = false;
      if (cause instanceof WardcastError) throw cause;
      throw unavailable(`${what} failed`, cause);
    } finally {
      // A connection whose query failed or timed out is not reused.
      client.release(broken);
      setImmediate(() => events.off?.('error', onError));
    }
  }
}
