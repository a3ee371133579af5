import { createHmac, timingSafeEqual } from 'node:crypto';
import { ErrorCode, type Priority, WardcastError } from '@wardcast/protocol';
import type { InboxEntry, InboxPage, InboxStore, Logger, StoredNotification } from '@wardcast/server';
import { checkPool, iso, isoOrUndefined, type PgPool, positive, quoteSchema } from './pg.js';

/**
 * Options of {@link PostgresInbox}.
 *
 * @example
 * ```ts
 * const inbox = new PostgresInbox({ pool, schema: 'wardcast', retentionDays: 90 });
 * ```
 *
 * @category Inbox
 */
export interface PostgresInboxOptions {
  /** A `pg` `Pool` (or anything with the same `query`/`connect`). The inbox never ends it. */
  readonly pool: PgPool;
  /** Schema that {@link migrate} created the tables in. @default 'wardcast' */
  readonly schema?: string;
  /**
   * Deletes notifications older than this many days (by `created_at`), read or not, on a timer
   * (see `retentionIntervalMs`). Without it nothing is deleted unless you call
   * {@link PostgresInbox.deleteOlderThan}.
   */
  readonly retentionDays?: number;
  /**
   * How often the retention pass runs; the first one runs `min(60 s, this)` after construction.
   * The timer is unref'd and cleared by `close()`.
   * @default 3_600_000 (1 h)
   */
  readonly retentionIntervalMs?: number;
  /** Largest page `list` returns, whatever `limit` asks. @default 1_000 */
  readonly maxPageSize?: number;
  /** A pino-compatible logger for retention failures. @default no logging */
  readonly logger?: Logger;
}

/**
 * Defaults of {@link PostgresInboxOptions}.
 *
 * @category Inbox
 */
export const DEFAULT_POSTGRES_INBOX = {
  retentionIntervalMs: 3_600_000,
  maxPageSize: 1_000,
} as const;

/** Rows deleted per statement by a retention pass, so that no statement holds locks for long. */
const DELETE_BATCH = 5_000;

interface Row {
  id: string;
  topic: string;
  epoch: string;
  seq: string | number;
  kind: string;
  priority: string;
  created_at: Date | string;
  payload: unknown;
  read_at: Date | string | null;
  acknowledged_at: Date | string | null;
}

const COLUMNS = 'id, topic, epoch, seq, kind, priority, created_at, payload, read_at, acknowledged_at';

/** The keyset position of a row: `created_at` (ms), `seq`, `id`. */
interface Position {
  readonly at: number;
  readonly seq: number;
  readonly id: string;
}

/**
 * A cursor: `<at>.<seq>.<id>.<tag>`, `at` and `seq` in base 36, the id as base64url UTF-8, and a
 * 16-character base64url tag.
 */
const CURSOR = /^(-?[0-9a-z]{1,11})\.([0-9a-z]{1,11})\.([A-Za-z0-9_-]{1,600})\.([A-Za-z0-9_-]{16})$/;

/** Bounds of a `created_at` a cursor may carry: years 1 to 9999, inside both JS and PostgreSQL. */
const MIN_AT = -62_135_596_800_000; // 0001-01-01T00:00:00Z
const MAX_AT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * The tag of a cursor: an HMAC-SHA256 (truncated to 96 bits) of the user id, the inbox table and
 * the position. It is an integrity check, not a secret (instances share no key): it makes a
 * cursor from another user, another schema, an older version or a typo fail, and every field is
 * range-checked as well, so even a cursor crafted with this code reaches the database only as a
 * position in the caller's own inbox.
 */
function cursorTag(table: string, userId: string, body: string): string {
  return createHmac('sha256', 'wardcast/postgres inbox cursor v1')
    .update(`${table}\n${userId}\n${body}`)
    .digest('base64url')
    .slice(0, 16);
}

function encodeCursor(table: string, userId: string, p: Position): string {
  const body = `${p.at.toString(36)}.${p.seq.toString(36)}.${Buffer.from(p.id, 'utf8').toString('base64url')}`;
  return `${body}.${cursorTag(table, userId, body)}`;
}

function decodeCursor(table: string, userId: string, cursor: string): Position {
  const invalid = (): never => {
    // The cursor is not repeated: errors name the field, never what was sent.
    throw new WardcastError(ErrorCode.BadRequest, 'invalid cursor: pass back a next_cursor this inbox returned');
  };
  const match = typeof cursor === 'string' && cursor.length <= 700 ? CURSOR.exec(cursor) : null;
  if (!match) return invalid();
  const [, at36 = '', seq36 = '', id64 = '', tag = ''] = match;
  const expected = Buffer.from(cursorTag(table, userId, `${at36}.${seq36}.${id64}`));
  if (!timingSafeEqual(Buffer.from(tag), expected)) return invalid();
  const at = Number.parseInt(at36, 36);
  const seq = Number.parseInt(seq36, 36);
  const id = Buffer.from(id64, 'base64url').toString('utf8');
  const idOk =
    id !== '' && id.length <= 128 && !id.includes('\u0000') && Buffer.from(id, 'utf8').toString('base64url') === id64;
  if (!Number.isSafeInteger(at) || at < MIN_AT || at > MAX_AT || !Number.isSafeInteger(seq) || seq < 0 || !idOk) {
    return invalid();
  }
  return { at, seq, id };
}

function notificationOf(row: Row): StoredNotification {
  return {
    id: row.id,
    topic: row.topic,
    kind: row.kind,
    priority: row.priority as Priority,
    createdAt: iso(row.created_at),
    payload: row.payload,
    epoch: row.epoch,
    seq: Number(row.seq),
  };
}

function entryOf(row: Row): InboxEntry {
  return {
    notification: notificationOf(row),
    readAt: isoOrUndefined(row.read_at),
    acknowledgedAt: isoOrUndefined(row.acknowledged_at),
  };
}

/**
 * A durable {@link InboxStore} on PostgreSQL: every notification published to `user:<id>` is a
 * row of `<schema>.inbox`, with read and acknowledgement state shared by all of the user's
 * devices. Run {@link migrate} first.
 *
 * - `record` is `INSERT ... ON CONFLICT DO NOTHING` (idempotent per user and id) in autocommit,
 *   so it resolves only once the row is committed: `hub.publish` to a user topic returns after that.
 * - `list` pages newest first (`created_at`, then `seq`, then `id`) with an opaque keyset cursor,
 *   so a page is never shifted by notifications recorded in between.
 * - `unreadCount` is `COUNT(*) ... WHERE read_at IS NULL`, read in the same statement (and
 *   snapshot) as the page: there is no counter that could drift.
 * - `markRead`/`acknowledge` are `UPDATE ... WHERE read_at IS NULL` (resp. `acknowledged_at`):
 *   concurrent or repeated calls keep the first time; `acknowledge` also marks read.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { NotificationHub } from '@wardcast/server';
 * import { migrate, PostgresInbox } from '@wardcast/postgres';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate(pool);
 * const hub = new NotificationHub({ authenticate, inbox: new PostgresInbox({ pool, retentionDays: 90 }) });
 * ```
 *
 * @category Inbox
 */
export class PostgresInbox implements InboxStore {
  /** The limits in force, defaults filled in. */
  readonly options: {
    readonly schema: string;
    readonly retentionDays: number | undefined;
    readonly retentionIntervalMs: number;
    readonly maxPageSize: number;
  };
  readonly #pool: PgPool;
  readonly #t: string;
  readonly #logger: Logger | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #retention: Promise<unknown> | undefined;
  #closed = false;

  /** @throws {WardcastError} `invalid_option` for a bad pool, schema or number. */
  constructor(options: PostgresInboxOptions) {
    const owner = 'PostgresInbox';
    this.#pool = checkPool(options?.pool, owner);
    const schema = options.schema ?? 'wardcast';
    this.#t = `${quoteSchema(schema, owner)}.inbox`;
    const retentionDays =
      options.retentionDays === undefined ? undefined : positive('retentionDays', options.retentionDays, 1, owner);
    this.options = {
      schema,
      retentionDays,
      retentionIntervalMs: positive(
        'retentionIntervalMs',
        options.retentionIntervalMs,
        DEFAULT_POSTGRES_INBOX.retentionIntervalMs,
        owner,
      ),
      maxPageSize: Math.floor(positive('maxPageSize', options.maxPageSize, DEFAULT_POSTGRES_INBOX.maxPageSize, owner)),
    };
    this.#logger = options.logger;
    if (retentionDays !== undefined) {
      this.#schedule(Math.min(60_000, this.options.retentionIntervalMs), retentionDays);
    }
  }

  /**
   * Records a notification for `userId`, unread. Idempotent per notification id; resolves once
   * the row is committed.
   *
   * @example
   * ```ts
   * await inbox.record('u42', storedNotification);
   * ```
   */
  async record(userId: string, n: StoredNotification): Promise<void> {
    await this.#pool.query(
      `INSERT INTO ${this.#t} (user_id, id, topic, epoch, seq, kind, priority, created_at, payload)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)
       ON CONFLICT (user_id, id) DO NOTHING`,
      [userId, n.id, n.topic, n.epoch, n.seq, n.kind, n.priority, n.createdAt, JSON.stringify(n.payload ?? null)],
    );
  }

  /**
   * Deletes the row `record` wrote for a publish the hub then abandoned (nobody received it): only
   * the row with this notification's id, epoch and seq.
   *
   * @example
   * ```ts
   * await inbox.forget('u42', storedNotification);
   * ```
   */
  async forget(userId: string, n: StoredNotification): Promise<void> {
    await this.#pool.query(`DELETE FROM ${this.#t} WHERE user_id = $1 AND id = $2 AND epoch = $3 AND seq = $4`, [
      userId,
      n.id,
      n.epoch,
      n.seq,
    ]);
  }

  /**
   * One page of a user's notifications, newest first, with the user's unread count (from the
   * same snapshot). `limit` is clamped to 1..`maxPageSize`.
   *
   * @throws {WardcastError} `bad_request` for a cursor this store did not issue to this user (see
   * the cursor format in docs/postgres.md); its message does not repeat the cursor.
   *
   * @example
   * ```ts
   * const first = await inbox.list('u42', { limit: 20 });
   * const next = first.nextCursor && (await inbox.list('u42', { cursor: first.nextCursor, limit: 20 }));
   * ```
   */
  async list(userId: string, options: { readonly cursor?: string; readonly limit: number }): Promise<InboxPage> {
    const before = options.cursor === undefined ? undefined : decodeCursor(this.#t, userId, options.cursor);
    const limit = Math.max(1, Math.min(Math.floor(options.limit) || 1, this.options.maxPageSize));
    const values: unknown[] = [userId, limit + 1];
    let after = '';
    if (before) {
      values.push(new Date(before.at), before.seq, before.id);
      after = 'AND (created_at, seq, id) < ($3, $4, $5)';
    }
    const { rows } = await this.#pool.query<Row & { unread: number }>(
      `SELECT c.unread, p.* FROM
         (SELECT count(*)::int AS unread FROM ${this.#t} WHERE user_id = $1 AND read_at IS NULL) c
       LEFT JOIN LATERAL (
         SELECT ${COLUMNS} FROM ${this.#t} WHERE user_id = $1 ${after}
         ORDER BY created_at DESC, seq DESC, id DESC LIMIT $2
       ) p ON true`,
      values,
    );
    const unreadCount = Number(rows[0]?.unread ?? 0);
    const found = rows.filter((r) => r.id !== null && r.id !== undefined);
    const page = found.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor =
      found.length > limit && last
        ? encodeCursor(this.#t, userId, {
            at: new Date(iso(last.created_at)).getTime(),
            seq: Number(last.seq),
            id: last.id,
          })
        : undefined;
    return { items: page.map(entryOf), nextCursor, unreadCount };
  }

  /**
   * The user's newest unread notifications, at most `limit`, oldest first. The hub replays them
   * to a device that subscribes to its user topic with `unread: true` and no usable resume point.
   *
   * @example
   * ```ts
   * const pending = await inbox.unread('u42', 100);
   * ```
   */
  async unread(userId: string, limit: number): Promise<StoredNotification[]> {
    const n = Math.max(1, Math.min(Math.floor(limit) || 1, 10_000));
    const { rows } = await this.#pool.query<Row>(
      `SELECT ${COLUMNS} FROM ${this.#t} WHERE user_id = $1 AND read_at IS NULL
       ORDER BY created_at DESC, seq DESC, id DESC LIMIT $2`,
      [userId, n],
    );
    return rows.reverse().map(notificationOf);
  }

  /**
   * Unread notifications of a user (`COUNT(*)`, 0 for an unknown user).
   *
   * @example
   * ```ts
   * const badge = await inbox.unreadCount('u42');
   * ```
   */
  async unreadCount(userId: string): Promise<number> {
    const { rows } = await this.#pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${this.#t} WHERE user_id = $1 AND read_at IS NULL`,
      [userId],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Marks a notification read, once: a second call (from any device, at any time) keeps the
   * first `read_at`. `false` when the user has no such notification.
   *
   * @example
   * ```ts
   * await inbox.markRead('u42', 'lab:L1:final'); // true
   * ```
   */
  async markRead(userId: string, id: string): Promise<boolean> {
    return this.#update(userId, id, 'read_at = now()', 'read_at IS NULL');
  }

  /**
   * Records an acknowledgement (once) and marks the notification read (once). `false` when the
   * user has no such notification.
   *
   * @example
   * ```ts
   * await inbox.acknowledge('dr-lee', 'lab:L-778:final'); // true
   * ```
   */
  async acknowledge(userId: string, id: string): Promise<boolean> {
    return this.#update(
      userId,
      id,
      'acknowledged_at = COALESCE(acknowledged_at, now()), read_at = COALESCE(read_at, now())',
      '(acknowledged_at IS NULL OR read_at IS NULL)',
    );
  }

  /**
   * Deletes notifications created more than `days` days ago, read or not, in batches. Resolves
   * with how many rows were deleted. The retention timer (`retentionDays`) calls it.
   *
   * @throws {WardcastError} `invalid_option` when `days` is not a positive number.
   *
   * @example
   * ```ts
   * const deleted = await inbox.deleteOlderThan(90);
   * ```
   */
  async deleteOlderThan(days: number): Promise<number> {
    positive('days', days, 1, 'deleteOlderThan');
    let total = 0;
    for (;;) {
      const result = await this.#pool.query(
        `DELETE FROM ${this.#t} WHERE ctid = ANY(ARRAY(
           SELECT ctid FROM ${this.#t} WHERE created_at < now() - $1::float8 * interval '1 day' LIMIT $2))`,
        [days, DELETE_BATCH],
      );
      const n = result.rowCount ?? 0;
      total += n;
      if (n < DELETE_BATCH) return total;
    }
  }

  /**
   * Stops the retention timer and waits for a running retention pass. Does not end the pool
   * (it is yours); the hub calls it from `hub.close()`.
   *
   * @example
   * ```ts
   * await hub.close(); // closes the inbox
   * await pool.end();
   * ```
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#retention?.catch(() => {});
  }

  async #update(userId: string, id: string, set: string, unchanged: string): Promise<boolean> {
    // `target` reads the statement's snapshot, so it sees the row whether or not this UPDATE (or
    // a concurrent one it waited for) changed it.
    const { rows } = await this.#pool.query<{ found: boolean }>(
      `WITH target AS (SELECT 1 FROM ${this.#t} WHERE user_id = $1 AND id = $2),
            changed AS (UPDATE ${this.#t} SET ${set} WHERE user_id = $1 AND id = $2 AND ${unchanged} RETURNING 1)
       SELECT EXISTS (SELECT 1 FROM target) OR EXISTS (SELECT 1 FROM changed) AS found`,
      [userId, id],
    );
    return rows[0]?.found === true;
  }

  #schedule(delayMs: number, days: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const run = this.deleteOlderThan(days).then(
        (deleted) => {
          if (deleted > 0) this.#logger?.info({ deleted, days }, 'wardcast: inbox retention deleted notifications');
        },
        (err: unknown) => this.#logger?.warn({ err }, 'wardcast: inbox retention failed'),
      );
      this.#retention = run;
      void run.then(() => this.#schedule(this.options.retentionIntervalMs, days));
    }, delayMs);
    this.#timer.unref?.();
  }
}
