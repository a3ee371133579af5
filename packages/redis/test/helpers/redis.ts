import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createRedisBackplane, type RedisBackplane, type RedisBackplaneOptions } from '@wardcast/redis';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, it } from 'vitest';

/** The shared Redis the suites use (never flushed or restarted: every test has its own key prefix). */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function ping(url: string, timeoutMs = 1_500): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

const reachable = await ping(REDIS_URL);
const hasServerBinary = await new Promise<boolean>((resolve) => {
  const child = spawn('redis-server', ['--version'], { stdio: 'ignore' });
  child.on('error', () => resolve(false));
  child.on('exit', (code) => resolve(code === 0));
});

/**
 * `describe` for suites that need Redis at `REDIS_URL` (and, with `needsBinary`, the
 * `redis-server` binary for private servers). Without them the suite is skipped with a message,
 * except under CI (`process.env.CI`), where a missing Redis fails the run.
 */
export function describeRedis(name: string, fn: () => void, options: { needsBinary?: boolean } = {}): void {
  const missing = !reachable
    ? `Redis is not reachable at ${REDIS_URL} (set REDIS_URL)`
    : options.needsBinary && !hasServerBinary
      ? 'the redis-server binary is not installed'
      : undefined;
  if (missing === undefined) {
    describe(name, fn);
    return;
  }
  if (process.env.CI) {
    describe(name, () => {
      it('has Redis to test against', () => {
        throw new Error(`${missing}: required under CI`);
      });
    });
    return;
  }
  console.warn(`[@wardcast/redis] skipping "${name}": ${missing}`);
  describe.skip(name, fn);
}

let prefixCounter = 0;
/** A key prefix no other test uses. */
export function uniquePrefix(): string {
  prefixCounter += 1;
  return `wardcast-test:${process.pid}:${Date.now().toString(36)}:${prefixCounter}:`;
}

/** Deletes every key under `prefix` (only those). */
export async function deletePrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server of our own (no persistence), for tests that stop or restart Redis. */
export class PrivateRedis {
  readonly port: number;
  readonly url: string;
  #child: ChildProcess | undefined;

  private constructor(port: number) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
  }

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.restart();
    return redis;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Starts (again) on the same port, with empty memory; resolves once it answers PING. */
  async restart(): Promise<void> {
    if (this.#child) return;
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
      { stdio: 'ignore' },
    );
    this.#child = child;
    child.once('exit', () => {
      if (this.#child === child) this.#child = undefined;
    });
    const deadline = Date.now() + 5_000;
    while (!(await ping(this.url, 300))) {
      if (Date.now() > deadline) throw new Error(`private redis-server on ${this.port} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Freezes it (SIGSTOP): connections stay open but nothing is answered, as in a network
   * partition or a Redis stuck on a slow operation. `kill()` works on a frozen server too.
   */
  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  /** Lets a frozen server go on (SIGCONT). */
  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  /** Kills it at once (SIGKILL): everything in memory is lost, clients see the connection drop. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    this.#child = undefined;
  }
}

/**
 * Backplanes on unique prefixes of the shared Redis (or a given URL), closed and their keys
 * deleted after each test.
 */
export function useBackplanes(): {
  make(options?: Partial<RedisBackplaneOptions> & { keyPrefix?: string }): RedisBackplane;
  prefix(): string;
} {
  const made: RedisBackplane[] = [];
  const prefixes = new Set<{ url: string; prefix: string }>();
  let current = uniquePrefix();
  afterEach(async () => {
    await Promise.all(made.splice(0).map((b) => b.close()));
    for (const p of [...prefixes]) {
      await deletePrefix(p.url, p.prefix).catch(() => {});
      prefixes.delete(p);
    }
    current = uniquePrefix();
  });
  return {
    make(options = {}) {
      const url = typeof options.redis === 'string' ? options.redis : REDIS_URL;
      const keyPrefix = options.keyPrefix ?? current;
      // A client passed in is assumed to point at the shared Redis.
      prefixes.add({ url, prefix: keyPrefix });
      const backplane = createRedisBackplane({ redis: url, ...options, keyPrefix });
      made.push(backplane);
      return backplane;
    },
    prefix: () => current,
  };
}

/** A command connection to `url` for poking at keys directly; closed after the test file. */
export function rawClient(url = REDIS_URL): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  afterAll(() => {
    client.disconnect();
  });
  return client;
}

/** Polls until `condition` holds. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
