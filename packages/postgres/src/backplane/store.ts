import { randomBytes } from 'node:crypto';
import { type StreamPosition, WardcastError } from '@wardcast/protocol';
import type { AppendResult, Logger, NotificationDraft, StoredNotification } from '@wardcast/server';
import type { StreamRead } from '@wardcast/server/backplane';
import type { PgClient, PgResult } from '../pg.js';
import { type Db, unavailable, withTimeout } from './db.js';
import type { ResolvedBackplaneOptions } from './options.js';

/** A fresh epoch: time plus randomness, so a topic that lost its history never gets an epoch it had before. */
export function newEpoch(): string {
  return `${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;
}

/** The JSON a notification is stored as: the draft, without epoch and seq. */
export function encodeDraft(draft: NotificationDraft): string {
  const { id, topic, kind, priority, createdAt, payload } = draft;
  return JSON.stringify({ id, topic, kind, priority, createdAt, payload });
}

/** A stored body back into a notification. */
export function decodeBody(body: string, epoch: string, seq: number): StoredNotification {
  return { ...(JSON.parse(body) as NotificationDraft), epoch, seq };
}

/** Largest NOTIFY payload sent whole (PostgreSQL's limit is 8,000 bytes); larger ones are fetched by position. */
export const MAX_INLINE_BYTES = 7_900;

/** The NOTIFY payload of a notification: `epoch \n seq \n body`, or `epoch \n seq \n` when too large. */
export function encodeMessage(n: StoredNotification, body: string): string {
  const whole = `${n.epoch}\n${n.seq}\n${body}`;
  return Buffer.byteLength(whole, 'utf8') <= MAX_INLINE_BYTES ? whole : `${n.epoch}\n${n.seq}\n`;
}

/** A NOTIFY payload: the position, and the notification unless it was too large to carry. */
export function decodeMessage(
  raw: string,
): { epoch: string; seq: number; notification: StoredNotification | undefined } | undefined {
  const a = raw.indexOf('\n');
  const b = a < 0 ? -1 : raw.indexOf('\n', a + 1);
  if (b < 0) return undefined;
  const epoch = raw.slice(0, a);
  const seq = Number(raw.slice(a + 1, b));
  if (!Number.isSafeInteger(seq) || seq < 1 || epoch === '') return undefined;
  const body = raw.slice(b + 1);
  if (body === '') return { epoch, seq, notification: undefined };
  try {
    return { epoch, seq, notification: decodeBody(body, epoch, seq) };
  } catch {
    return undefined;
  }
}

/** An open publish transaction between `append` and `commit`/`abort`. */
interface Reservation {
  readonly client: PgClient;
  readonly body: string;
  /** Committed, aborted or expired: the transaction is over. */
  done: boolean;
  readonly timer: ReturnType<typeof setTimeout>;
  /** Gives the connection back (`broken` destroys it) and frees the local locks. */
  end(broken?: Error): void;
}

/** The event side of a `pg` client, when it has one. */
function listeners(
  client: PgClient,
): { on?(event: 'error', fn: () => void): unknown; off?(event: 'error', fn: () => void): unknown } | undefined {
  return client as unknown as { on?(event: 'error', fn: () => void): unknown };
}

/** FIFO semaphore. */
class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  constructor(size: number) {
    this.#free = size;
  }
  async acquire(): Promise<() => void> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
  }
}

/**
 * The topic streams in PostgreSQL and the two-phase publish.
 *
 * A reservation is an open transaction: `append` increments the topic's counter row
 * (`UPDATE ... RETURNING` under its row lock) and inserts the stream row; `commit` trims, queues the
 * NOTIFY and commits; `abort` rolls back (the counter goes back: no hole). While the transaction
 * is open, the row lock makes every other publish to the topic (on any instance) wait, so seqs
 * become visible strictly in order and none is reused or skipped.
 */
export class StreamStore {
  readonly #db: Db;
  readonly #o: ResolvedBackplaneOptions;
  readonly #logger: Logger;
  readonly #reservations = new WeakMap<StoredNotification, Reservation>();
  /** This instance's publishes per topic go one at a time (so they wait here, not on a connection). */
  readonly #topicTails = new Map<string, Promise<void>>();
  readonly #slots: Semaphore;
  readonly #open = new Set<Reservation>();

  constructor(db: Db, options: ResolvedBackplaneOptions, logger: Logger) {
    this.#db = db;
    this.#o = options;
    this.#logger = logger;
    this.#slots = new Semaphore(options.maxReservations);
  }

  /** Waits for this instance's earlier publish to `topic`; resolves the function that lets the next one go. */
  async #topicTurn(topic: string): Promise<() => void> {
    const before = this.#topicTails.get(topic) ?? Promise.resolve();
    let release = (): void => {};
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = before.then(() => mine);
    this.#topicTails.set(topic, tail);
    await before;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
      if (this.#topicTails.get(topic) === tail) this.#topicTails.delete(topic);
    };
  }

  /**
   * Opens the reservation: the next seq of the draft's topic (created with a new epoch if it has no
   * row), or the stored notification when the id is already in the topic (`duplicate`).
   * @throws {WardcastError} `store_unavailable`
   */
  async append(draft: NotificationDraft): Promise<AppendResult> {
    const o = this.#o;
    const topicDone = await this.#topicTurn(draft.topic);
    let slotDone: (() => void) | undefined;
    let client: PgClient | undefined;
    // A session that dies while we hold it idle in the transaction (its instance... or
    // pg_terminate_backend) makes `pg` emit `error` on the client: without a listener that is an
    // uncaught exception. The next query on it rejects, which is how the publish learns of it.
    const onError = (): void => {};
    const free = (broken?: Error): void => {
      if (client) {
        const c = client;
        // After the release: the pool's own handling of a destroyed client may still emit.
        setImmediate(() => listeners(c)?.off?.('error', onError));
      }
      client?.release(broken);
      client = undefined;
      slotDone?.();
      topicDone();
    };
    // Waiting for the topic's row lock: another reservation holds it at most reservationTtlMs, or
    // until PostgreSQL ends the session of a frozen holder (idle_in_transaction_session_timeout).
    const idleMs = o.reservationTtlMs + o.commandTimeoutMs;
    const lockMs = idleMs + o.commandTimeoutMs;
    const waitMs = lockMs + o.commandTimeoutMs;
    try {
      // Local reservations end within reservationTtlMs (commit, abort or expiry), so this wait is bounded.
      slotDone = await this.#slots.acquire();
      client = await this.#db.connect('append');
      const c = client;
      listeners(c)?.on?.('error', onError);
      const q = (text: string, values?: unknown[], ms = o.commandTimeoutMs): Promise<PgResult> =>
        withTimeout(c.query(text, values), ms, 'append');
      await q(
        `BEGIN; SET LOCAL idle_in_transaction_session_timeout = ${idleMs}; SET LOCAL statement_timeout = ${lockMs}`,
      );
      // Takes the topic's row lock until the transaction ends: the next publish waits here.
      const counter = await q(
        `INSERT INTO ${o.s}.backplane_topics AS t (topic, epoch, seq) VALUES ($1, $2, 1)
         ON CONFLICT (topic) DO UPDATE SET seq = t.seq + 1, updated_at = now()
         RETURNING epoch, seq`,
        [draft.topic, newEpoch()],
        waitMs,
      );
      const row = counter.rows[0] as { epoch: string; seq: string | number };
      const epoch = row.epoch;
      const seq = Number(row.seq);
      const body = encodeDraft(draft);
      // A new statement, so a new snapshot: it sees every publish committed before we got the lock.
      const dup = await q(
        `WITH dup AS (SELECT seq, body FROM ${o.s}.backplane_stream WHERE topic = $1 AND id = $2),
         ins AS (
           INSERT INTO ${o.s}.backplane_stream (topic, seq, epoch, id, body)
           SELECT $1, $3, $4, $2, $5 WHERE NOT EXISTS (SELECT 1 FROM dup)
         )
         SELECT seq, body FROM dup`,
        [draft.topic, draft.id, seq, epoch, body],
      );
      const found = dup.rows[0] as { seq: string | number; body: string } | undefined;
      if (found) {
        await q('ROLLBACK');
        free();
        this.#db.healthy = true;
        return { notification: decodeBody(found.body, epoch, Number(found.seq)), duplicate: true };
      }
      const notification: StoredNotification = { ...draft, epoch, seq };
      const reservation: Reservation = {
        client: c,
        body,
        done: false,
        timer: setTimeout(() => void this.#expire(reservation), o.reservationTtlMs),
        end: (broken) => {
          this.#open.delete(reservation);
          free(broken);
        },
      };
      reservation.timer.unref?.();
      this.#open.add(reservation);
      this.#reservations.set(notification, reservation);
      this.#db.healthy = true;
      return { notification, duplicate: false };
    } catch (cause) {
      // The connection is destroyed (not reused): PostgreSQL rolls the transaction back with it.
      free(cause instanceof Error ? cause : new Error(String(cause)));
      this.#db.healthy = false;
      if (cause instanceof WardcastError) throw cause;
      throw unavailable('append failed', cause);
    }
  }

  /** A reservation nobody settled in time: rolled back (its seq is reused), the commit will reject. */
  async #expire(r: Reservation): Promise<void> {
    if (r.done) return;
    r.done = true;
    this.#logger.warn({}, 'wardcast/postgres: a publish held its reservation past reservationTtlMs; rolled back');
    try {
      await withTimeout(r.client.query('ROLLBACK'), this.#o.commandTimeoutMs, 'rollback');
      r.end();
    } catch (cause) {
      r.end(cause instanceof Error ? cause : new Error(String(cause)));
    }
  }

  /**
   * Trims the topic, queues the NOTIFY and commits: the notification becomes visible to reads and
   * is delivered to every listening instance, after every earlier seq (which held the row lock).
   * @throws {WardcastError} `store_unavailable` (`reservation lost` when it expired: delivered to no one)
   */
  async commit(n: StoredNotification, channel: string): Promise<void> {
    const r = this.#reservations.get(n);
    if (!r || r.done) throw unavailable('commit: the reservation was lost (expired, or not appended here)');
    r.done = true;
    clearTimeout(r.timer);
    const o = this.#o;
    const q = (text: string, values?: unknown[]): Promise<unknown> =>
      withTimeout(r.client.query(text, values), o.commandTimeoutMs, 'commit');
    try {
      await q(
        `WITH by_count AS (
           DELETE FROM ${o.s}.backplane_stream WHERE topic = $1 AND seq <= $2::bigint - $3::bigint
         ), by_age AS (
           DELETE FROM ${o.s}.backplane_stream
           WHERE topic = $1 AND seq < $2::bigint AND stored_at < clock_timestamp() - $4::bigint * interval '1 millisecond'
         )
         SELECT pg_notify($5, $6)`,
        [n.topic, n.seq, o.maxLen, o.maxAgeMs, channel, encodeMessage(n, r.body)],
      );
      await q('COMMIT');
      r.end();
      this.#db.healthy = true;
    } catch (cause) {
      r.end(cause instanceof Error ? cause : new Error(String(cause)));
      this.#db.healthy = false;
      throw unavailable('commit failed', cause);
    }
  }

  /**
   * Rolls an open reservation back (`true`). Without one (it expired, or the commit failed), asks
   * the table whether the commit went through after all (`false`).
   * @throws {WardcastError} `store_unavailable` when that cannot be known
   */
  async abort(n: StoredNotification): Promise<boolean> {
    const r = this.#reservations.get(n);
    if (r && !r.done) {
      r.done = true;
      clearTimeout(r.timer);
      try {
        await withTimeout(r.client.query('ROLLBACK'), this.#o.commandTimeoutMs, 'abort');
        r.end();
      } catch (cause) {
        // The connection is gone: PostgreSQL rolls the transaction back with it.
        r.end(cause instanceof Error ? cause : new Error(String(cause)));
      }
      return true;
    }
    const found = await this.#db.query(
      'abort',
      `SELECT 1 FROM ${this.#o.s}.backplane_stream WHERE topic = $1 AND seq = $2 AND epoch = $3 AND id = $4`,
      [n.topic, n.seq, n.epoch, n.id],
    );
    return (found.rowCount ?? found.rows.length) === 0;
  }

  /**
   * The topic's committed end and the entries after `since` (in its epoch; with `follow`, all of the
   * current epoch's when `since` is of another one), in one snapshot. Creates the topic's row (and
   * epoch) when it has none, so a position handed out is never replaced at the first publish.
   * @throws {WardcastError} `store_unavailable`
   */
  async read(topic: string, since: StreamPosition | undefined, mode: 'read' | 'follow'): Promise<StreamRead> {
    const o = this.#o;
    const text = `WITH t AS (SELECT epoch, seq FROM ${o.s}.backplane_topics WHERE topic = $1)
      SELECT t.epoch, t.seq AS end_seq, s.seq, s.body
      FROM t LEFT JOIN ${o.s}.backplane_stream s ON s.topic = $1 AND s.epoch = t.epoch AND s.seq <= t.seq
        AND s.seq > (CASE WHEN t.epoch = $2 THEN $3::bigint WHEN $4 THEN 0 ELSE t.seq END)
      ORDER BY s.seq`;
    const values = [topic, since?.epoch ?? '', since?.seq ?? 0, mode === 'follow' && since !== undefined];
    for (let attempt = 0; ; attempt++) {
      const result = await this.#db.query<{ epoch: string; end_seq: string; seq: string | null; body: string | null }>(
        'read',
        text,
        values,
      );
      const first = result.rows[0];
      if (first) {
        const epoch = first.epoch;
        const entries: StoredNotification[] = [];
        for (const row of result.rows) {
          if (row.seq !== null && row.body !== null) entries.push(decodeBody(row.body, epoch, Number(row.seq)));
        }
        return { position: { epoch, seq: Number(first.end_seq) }, entries };
      }
      if (attempt > 0) throw unavailable(`read: topic ${topic} has no row after creating it`);
      await this.#db.query(
        'read',
        `INSERT INTO ${o.s}.backplane_topics (topic, epoch, seq) VALUES ($1, $2, 0) ON CONFLICT (topic) DO NOTHING`,
        [topic, newEpoch()],
      );
    }
  }

  /**
   * Deletes the history of topics without a publish for `maxAgeMs` (active topics are trimmed at
   * each publish), and the rows of topics idle for `topicTtlMs` (their epoch changes at next use).
   * Resolves the number of stream rows deleted.
   */
  async sweep(batch = 5_000): Promise<number> {
    const o = this.#o;
    let total = 0;
    for (;;) {
      const r = await this.#db.query(
        'sweep',
        `DELETE FROM ${o.s}.backplane_stream WHERE ctid IN (
           SELECT s.ctid FROM ${o.s}.backplane_stream s JOIN ${o.s}.backplane_topics t ON t.topic = s.topic
           WHERE t.updated_at < now() - $1::bigint * interval '1 millisecond' LIMIT $2)`,
        [o.maxAgeMs, batch],
      );
      const n = r.rowCount ?? 0;
      total += n;
      if (n < batch) break;
    }
    await this.#db.query(
      'sweep',
      `DELETE FROM ${o.s}.backplane_topics t WHERE t.updated_at < now() - $1::bigint * interval '1 millisecond'
       AND NOT EXISTS (SELECT 1 FROM ${o.s}.backplane_stream s WHERE s.topic = t.topic)`,
      [o.topicTtlMs],
    );
    return total;
  }

  /** Rolls back every open reservation (at close). */
  async close(): Promise<void> {
    await Promise.all(
      [...this.#open].map(async (r) => {
        if (r.done) return;
        r.done = true;
        clearTimeout(r.timer);
        await r.client.query('ROLLBACK').catch(() => {});
        r.end();
      }),
    );
  }
}
