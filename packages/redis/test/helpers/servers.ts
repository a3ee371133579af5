import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, truncate } from 'node:fs/promises';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './redis.js';

/** How a {@link RedisServer} keeps its data on disk. */
export type Persistence =
  /** Nothing on disk: a restart starts empty. */
  | 'none'
  /** RDB snapshots only when the test asks (`SAVE`): a restart loads the last one. */
  | 'rdb'
  /** AOF with `appendfsync everysec` (multi-part AOF in `appendonlydir`). */
  | 'aof-everysec'
  /** AOF with `appendfsync always`. */
  | 'aof-always';

/** Options of {@link RedisServer.start}. */
export interface RedisServerOptions {
  readonly persistence?: Persistence;
  /** Start as a replica of `127.0.0.1:<port>` (`--replicaof`). */
  readonly replicaOf?: number;
  /** Name in failure messages. */
  readonly name?: string;
}

/** Sends one command on a short-lived connection (no retries, no offline queue). */
async function command(url: string, name: string, ...args: (string | number)[]): Promise<unknown> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.call(name, ...args);
  } finally {
    client.disconnect();
  }
}

/**
 * A private `redis-server` in its own temporary directory, for tests that crash, restore or fail
 * over Redis. It keeps its port and directory across {@link kill} and {@link start}, so a restart
 * loads whatever the persistence mode left on disk. Never the machine's shared Redis.
 */
export class RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  readonly persistence: Persistence;
  readonly name: string;
  #replicaOf: number | undefined;
  #child: ChildProcess | undefined;

  private constructor(port: number, dir: string, options: RedisServerOptions) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
    this.dir = dir;
    this.persistence = options.persistence ?? 'none';
    this.name = options.name ?? `redis-${port}`;
    this.#replicaOf = options.replicaOf;
  }

  /** Creates the directory, picks a free port and starts the server. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const dir = await mkdtemp(join(tmpdir(), 'wardcast-redis-'));
    const server = new RedisServer(await freePort(), dir, options);
    await server.start();
    return server;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  #args(): string[] {
    const aof = this.persistence === 'aof-everysec' || this.persistence === 'aof-always';
    return [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--logfile',
      join(this.dir, 'redis.log'),
      '--loglevel',
      'notice',
      // Snapshots only when a test calls SAVE, so what a restart loads is exactly known.
      '--save',
      '',
      '--dbfilename',
      'dump.rdb',
      '--appendonly',
      aof ? 'yes' : 'no',
      '--appendfsync',
      this.persistence === 'aof-always' ? 'always' : 'everysec',
      '--appenddirname',
      'appendonlydir',
      // Full syncs start at once instead of waiting 5 s for more replicas.
      '--repl-diskless-sync-delay',
      '0',
      ...(this.#replicaOf === undefined ? [] : ['--replicaof', '127.0.0.1', String(this.#replicaOf)]),
    ];
  }

  /** Starts (again) on the same port and directory; resolves once it answers PING (data loaded). */
  async start(): Promise<void> {
    if (this.#child) return;
    const child = spawn('redis-server', this.#args(), { stdio: 'ignore' });
    this.#child = child;
    child.once('exit', () => {
      if (this.#child === child) this.#child = undefined;
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      // PING answers LOADING while the dataset is being read.
      const pong = await command(this.url, 'PING').catch(() => undefined);
      if (pong === 'PONG') return;
      if (!this.#child) throw new Error(`${this.name} exited while starting (log: ${join(this.dir, 'redis.log')})`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not start on ${this.port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** `kill -9`: nothing is flushed, nothing more is written to disk. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    this.#child = undefined;
  }

  /** Runs a command on a fresh connection. */
  command(name: string, ...args: (string | number)[]): Promise<unknown> {
    return command(this.url, name, ...args);
  }

  /** `INFO <section>` as a map. */
  async info(section: string): Promise<Record<string, string>> {
    const text = String(await this.command('INFO', section));
    const fields: Record<string, string> = {};
    for (const line of text.split('\r\n')) {
      const at = line.indexOf(':');
      if (at > 0 && !line.startsWith('#')) fields[line.slice(0, at)] = line.slice(at + 1);
    }
    return fields;
  }

  /** Makes a replica a primary (`REPLICAOF NO ONE`), as Sentinel does on failover. */
  async promote(): Promise<void> {
    await this.command('REPLICAOF', 'NO', 'ONE');
    this.#replicaOf = undefined;
  }

  /** The multi-part AOF's current increment file (AOF modes only). */
  async aofIncrementFile(): Promise<string> {
    const dir = join(this.dir, 'appendonlydir');
    const incr = (await readdir(dir)).filter((f) => f.endsWith('.incr.aof')).sort();
    const last = incr.at(-1);
    if (!last) throw new Error(`${this.name}: no AOF increment file in ${dir}`);
    return join(dir, last);
  }

  /** Size in bytes of a file. */
  static async sizeOf(path: string): Promise<number> {
    return (await stat(path)).size;
  }

  /** Cuts a file back to `bytes` (what an OS crash leaves of an AOF whose tail was never fsynced). */
  static async truncate(path: string, bytes: number): Promise<void> {
    await truncate(path, bytes);
  }

  /** Kills the server and deletes its directory. */
  async destroy(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * A loopback TCP proxy: a fixed address in front of a Redis whose target can be switched (what a
 * DNS name, virtual IP or Sentinel-aware proxy gives clients on failover), whose connections can
 * be cut, and whose link can be partitioned (bytes silently dropped both ways, connections kept
 * open: a network that stopped delivering).
 */
export class TcpProxy {
  readonly port: number;
  readonly url: string;
  #target: number;
  #partitioned = false;
  #refusing = false;
  readonly #server: Server;
  readonly #pairs = new Set<[Socket, Socket]>();

  private constructor(server: Server, port: number, target: number) {
    this.#server = server;
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
    this.#target = target;
  }

  static async start(target: number): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => {
      if (proxy) proxy.#accept(client);
      else client.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    proxy = new TcpProxy(server, typeof address === 'object' && address ? address.port : 0, target);
    return proxy;
  }

  get target(): number {
    return this.#target;
  }

  /** New connections go to `port` from now on (open ones stay where they are: {@link cut} them). */
  retarget(port: number): void {
    this.#target = port;
  }

  /** From now on every byte is dropped, both ways; connections stay open. */
  partition(): void {
    this.#partitioned = true;
  }

  /** While on, new connections are closed at once (the address answers nothing). */
  refuse(on: boolean): void {
    this.#refusing = on;
  }

  /** Closes every open connection (both sides). */
  cut(): void {
    for (const [a, b] of this.#pairs) {
      a.destroy();
      b.destroy();
    }
    this.#pairs.clear();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    if (this.#refusing) {
      client.destroy();
      return;
    }
    // A partitioned link keeps dropping: new connections do not get through either.
    const upstream = tcpConnect(this.#target, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.#pairs.delete(pair);
    };
    client.on('data', (data) => {
      if (!this.#partitioned) upstream.write(data);
    });
    upstream.on('data', (data) => {
      if (!this.#partitioned) client.write(data);
    });
    for (const s of pair) {
      s.on('error', end);
      s.on('close', end);
    }
  }
}
