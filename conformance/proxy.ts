import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/**
 * A loopback TCP proxy in front of a server (Redis, PostgreSQL, anything over TCP). Hubs that
 * reach their backplane through it lose it on {@link down}: every open connection is cut and new
 * ones are closed at once, as when the server or the network to it is gone. {@link up} lets
 * connections through again; the data behind it is untouched (the server never restarted).
 */
export class TcpProxy {
  readonly port: number;
  #down = false;
  #partitioned = false;
  readonly #server: Server;
  readonly #pairs = new Set<[Socket, Socket]>();
  readonly #targetHost: string;
  readonly #targetPort: number;

  private constructor(server: Server, port: number, targetHost: string, targetPort: number) {
    this.#server = server;
    this.port = port;
    this.#targetHost = targetHost;
    this.#targetPort = targetPort;
  }

  /** Listens on an ephemeral port of 127.0.0.1 and forwards to `targetHost:targetPort`. */
  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
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
    proxy = new TcpProxy(server, typeof address === 'object' && address ? address.port : 0, targetHost, targetPort);
    return proxy;
  }

  /** Open connections through the proxy. */
  get connections(): number {
    return this.#pairs.size;
  }

  /** The server is gone: open connections are cut, new ones closed at once. */
  down(): void {
    this.#down = true;
    this.#cut();
  }

  #cut(): void {
    for (const [a, b] of this.#pairs) {
      a.destroy();
      b.destroy();
    }
    this.#pairs.clear();
  }

  /** Stops forwarding what the server sends (read and dropped, so its buffers never fill). */
  #mute(upstream: Socket): void {
    upstream.unpipe();
    upstream.removeAllListeners('data');
    upstream.on('data', () => {});
  }

  /**
   * A partition: requests still reach the server (and run there) but no answer comes back; the
   * connections stay open. {@link up} ends it by cutting them, as a long partition ends.
   */
  partition(): void {
    this.#partitioned = true;
    for (const [, upstream] of this.#pairs) this.#mute(upstream);
  }

  /** The server is back: new connections go through (open ones are cut after a partition). */
  up(): void {
    if (this.#partitioned) {
      this.#partitioned = false;
      this.#cut();
    }
    this.#down = false;
  }

  async close(): Promise<void> {
    this.down();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    if (this.#down) {
      client.destroy();
      return;
    }
    const upstream = tcpConnect(this.#targetPort, this.#targetHost);
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.#pairs.delete(pair);
    };
    client.pipe(upstream);
    if (this.#partitioned) this.#mute(upstream);
    else upstream.pipe(client);
    for (const s of pair) {
      s.on('error', end);
      s.on('close', end);
    }
  }
}
