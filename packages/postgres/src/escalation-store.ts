import type { Priority } from '@wardcast/protocol';
import type { EscalationRecord, EscalationStatus, EscalationStep, EscalationStore, Logger } from '@wardcast/server';
import { checkPool, iso, type PgPool, positive, quoteSchema } from './pg.js';

/**
 * Options of {@link PostgresEscalationStore}.
 *
 * @example
 * ```ts
 * const escalations = new PostgresEscalationStore({ pool, leaseMs: 30_000 });
 * ```
 *
 * @category Escalation
 */
export interface PostgresEscalationStoreOptions {
  /** A `pg` `Pool` (or anything with the same `query`/`connect`). The store never ends it. */
  readonly pool: PgPool;
  /** Schema that {@link migrate} created the tables in. @default 'wardcast' */
  readonly schema?: string;
  /**
   * How long a hub instance owns the pending escalations it started or claimed without
   * renewing. The store renews its leases every `leaseMs / 3`; when an instance dies, another one
   * takes its escalations over within about `leaseMs + resumeIntervalMs`.
   * @default 30_000
   */
  readonly leaseMs?: number;
  /**
   * How often the hub asks the store for pending escalations again (besides at start), to take
   * over the ones of an instance that died. See {@link EscalationStore.resumeIntervalMs}.
   * @default 10_000
   */
  readonly resumeIntervalMs?: number;
  /** This instance's lease owner id. @default a random UUID */
  readonly owner?: string;
  /** A pino-compatible logger for lease renewal failures. @default no logging */
  readonly logger?: Logger;
}

/**
 * Defaults of {@link PostgresEscalationStoreOptions}.
 *
 * @category Escalation
 */
export const DEFAULT_POSTGRES_ESCALATIONS = {
  leaseMs: 30_000,
  resumeIntervalMs: 10_000,
} as const;

interface Row {
  id: string;
  topic: string;
  kind: string;
  priority: string;
  payload: unknown;
  created_at: Date | string;
  chain: EscalationStep[];
  step: number;
  deadline: Date | string;
  status: string;
  acknowledged_by: string | null;
}

const COLUMNS = 'id, topic, kind, priority, payload, created_at, chain, step, deadline, status, acknowledged_by';

function recordOf(row: Row): EscalationRecord {
  return {
    id: row.id,
    topic: row.topic,
    kind: row.kind,
    priority: row.priority as Priority,
    payload: row.payload,
    createdAt: iso(row.created_at),
    chain: row.chain.map((s) => ({ userId: s.userId, deadlineMs: s.deadlineMs })),
    step: Number(row.step),
    deadline: new Date(iso(row.deadline)).getTime(),
    status: row.status as EscalationStatus,
    ...(row.acknowledged_by === null ? {} : { acknowledgedBy: row.acknowledged_by }),
  };
}

/**
 * A durable {@link EscalationStore} on PostgreSQL (`<schema>.escalations`), so that the
 * acknowledgement deadline of a critical notification survives a hub restart: a hub started
 * later resumes every pending escalation by its absolute deadline, and escalates at once when
 * the deadline passed while no hub was running. Run {@link migrate} first.
 *
 * **Several running instances.** Each pending record carries a lease (`lease_owner`,
 * `lease_until`). The instance that starts an escalation owns it; `loadPending` claims only
 * records that are unowned or whose lease expired, with
 * `SELECT ... FOR UPDATE SKIP LOCKED`, so two instances starting at once never get the same
 * record. Leases are renewed every `leaseMs / 3` and released by `close()` (a hub's `close()`
 * calls it), so a restarted hub takes over at once, and the escalations of an instance that
 * died are taken over by another one within about `leaseMs + resumeIntervalMs`.
 *
 * **Acks and steps are compare-and-set.** {@link PostgresEscalationStore.acknowledge} ends a
 * pending record whichever instance received the ack, and
 * {@link PostgresEscalationStore.advance} moves a record only from the step the caller saw, so an
 * ack on any instance stops the escalation (the hub relays it to the tracking instance, which stops
 * within a second), a step never follows a recorded ack, and a step raced by a taking-over instance
 * is advanced once (its re-sent `<id>~<step>` is deduped by the history).
 *
 * @example
 * ```ts
 * import { NotificationHub } from '@wardcast/server';
 * import { migrate, PostgresEscalationStore, PostgresInbox } from '@wardcast/postgres';
 *
 * await migrate(pool);
 * const hub = new NotificationHub({
 *   authenticate,
 *   inbox: new PostgresInbox({ pool }),
 *   escalations: new PostgresEscalationStore({ pool }),
 * });
 * ```
 *
 * @category Escalation
 */
export class PostgresEscalationStore implements EscalationStore {
  /** This store's lease owner id. */
  readonly owner: string;
  /** The hub calls `loadPending` again at this interval (ms). */
  readonly resumeIntervalMs: number;
  readonly #pool: PgPool;
  readonly #t: string;
  readonly #leaseMs: number;
  readonly #logger: Logger | undefined;
  #renewal: ReturnType<typeof setInterval> | undefined;

  /** @throws {WardcastError} `invalid_option` for a bad pool, schema or number. */
  constructor(options: PostgresEscalationStoreOptions) {
    const owner = 'PostgresEscalationStore';
    this.#pool = checkPool(options?.pool, owner);
    this.#t = `${quoteSchema(options.schema, owner)}.escalations`;
    this.#leaseMs = Math.ceil(positive('leaseMs', options.leaseMs, DEFAULT_POSTGRES_ESCALATIONS.leaseMs, owner));
    this.resumeIntervalMs = positive(
      'resumeIntervalMs',
      options.resumeIntervalMs,
      DEFAULT_POSTGRES_ESCALATIONS.resumeIntervalMs,
      owner,
    );
    this.owner = options.owner ?? globalThis.crypto.randomUUID();
    this.#logger = options.logger;
  }

  /**
   * Creates or replaces a record. A pending record is leased to this store; a finished one
   * (acknowledged, unacknowledged) is released.
   */
  async save(record: EscalationRecord): Promise<void> {
    const pending = record.status === 'pending';
    if (pending) this.#startRenewal();
    await this.#pool.query(
      `INSERT INTO ${this.#t} AS e (${COLUMNS}, lease_owner, lease_until, updated_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::jsonb, $8, $9, $10, $11, $12,
               CASE WHEN $12::text IS NULL THEN NULL ELSE now() + $13::float8 * interval '1 millisecond' END, now())
       ON CONFLICT (id) DO UPDATE SET
         topic = EXCLUDED.topic, kind = EXCLUDED.kind, priority = EXCLUDED.priority, payload = EXCLUDED.payload,
         created_at = EXCLUDED.created_at, chain = EXCLUDED.chain, step = EXCLUDED.step,
         deadline = EXCLUDED.deadline, status = EXCLUDED.status, acknowledged_by = EXCLUDED.acknowledged_by,
         lease_owner = EXCLUDED.lease_owner, lease_until = EXCLUDED.lease_until, updated_at = now()`,
      [
        record.id,
        record.topic,
        record.kind,
        record.priority,
        JSON.stringify(record.payload ?? null),
        record.createdAt,
        JSON.stringify(record.chain.map((s) => ({ userId: s.userId, deadlineMs: s.deadlineMs }))),
        record.step,
        new Date(record.deadline),
        record.status,
        record.acknowledgedBy ?? null,
        pending ? this.owner : null,
        this.#leaseMs,
      ],
    );
  }

  /** The record with this id, if any (whoever holds its lease). */
  async load(id: string): Promise<EscalationRecord | undefined> {
    const { rows } = await this.#pool.query<Row>(`SELECT ${COLUMNS} FROM ${this.#t} WHERE id = $1`, [id]);
    return rows[0] ? recordOf(rows[0]) : undefined;
  }

  /**
   * Claims and returns the pending records that no live instance holds: unowned ones (released
   * by a `close()`, or never leased) and those whose lease expired (`FOR UPDATE SKIP LOCKED`, so
   * concurrent callers split them). Records this store already holds are not returned again:
   * its hub tracks them. Oldest deadline first.
   */
  async loadPending(): Promise<EscalationRecord[]> {
    this.#startRenewal();
    const { rows } = await this.#pool.query<Row>(
      `UPDATE ${this.#t} SET lease_owner = $1, lease_until = now() + $2::float8 * interval '1 millisecond'
       WHERE id = ANY(ARRAY(
         SELECT id FROM ${this.#t}
         WHERE status = 'pending' AND (lease_owner IS NULL OR lease_until < now())
         ORDER BY deadline
         FOR UPDATE SKIP LOCKED))
       RETURNING ${COLUMNS}`,
      [this.owner, this.#leaseMs],
    );
    return rows.map(recordOf).sort((a, b) => a.deadline - b.deadline);
  }

  /**
   * Ends a pending record as acknowledged by `userId`, whoever holds its lease (an ack may reach
   * any instance): one `UPDATE ... WHERE status = 'pending'`, so of concurrent calls (and a
   * concurrent {@link PostgresEscalationStore.advance}) exactly one succeeds. Releases the lease.
   * Resolves with whether this call ended it.
   *
   * @example
   * ```ts
   * if (await escalations.acknowledge('lab:L-778:final', 'dr-lee')) console.log('ended by this call');
   * ```
   */
  async acknowledge(id: string, userId: string): Promise<boolean> {
    const result = await this.#pool.query(
      `UPDATE ${this.#t} SET status = 'acknowledged', acknowledged_by = $2,
         lease_owner = NULL, lease_until = NULL, updated_at = now()
       WHERE id = $1 AND status = 'pending'
       RETURNING id`,
      [id, userId],
    );
    return (result.rowCount ?? result.rows.length) > 0;
  }

  /**
   * Moves a record from step `fromStep` to `next` (its `step`, `deadline`, `status` and
   * `acknowledgedBy`) only if it is still pending at `fromStep`: one
   * `UPDATE ... WHERE id = $1 AND status = 'pending' AND step = $fromStep`, so when two instances
   * race the same step (a takeover) exactly one advances it, and a record acknowledged elsewhere is
   * never advanced. A pending `next` is leased to this store (taken over from a dead owner, or
   * renewed); a finished one is released. Resolves with whether it moved.
   *
   * @example
   * ```ts
   * const moved = await escalations.advance({ ...record, step: 1, deadline: Date.now() + 300_000 }, 0);
   * ```
   */
  async advance(next: EscalationRecord, fromStep: number): Promise<boolean> {
    const pending = next.status === 'pending';
    if (pending) this.#startRenewal();
    const result = await this.#pool.query(
      `UPDATE ${this.#t} SET step = $2, deadline = $3, status = $4, acknowledged_by = $5,
         lease_owner = $6,
         lease_until = CASE WHEN $6::text IS NULL THEN NULL ELSE now() + $7::float8 * interval '1 millisecond' END,
         updated_at = now()
       WHERE id = $1 AND status = 'pending' AND step = $8
       RETURNING id`,
      [
        next.id,
        next.step,
        new Date(next.deadline),
        next.status,
        next.acknowledgedBy ?? null,
        pending ? this.owner : null,
        this.#leaseMs,
        fromStep,
      ],
    );
    return (result.rowCount ?? result.rows.length) > 0;
  }

  /** Removes a record. */
  async delete(id: string): Promise<void> {
    await this.#pool.query(`DELETE FROM ${this.#t} WHERE id = $1`, [id]);
  }

  /**
   * Deletes finished (acknowledged or unacknowledged) records last updated more than `days`
   * days ago. Resolves with how many were deleted. Pending records are never deleted.
   *
   * @example
   * ```ts
   * await escalations.deleteFinishedOlderThan(30);
   * ```
   */
  async deleteFinishedOlderThan(days: number): Promise<number> {
    positive('days', days, 1, 'deleteFinishedOlderThan');
    const result = await this.#pool.query(
      `DELETE FROM ${this.#t} WHERE status <> 'pending' AND updated_at < now() - $1::float8 * interval '1 day'`,
      [days],
    );
    return result.rowCount ?? 0;
  }

  /**
   * Stops renewing leases and releases this store's pending records, so that the next hub to
   * start (or another running one, at its next resume) takes them over at once. Does not end the
   * pool. The store can be used again afterwards. The hub calls it from `hub.close()`.
   */
  async close(): Promise<void> {
    if (this.#renewal !== undefined) clearInterval(this.#renewal);
    this.#renewal = undefined;
    await this.#pool.query(
      `UPDATE ${this.#t} SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1 AND status = 'pending'`,
      [this.owner],
    );
  }

  #startRenewal(): void {
    if (this.#renewal !== undefined) return;
    this.#renewal = setInterval(
      () => {
        this.#pool
          .query(
            `UPDATE ${this.#t} SET lease_until = now() + $2::float8 * interval '1 millisecond'
             WHERE lease_owner = $1 AND status = 'pending'`,
            [this.owner, this.#leaseMs],
          )
          .catch((err: unknown) => this.#logger?.warn({ err }, 'wardcast: escalation lease renewal failed'));
      },
      Math.max(10, Math.floor(this.#leaseMs / 3)),
    );
    this.#renewal.unref?.();
  }
}
