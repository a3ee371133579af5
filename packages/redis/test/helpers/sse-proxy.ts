import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Where the proxy sends a request: an instance's port, or `undefined` when none is alive. */
export type Upstreams = () => readonly number[];

/**
 * A load balancer in front of several hub instances for the SSE transport, as a deployment puts
 * one: stream requests (`GET /v1/sse/notifications`) go round-robin over the live instances.
 * `sticky: true` sends a stream's `POST`s (`/v1/sse/notifications/<id>`) to the instance that
 * holds the stream (it learns the id from the stream's `open` event, as a cookie-affinity balancer
 * would route by its cookie); `sticky: false` spreads them round-robin too.
 */
export class SseProxy {
  readonly posts: { readonly upstream: number; readonly status: number }[] = [];
  /** Stream id -> the instance port holding it (sticky only). */
  readonly routes = new Map<string, number>();
  readonly #server: Server;
  #turn = 0;

  private constructor(
    readonly upstreams: Upstreams,
    readonly sticky: boolean,
  ) {
    this.#server = createServer((req, res) => this.#forward(req, res));
  }

  static async start(upstreams: Upstreams, sticky: boolean): Promise<SseProxy> {
    const proxy = new SseProxy(upstreams, sticky);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** The URL a client is given (the hub's SSE endpoint, through the proxy). */
  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v1/sse/notifications`;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #next(): number | undefined {
    const live = this.upstreams();
    return live.length === 0 ? undefined : live[this.#turn++ % live.length];
  }

  #forward(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0] as string;
    const id = path.startsWith('/v1/sse/notifications/') ? path.slice('/v1/sse/notifications/'.length) : undefined;
    const routed = id !== undefined && this.sticky ? this.routes.get(decodeURIComponent(id)) : undefined;
    const port = routed ?? this.#next();
    if (port === undefined) {
      res.writeHead(502).end();
      return;
    }
    const upstream = request(
      { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        if (req.method === 'POST') this.posts.push({ upstream: port, status: answer.statusCode ?? 0 });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.flushHeaders();
        if (id === undefined && req.method === 'GET') this.#learn(answer, port);
        answer.pipe(res);
        // The instance died mid-response: cut the client's connection too, as a balancer does.
        answer.on('close', () => {
          if (!answer.complete) res.destroy();
        });
      },
    );
    // An instance killed mid-stream: the client sees its stream end and reconnects.
    upstream.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }

  /** Reads the stream's `open` event (its connection id) to route that stream's `POST`s. */
  #learn(stream: IncomingMessage, port: number): void {
    let head = '';
    const sniff = (chunk: Buffer) => {
      head += chunk.toString('utf8');
      const open = /event: ?open\r?\ndata: ?(\{[^\n]*\})/.exec(head);
      if (!open && head.length < 4096) return;
      stream.off('data', sniff);
      if (open) this.routes.set((JSON.parse(open[1] as string) as { id: string }).id, port);
    };
    stream.on('data', sniff);
  }
}
