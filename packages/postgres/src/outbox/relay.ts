import { isWardcastError } from '@wardcast/protocol';
import { type Logger, silentLogger } from '@wardcast/server';
import type { PgListenClient } from '../backplane/options.js';
import type { PgPool } from '../pg.js';
import type { DeadLetter, OutboxHub } from './options.js';

/** Codes after which a row is kept and retried: the hub could not store it now. */
const RETRYABLE = new Set(['store_unavailable', 'hub_closed']);
const MAX_RETRY_MS = 5_000;

interface Row {
  readonly position: string;
  readonly id: string;
  readonly topic: string;
  readonly input: string;
}

/** What the relay needs to know. */
export interface RelaySettings {
  readonly pool: PgPool;
  readonly hub: OutboxHub;
  /** Quoted `schema.outbox`. */
  readonly table: string;
  readonly channel: string;
  /** Key of the session-level advisory lock that makes one process the relay. */
  readonly lockKey: string;
  readonly pollIntervalMs: number;
  readonly batchSize: number;
  readonly retryDelayMs: number;
  readonly logger: Logger | undefined;
  readonly onDeadLetter: ((letter: DeadLetter) => void) | undefined;
}

/**
 * Publishes committed outbox rows, oldest first, one at a time, then deletes each. One process per
 * schema relays (a session advisory lock, released by PostgreSQL the moment that session ends);
 * the others poll for the lock. A row published whose DELETE was lost (the relay died) is
 * published again by the next relay and the hub answers `duplicate`: each id is delivered once.
 */
export class OutboxRelay {
  readonly #s: RelaySettings;
  readonly #log: Logger;
  #client: PgListenClient | undefined;
  #closed = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  leader = false;
  relayed = 0;
  deadLettered = 0;
  retries = 0;

  constructor(settings: RelaySettings) {
    this.#s = settings;
    this.#log = settings.logger ?? silentLogger;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops relaying and releases the lock (the session goes back to the pool). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    let backoff = this.#s.retryDelayMs;
    while (!this.#closed) {
      try {
        if (!this.#client) await this.#lead();
        if (this.#client) {
          await this.#drain(this.#client);
          backoff = this.#s.retryDelayMs;
        }
        await this.#sleep(this.#s.pollIntervalMs);
      } catch (cause) {
        this.#log.warn({ err: cause }, 'wardcast: outbox relay failed; retrying');
        if (!isWardcastError(cause)) this.#drop(cause);
        await this.#sleep(backoff);
        backoff = Math.min(MAX_RETRY_MS, backoff * 2);
      }
    }
    this.#drop(undefined);
  }

  /** Takes the relay lock on a session of its own, or gives the session back. */
  async #lead(): Promise<void> {
    const client = (await this.#s.pool.connect()) as unknown as PgListenClient;
    client.on('error', (error) => this.#drop(error, client));
    const got = (await client.query('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [this.#s.lockKey])) as {
      rows: { ok: boolean }[];
    };
    if (!got.rows[0]?.ok) {
      client.release?.();
      return;
    }
    client.on('notification', () => this.#wake?.());
    await client.query(`LISTEN "${this.#s.channel}"`);
    this.#client = client;
    this.leader = true;
    this.#log.info({ channel: this.#s.channel }, 'wardcast: outbox relay leads');
  }

  async #drain(client: PgListenClient): Promise<void> {
    const { table, batchSize, hub } = this.#s;
    for (;;) {
      const batch = (await client.query(
        `SELECT position::text AS position, id, topic, input FROM ${table}
          WHERE failed_at IS NULL ORDER BY position LIMIT $1`,
        [batchSize],
      )) as { rows: Row[] };
      if (batch.rows.length === 0 || this.#closed) return;
      for (const row of batch.rows) {
        if (this.#closed) return;
        try {
          await hub.publish(row.topic, { ...JSON.parse(row.input), id: row.id });
        } catch (cause) {
          const code = isWardcastError(cause) ? cause.code : 'internal_error';
          const message = cause instanceof Error ? cause.message : String(cause);
          if (RETRYABLE.has(code)) {
            this.retries++;
            await client.query(`UPDATE ${table} SET attempts = attempts + 1, last_error = $2 WHERE position = $1`, [
              row.position,
              `${code}: ${message}`,
            ]);
            throw cause; // keep the order: nothing after this row goes out before it
          }
          await client.query(
            `UPDATE ${table} SET attempts = attempts + 1, last_error = $2, failed_at = now() WHERE position = $1`,
            [row.position, `${code}: ${message}`],
          );
          this.deadLettered++;
          this.#log.error({ id: row.id, topic: row.topic, code }, 'wardcast: outbox row refused by the hub; set aside');
          this.#s.onDeadLetter?.({ position: row.position, id: row.id, topic: row.topic, code, message });
          continue;
        }
        await client.query(`DELETE FROM ${table} WHERE position = $1`, [row.position]);
        this.relayed++;
      }
    }
  }

  /** Loses the lead: the session is destroyed, so PostgreSQL releases the lock. */
  #drop(error: unknown, which?: PgListenClient): void {
    const client = this.#client;
    if (!client || (which && which !== client)) return;
    this.#client = undefined;
    this.leader = false;
    client.removeAllListeners?.('notification');
    client.release?.(error instanceof Error ? error : true);
  }

  #sleep(ms: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }
}
