import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { createNodeHandler } from '@wardcast/server';
import type { HubFixture } from './fixtures.js';
import { closeServer, listen } from './fixtures.js';

/** Serves the hub's HTTP endpoints (the SSE transport among them) on the fixture's server. */
export function serveHttp(fixture: HubFixture): void {
  const handler = createNodeHandler(fixture.hub);
  fixture.server.removeAllListeners('request');
  fixture.server.on('request', (req, res) => handler(req, res));
}

/** A loopback proxy in front of a hub: plain HTTP is forwarded; upgrades go to `upgrade`. */
export interface TestProxy {
  readonly port: number;
  /** `ws://127.0.0.1:<proxy port>/v1/ws/notifications` */
  readonly url: string;
  /** Paths of the plain requests and upgrades it saw, in order (`GET /v1/sse/...`, `UPGRADE /v1/ws/...`). */
  readonly seen: string[];
  /** Destroys every connection through the proxy. */
  drop(): void;
  close(): Promise<void>;
}

/**
 * Starts a proxy on loopback to `target` (a port). `mode`: `'refuse'` answers every upgrade
 * with 403 (a proxy that strips or blocks WebSockets); `'swallow'` accepts it (`101`) and then
 * forwards nothing, ever (a proxy that buffers).
 */
export async function startProxy(target: number, mode: 'refuse' | 'swallow'): Promise<TestProxy> {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const upstream = httpRequest(
      { host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req, socket) => {
    seen.push(`UPGRADE ${req.url}`);
    socket.on('error', () => {});
    if (mode === 'refuse') {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const accept = createHash('sha1')
      .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    // Then nothing: frames are "buffered" forever.
  });
  const port = await listen(server);
  return {
    port,
    url: `ws://127.0.0.1:${port}/v1/ws/notifications`,
    seen,
    drop() {
      for (const socket of sockets) socket.destroy();
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return closeServer(server);
    },
  };
}
