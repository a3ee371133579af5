import type { Logger } from '@wardcast/server';
import type { PgPool } from '../pg.js';
import { withTimeout } from './db.js';
import type { PgListenClient } from './options.js';

/** What the listener tells its owner. */
export interface ListenerEvents {
  /** A NOTIFY arrived on `channel`. */
  notification(channel: string, payload: string): void;
  /** (Re)connected and listening on `channels` (a snapshot of what was asked for when it connected). */
  up(channels: ReadonlySet<string>): void;
  /** The connection was lost: notifications may be missed until the next `up`. */
  down(): void;
}

const MIN_RETRY_MS = 100;
const MAX_RETRY_MS = 2_000;

/** `"name"`: channel names are made by the backplane (`[a-z0-9_]`), quoting keeps them exact. */
const quote = (channel: string): string => `"${channel.replace(/"/g, '""')}"`;

/**
 * The one session per instance that LISTENs: the control channel and one channel per watched
 * topic. Reconnects by itself (backoff 100 ms to 2 s) after the connection drops
 * (`pg_terminate_backend`, a restart, a network cut found by `ping`), then LISTENs again.
 */
export class Listener {
  readonly #source: () => Promise<PgListenClient>;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #events: ListenerEvents;
  /** What to LISTEN to (also while disconnected). */
  readonly #channels = new Set<string>();
  #client: PgListenClient | undefined;
  #live = false;
  #closed = false;
  #connecting = false;
  #retryMs = MIN_RETRY_MS;
  #retry: ReturnType<typeof setTimeout> | undefined;
  /** Queries on the session run one after another. */
  #tail: Promise<void> = Promise.resolve();
  /** Connections made so far (the first is 1). */
  generation = 0;

  constructor(source: () => Promise<PgListenClient>, timeoutMs: number, logger: Logger, events: ListenerEvents) {
    this.#source = source;
    this.#timeoutMs = timeoutMs;
    this.#logger = logger;
    this.#events = events;
  }

  /** Connected and listening. */
  get live(): boolean {
    return this.#live;
  }

  start(): void {
    void this.#connect();
  }

  /** Adds `channel`; LISTENs at once when connected (resolves after that), else at the next connect. */
  async listen(channel: string): Promise<void> {
    this.#channels.add(channel);
    const client = this.#client;
    if (!this.#live || !client) return;
    await this.#run(client, `LISTEN ${quote(channel)}`);
  }

  async unlisten(channel: string): Promise<void> {
    if (!this.#channels.delete(channel)) return;
    const client = this.#client;
    if (!this.#live || !client) return;
    await this.#run(client, `UNLISTEN ${quote(channel)}`).catch(() => {});
  }

  /** Checks the session answers; drops it (and reconnects) when it does not. */
  async ping(): Promise<boolean> {
    const client = this.#client;
    if (!this.#live || !client) return false;
    try {
      await this.#run(client, 'SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = undefined;
    this.#live = false;
    await this.#tail;
    if (client) await this.#dispose(client, undefined, true);
  }

  /** Runs `text` on the session after the queries already queued on it (one at a time). */
  #run(client: PgListenClient, text: string): Promise<void> {
    const run = this.#tail.then(async () => {
      if (this.#client !== client) throw new Error('listener connection lost');
      try {
        await withTimeout(client.query(text), this.#timeoutMs, 'listener');
      } catch (cause) {
        this.#lost(client, cause);
        throw cause;
      }
    });
    this.#tail = run.catch(() => {});
    return run;
  }

  async #connect(): Promise<void> {
    if (this.#closed || this.#connecting || this.#client) return;
    this.#connecting = true;
    let client: PgListenClient | undefined;
    try {
      const connecting = this.#source();
      client = await withTimeout(connecting, this.#timeoutMs, 'listener connect').catch((cause: unknown) => {
        // A session that arrives after the deadline is closed, not leaked.
        connecting.then(
          (late) => this.#dispose(late, undefined, false),
          () => {},
        );
        throw cause;
      });
      const c = client;
      if (this.#closed) {
        await this.#dispose(c, undefined, true);
        return;
      }
      c.on('error', (error) => this.#lost(c, error));
      c.on('end', () => this.#lost(c, new Error('listener connection ended')));
      c.on('notification', (m) => {
        if (this.#client === c && typeof m.payload === 'string') this.#events.notification(m.channel, m.payload);
      });
      this.#client = c;
      this.#tail = Promise.resolve();
      const channels = new Set(this.#channels);
      const statements = [...channels].map((ch) => `LISTEN ${quote(ch)};`).join(' ');
      if (statements) await this.#run(c, statements);
      if (this.#client !== c || this.#closed) return;
      this.#live = true;
      this.#retryMs = MIN_RETRY_MS;
      this.generation++;
      this.#logger.info({ channels: channels.size }, 'wardcast/postgres: listening');
      this.#events.up(channels);
    } catch (cause) {
      this.#logger.warn({ err: cause }, 'wardcast/postgres: listener connect failed; retrying');
      if (client) this.#lost(client, cause);
      else this.#schedule();
    } finally {
      this.#connecting = false;
    }
  }

  #lost(client: PgListenClient, cause: unknown): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    const wasLive = this.#live;
    this.#live = false;
    if (wasLive) this.#logger.warn({ err: cause }, 'wardcast/postgres: listener connection lost; will resync');
    this.#events.down();
    void this.#dispose(client, cause instanceof Error ? cause : new Error(String(cause)), false);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed) return;
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => void this.#connect(), this.#retryMs);
    this.#retry.unref?.();
    this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
  }

  async #dispose(client: PgListenClient, broken: Error | undefined, graceful: boolean): Promise<void> {
    client.removeAllListeners?.('notification');
    // A dead client may still emit errors: keep one handler.
    client.removeAllListeners?.('error');
    client.on('error', () => {});
    if (graceful && !broken) await withTimeout(client.query('UNLISTEN *'), this.#timeoutMs, 'unlisten').catch(() => {});
    if (client.release) client.release(broken ?? !graceful);
    else await client.end?.().catch(() => {});
  }
}

/** How the listening session is obtained, from the `listener` option. */
export function listenerSource(
  option: string | Record<string, unknown> | (() => Promise<PgListenClient>) | undefined,
  pool: PgPool,
): () => Promise<PgListenClient> {
  if (typeof option === 'function') return option;
  if (option === undefined) return async () => (await pool.connect()) as unknown as PgListenClient;
  const config = typeof option === 'string' ? { connectionString: option } : option;
  return async () => {
    const pg = (await import('pg')) as unknown as {
      default?: { Client: new (c: unknown) => PgListenClient & { connect(): Promise<void> } };
      Client?: new (c: unknown) => PgListenClient & { connect(): Promise<void> };
    };
    const Client = pg.default?.Client ?? pg.Client;
    if (!Client) throw new Error('pg has no Client');
    const client = new Client(config);
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (cause) {
      await client.end?.().catch(() => {});
      throw cause;
    }
    return client;
  };
}
