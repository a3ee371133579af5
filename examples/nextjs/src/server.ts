import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import next from 'next';
import { installWardcast, uninstallWardcast } from './wardcast/global';
import { createWardcastRuntime } from './wardcast/runtime';

// The custom server: one Node.js process owns the HTTP server, Next.js and the NotificationHub.
// Start it with `pnpm dev` (development) or `pnpm build && pnpm start` (production).
const dev = process.env.NODE_ENV !== 'production';
const hostname = process.env.HOST ?? '127.0.0.1';
const requestedPort = Number(process.env.PORT ?? 3000);
const dir = fileURLToPath(new URL('..', import.meta.url));

// The hub and its HTTP handlers, created here and only here, then put on globalThis for the
// route handlers (src/wardcast/global.ts). `next build` never runs this file.
const allowedOrigins = process.env.WARDCAST_ALLOWED_ORIGINS?.split(',').map((o) => o.trim());
const wardcast = createWardcastRuntime({
  ...(allowedOrigins ? { allowedOrigins } : {}),
  ...(process.env.WARDCAST_WS_PATH ? { wsPath: process.env.WARDCAST_WS_PATH } : {}),
});
installWardcast(wardcast);

// Next.js adds its own `upgrade` listener on the first request it handles: to `httpServer` if
// given, else to the server the request came in on. On the real server, that listener ends
// every upgrade whose path matches an app route or a page, after the hub already accepted it:
// the client sees `welcome`, then 1006, and reconnects forever. So Next.js gets a relay, an
// http.Server that never listens, and this server keeps the only `upgrade` listener: the hub's
// path goes to the hub, everything else (in development, the hot-reload socket) to Next.js.
const nextUpgrades = createServer();

let handle: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
const server = createServer((req, res) => {
  // The SSE fallback for networks that block WebSockets, next to the socket, before Next.js.
  if (wardcast.sse(req, res)) return;
  if (handle) void handle(req, res);
  else res.writeHead(503, { 'retry-after': '1' }).end('starting');
});

server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  if ((query === -1 ? url : url.slice(0, query)) === wardcast.wsPath) {
    wardcast.hub.handleUpgrade(req, socket, head);
  } else if (!nextUpgrades.emit('upgrade', req, socket, head)) {
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  }
});

await new Promise<void>((resolve) => server.listen(requestedPort, hostname, resolve));
const { port } = server.address() as AddressInfo;

const app = next({ dev, dir, hostname, port, httpServer: nextUpgrades });
await app.prepare();
handle = app.getRequestHandler();

const shown = hostname === '127.0.0.1' || hostname === '0.0.0.0' ? 'localhost' : hostname;
console.log(`Wardcast Next.js demo (${dev ? 'development' : 'production'}) ready: http://${shown}:${port}`);
console.log(`  WebSocket: ws://${shown}:${port}${wardcast.wsPath}`);
console.log(
  `  SSE fallback: http://${shown}:${port}${wardcast.wsPath.replace(/\/ws\/notifications$/, '/sse/notifications')}`,
);
console.warn('  Demo sign-in is INSECURE (anyone may sign in as anyone): never deploy it as is.');

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(1), 10_000).unref();
  // Readiness turns 503 and the hub closes its sockets (1001) while HTTP still answers.
  await wardcast.close();
  uninstallWardcast();
  // Then HTTP: no new connections, open ones closed. Do not wait for upgraded sockets the hub
  // does not own (Next.js leaves alone an upgrade it has no route for).
  server.close();
  server.closeAllConnections();
  await app.close();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
