import type { Logger } from '@wardcast/server';
import { Redis } from 'ioredis';
import { unavailable } from './errors.js';

/**
 * The backplane's two Redis connections: one for commands (the caller's client, or one made from
 * a URL) and a dedicated one for pub/sub. Commands fail fast while the command connection is down
 * and time out after `commandTimeoutMs`, so a publish never waits on an outage.
 */
export class Connections {
  readonly commands: Redis;
  readonly sub: Redis;
  readonly #owned: boolean;
  readonly #timeoutMs: number;
  readonly #logger: Logger;
  #wasReady = false;
  /**
   * A command got no answer within the timeout on a connection that looks open (a frozen Redis,
   * a network partition): unhealthy until a command succeeds or the connection is made again.
   */
  #stalled = false;

  constructor(redis: Redis | string, timeoutMs: number, logger: Logger) {
    this.#owned = typeof redis === 'string';
    this.#timeoutMs = timeoutMs;
    this.#logger = logger;
    // One retry per command: a command cut by a disconnect fails instead of waiting for the reconnect.
    this.commands = typeof redis === 'string' ? new Redis(redis, { maxRetriesPerRequest: 1 }) : redis;
    // We resubscribe ourselves after a reconnect, then look for what was missed meanwhile.
    this.sub = this.commands.duplicate({ autoResubscribe: false, maxRetriesPerRequest: null });
    // A client made with `lazyConnect` (and so its duplicate) waits for a first command: connect now.
    for (const client of [this.commands, this.sub]) if (client.status === 'wait') client.connect().catch(() => {});
    if (this.commands.status === 'ready') this.#wasReady = true;
    else
      this.commands.once('ready', () => {
        this.#wasReady = true;
      });
    this.commands.on('ready', () => {
      this.#stalled = false;
    });
    const report = (which: string) => (error: Error) =>
      this.#logger.warn({ err: error }, `wardcast/redis: ${which} connection error`);
    this.sub.on('error', report('pub/sub'));
    if (this.#owned) this.commands.on('error', report('command'));
  }

  /** Both connections are up, and the last command that timed out was followed by one that succeeded. */
  get healthy(): boolean {
    return !this.#stalled && this.commands.status === 'ready' && this.sub.status === 'ready';
  }

  /** Runs `fn` on the command connection; rejects with `store_unavailable` when down, failing or slow. */
  async call<T>(what: string, fn: (redis: Redis) => Promise<T>): Promise<T> {
    // The very first connection may still be on its way; after that, an outage fails at once.
    if (!this.#wasReady && this.commands.status !== 'ready') await this.ready(this.#timeoutMs);
    if (this.commands.status !== 'ready')
      throw unavailable(`${what}: redis is not connected (${this.commands.status})`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#stalled = true;
        reject(unavailable(`${what}: no answer within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
    });
    try {
      const result = await Promise.race([fn(this.commands), timeout]);
      this.#stalled = false;
      return result;
    } catch (cause) {
      if (cause instanceof Error && cause.name === 'WardcastError') throw cause;
      throw unavailable(`${what} failed`, cause);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves once the command connection is ready, or after `timeoutMs` (`false`). */
  ready(timeoutMs: number): Promise<boolean> {
    if (this.commands.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.commands.off('ready', onReady);
        resolve(ok);
      };
      const onReady = (): void => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.commands.on('ready', onReady);
    });
  }

  /** Closes the pub/sub connection, and the command connection when it was made from a URL. */
  async close(): Promise<void> {
    await quit(this.sub);
    if (this.#owned) await quit(this.commands);
  }
}

async function quit(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    if (redis.status === 'ready') await redis.quit();
    else redis.disconnect();
  } catch {
    redis.disconnect();
  }
}
