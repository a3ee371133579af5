import { ErrorCode, WardcastError } from '@wardcast/protocol';

/**
 * The result of a query, as `pg` returns it.
 *
 * @category Connections
 */
export interface PgResult<R = Record<string, unknown>> {
  readonly rows: R[];
  readonly rowCount: number | null;
}

/**
 * What the stores need from a connection: `pg`'s `PoolClient` fits.
 *
 * @category Connections
 */
export interface PgClient {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<PgResult<R>>;
  release(error?: Error | boolean): void;
}

/**
 * What the stores need from a connection pool: a `pg` `Pool` fits. Declared here so that the
 * package's types do not depend on `@types/pg`.
 *
 * @category Connections
 */
export interface PgPool {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<PgResult<R>>;
  connect(): Promise<PgClient>;
}

/**
 * The schema the stores use when none is given.
 *
 * @category Connections
 */
export const DEFAULT_SCHEMA = 'wardcast';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Checks a schema name and returns it double-quoted for SQL. Only plain identifiers are
 * accepted (letters, digits, `_`, at most 63 characters), so nothing can be injected.
 */
export function quoteSchema(schema: string | undefined, owner: string): string {
  const name = schema ?? DEFAULT_SCHEMA;
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
    throw new WardcastError(
      ErrorCode.InvalidOption,
      `${owner}: schema must be a plain identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 characters)`,
    );
  }
  return `"${name}"`;
}

/** Checks that `pool` looks like a `pg` pool. */
export function checkPool(pool: unknown, owner: string): PgPool {
  const p = pool as Partial<PgPool> | undefined;
  if (!p || typeof p.query !== 'function' || typeof p.connect !== 'function') {
    throw new WardcastError(ErrorCode.InvalidOption, `${owner}: pool must be a pg Pool`);
  }
  return p as PgPool;
}

/** Checks an optional positive number option. */
export function positive(name: string, value: number | undefined, fallback: number, owner: string): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new WardcastError(ErrorCode.InvalidOption, `${owner}: ${name} must be a positive number`);
  }
  return v;
}

/** The ISO 8601 form of a `timestamptz` column (`pg` returns `Date`s). */
export function iso(value: unknown): string {
  return (value instanceof Date ? value : new Date(String(value))).toISOString();
}

/** `undefined` for SQL `NULL`, else the ISO 8601 form. */
export function isoOrUndefined(value: unknown): string | undefined {
  return value === null || value === undefined ? undefined : iso(value);
}
