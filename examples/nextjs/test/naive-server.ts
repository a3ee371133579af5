import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { NotificationHub } from '@wardcast/server';
import next from 'next';
import { insecureDemoAuthenticate } from '../src/wardcast/insecure-demo-auth';

// NOT the way to do it: the recipe docs/server.md used to show, kept to prove the trap that
// src/server.ts avoids. The hub listens for upgrades with `hub.attach()` on the same server as
// Next.js, whose own `upgrade` listener (added on its first request) ends every upgrade whose path
// matches an app route, after the hub accepted it: `welcome`, then 1006.
const hostname = '127.0.0.1';
const path = process.env.WARDCAST_WS_PATH ?? '/api/v1/ws/notifications';
const hub = new NotificationHub({ authenticate: insecureDemoAuthenticate });

let handle: ReturnType<ReturnType<typeof next>['getRequestHandler']> | undefined;
const server = createServer((req, res) => {
  if (handle) void handle(req, res);
  else res.writeHead(503).end();
});
hub.attach(server, { path });
await new Promise<void>((resolve) => server.listen(0, hostname, resolve));
const { port } = server.address() as AddressInfo;
const app = next({ dev: false, dir: fileURLToPath(new URL('..', import.meta.url)), hostname, port });
await app.prepare();
handle = app.getRequestHandler();
console.log(`naive server ready: http://${hostname}:${port}`);

process.once('SIGTERM', () => {
  void hub.close().then(() => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
});
