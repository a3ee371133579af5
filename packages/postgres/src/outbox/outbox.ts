import { ErrorCode, WardcastError } from '@wardcast/protocol';
import type { PublishInput } from '@wardcast/server';
import { checkPool, positive, quoteSchema } from '../pg.js';
import {
  DEFAULT_POSTGRES_OUTBOX,
  type OutboxStats,
  type PgTransactionClient,
  type PostgresOutboxOptions,
} from './options.js';
import { OutboxRelay } from './relay.js';

/**
 * What {@link PostgresOutbox.publishIn} returns.
 *
 * @category Transactional outbox
 */
export interface EnqueuedNotification {
  /** The notification's id (yours, or one the hub generated): store it beside your row. */
  readonly id: string;
  /** Its place in the outbox (relay order). */
  readonly position: string;
}

/**
 * Publish in the same transaction as your clinical write: the transactional outbox pattern.
 * {@link PostgresOutbox.publishIn} validates the notification exactly as `hub.publish` would and
 * inserts it into `<schema>.outbox` on *your* connection, inside *your* transaction. If you roll
 * back, it never existed; once you commit, a relay publishes it through the hub (inbox row,
 * escalation, fan-out on any backplane) and deletes the row. One process per schema relays at a
 * time (a PostgreSQL advisory lock); if it dies, another takes over within `pollIntervalMs`, and a
 * row it published but had not yet deleted is published again under the same id, which the hub
 * answers as a duplicate: delivered exactly once.
 *
 * Rows are relayed one at a time in outbox order, so notifications enqueued by one transaction
 * keep their order, and every notification still gets its topic's next seq (clients see one
 * ordered stream with your other publishes).
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { migrate, PostgresOutbox } from '@wardcast/postgres';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate(pool);
 * const outbox = new PostgresOutbox({ pool, hub });
 *
 * const client = await pool.connect();
 * try {
 *   await client.query('BEGIN');
 *   await client.query('INSERT INTO lab_results (id, patient_id, potassium) VALUES ($1, $2, $3)', ['lr-1', 'p9', 6.4]);
 *   await outbox.publishIn(client, 'user:dr-lee', {
 *     id: 'lr-1',
 *     kind: 'lab_result',
 *     payload: {
 *       labOrderId: 'lr-1', testName: 'Potassium', status: 'final', abnormal: true, critical: true,
 *       resultAt: new Date().toISOString(), value: '6.4', unit: 'mmol/L',
 *     },
 *   });
 *   await client.query('COMMIT'); // the notification exists from here on, and only now
 * } catch (err) {
 *   await client.query('ROLLBACK'); // and then it never did
 *   throw err;
 * } finally {
 *   client.release();
 * }
 * ```
 *
 * @category Transactional outbox
 */
export class PostgresOutbox {
  readonly #o: PostgresOutboxOptions;
  readonly #table: string;
  readonly #channel: string;
  readonly #relay: OutboxRelay | undefined;

  /** @throws {WardcastError} `invalid_option` for a bad pool, hub, schema or number. */
  constructor(options: PostgresOutboxOptions) {
    const owner = 'PostgresOutbox';
    const pool = checkPool(options?.pool, owner);
    const hub = options.hub;
    if (!hub || typeof hub.publish !== 'function' || typeof hub.validatePublish !== 'function') {
      throw new WardcastError(ErrorCode.InvalidOption, `${owner}: hub must be a NotificationHub`);
    }
    const schema = options.schema ?? 'wardcast';
    const quoted = quoteSchema(schema, owner);
    this.#o = options;
    this.#table = `${quoted}.outbox`;
    this.#channel = `wardcast_outbox_${schema.toLowerCase()}`;
    if (options.relay === false) return;
    this.#relay = new OutboxRelay({
      pool,
      hub,
      table: this.#table,
      channel: this.#channel,
      lockKey: `wardcast.outbox:${schema}`,
      pollIntervalMs: positive('pollIntervalMs', options.pollIntervalMs, DEFAULT_POSTGRES_OUTBOX.pollIntervalMs, owner),
      batchSize: Math.floor(positive('batchSize', options.batchSize, DEFAULT_POSTGRES_OUTBOX.batchSize, owner)),
      retryDelayMs: positive('retryDelayMs', options.retryDelayMs, DEFAULT_POSTGRES_OUTBOX.retryDelayMs, owner),
      logger: options.logger,
      onDeadLetter: options.onDeadLetter,
    });
    this.#relay.start();
  }

  /**
   * Validates `input` as `hub.publish(topic, input)` would and enqueues it on `client`, which
   * should be inside your open transaction: it is published after, and only if, you commit.
   * Generates the id when you give none.
   *
   * @throws {WardcastError} the codes of `hub.publish`'s validation (`invalid_topic`,
   * `invalid_payload`, `unknown_kind`, `payload_too_large`, ...): nothing was enqueued; and your
   * driver's error when the INSERT fails (your transaction is then aborted, as with any statement).
   */
  async publishIn<K extends string>(
    client: PgTransactionClient,
    topic: string,
    input: PublishInput<K>,
  ): Promise<EnqueuedNotification> {
    const wide = input as PublishInput;
    const id = this.#o.hub.validatePublish(topic, wide);
    const { id: _ignored, ...rest } = wide;
    const inserted = await client.query<{ position: string }>(
      `INSERT INTO ${this.#table} (id, topic, input) VALUES ($1, $2, $3) RETURNING position::text AS position`,
      [id, topic, JSON.stringify(rest)],
    );
    // Delivered by PostgreSQL at commit, not before: wakes the relay.
    await client.query('SELECT pg_notify($1, $2)', [this.#channel, '']);
    return { id, position: String(inserted.rows[0]?.position) };
  }

  /** What this process's relay did so far. */
  stats(): OutboxStats {
    const r = this.#relay;
    return {
      leader: r?.leader ?? false,
      relayed: r?.relayed ?? 0,
      deadLettered: r?.deadLettered ?? 0,
      retries: r?.retries ?? 0,
    };
  }

  /** Stops the relay (another process takes over). Call before `hub.close()`. */
  async close(): Promise<void> {
    await this.#relay?.close();
  }
}
