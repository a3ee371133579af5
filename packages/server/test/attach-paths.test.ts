import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { NotificationHub } from '../src/index.js';
import { rawUpgrade } from './security/raw-ws.js';

/**
 * Two hubs attached to one server on two paths: each takes its own upgrades, the other leaves them
 * alone, and an upgrade on neither path is answered 404 once. A hub alone on a server does not mark
 * the sockets it takes (nothing else could look at them); with two, it does, and detaching one
 * goes back to that.
 */

const open: { server: Server; hubs: NotificationHub[] }[] = [];

afterEach(async () => {
  for (const { server, hubs } of open.splice(0)) {
    await Promise.all(hubs.map((h) => h.close()));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

function hubAt(): NotificationHub {
  return new NotificationHub({ authenticate: ({ token }) => (token ? { userId: token } : null) });
}

/** Connects with protocol 2 at `path` and resolves with the type of the first frame answering the `hello`. */
function helloAt(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}?protocol=2`);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', token: 'u1' })));
    ws.on('message', (data) => {
      resolve((JSON.parse(String(data)) as { type: string }).type);
      ws.close();
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(`http ${res.statusCode}`);
      ws.terminate();
    });
    ws.on('error', reject);
  });
}

describe('attach() on one server, several hubs', () => {
  it('each hub answers its own path, an unknown path is answered 404 once, and detaching one leaves the other working', async () => {
    const server = createServer((_req, res) => res.writeHead(404).end());
    const a = hubAt();
    const b = hubAt();
    open.push({ server, hubs: [a, b] });
    const refusedA: string[] = [];
    const refusedB: string[] = [];
    a.on('refused', (e) => refusedA.push(e.reason));
    b.on('refused', (e) => refusedB.push(e.reason));
    a.attach(server, { path: '/a' });
    const detachB = b.attach(server, { path: '/b' });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;

    expect(await helloAt(port, '/a')).toBe('ready');
    expect(await helloAt(port, '/b')).toBe('ready');
    const stray = await rawUpgrade(port, '/c');
    expect(stray.status).toBe(404);
    await stray.closed;
    // Answered by one hub only, and neither refused the other's upgrades.
    expect([...refusedA, ...refusedB]).toEqual(['path']);

    detachB();
    detachB(); // a second call does nothing
    expect(await helloAt(port, '/a')).toBe('ready');
    expect(await helloAt(port, '/b')).toBe('http 404');
    expect(await helloAt(port, '/a')).toBe('ready');
    expect(refusedB).toHaveLength(0);
  });
});
