import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { eventually, useHarness } from '../helpers/harness.js';
import {
  describeCost,
  expectBounded,
  exposeGc,
  footprint,
  openConnections,
  startControl,
  waitForConnections,
} from './guard.js';
import { rawUpgrade } from './raw-ws.js';

/**
 * Issue 10, defect 2: `attach()` ignored upgrades on other paths; with no other `upgrade` listener
 * nobody answered them and the server side stayed in CLOSE_WAIT forever (200 of 200 leaked). Now
 * the hub answers 404 and closes when it is the only listener, and leaves other listeners alone.
 */

exposeGc();
const STRAYS = 200;

describe('upgrades on other paths', () => {
  const harness = useHarness();

  it('are answered 404 and closed when the hub is the only upgrade listener, leaking no socket', async () => {
    const fx = await harness.start();
    const refused = harness.record(fx, 'refused');
    const control = await startControl(harness, fx);
    const baseline = await openConnections(fx.server);
    const before = await footprint();

    const strays = [];
    for (let i = 0; i < STRAYS; i += 20) {
      // The clients never close their side: only the hub can free these sockets.
      strays.push(...(await Promise.all(Array.from({ length: 20 }, (_, j) => rawUpgrade(fx.port, `/other/${i + j}`)))));
    }
    await Promise.all(strays.map((s) => s.closed));
    await waitForConnections(fx.server, baseline);
    const { delivered } = await control.finish();
    const after = await footprint();

    expect(strays.map((s) => s.status)).toEqual(Array(STRAYS).fill(404));
    expect(refused).toHaveLength(STRAYS);
    expect(refused.every((e) => e.stage === 'upgrade' && e.reason === 'path' && e.status === 404)).toBe(true);
    expectBounded(before, after, { heapMiB: 8, rssMiB: 48 });
    console.log(
      describeCost(
        'upgrades on unknown paths, hub alone',
        before,
        after,
        `${STRAYS} answered 404 and closed by the hub; sockets back to ${baseline}; control got ${delivered}`,
      ),
    );
  });

  it('are left to another upgrade listener, even one that answers late', async () => {
    const fx = await harness.start();
    const refused = harness.record(fx, 'refused');
    // Another WebSocket server on the same HTTP server, added after attach(), that takes its time.
    const other = new WebSocketServer({ noServer: true });
    other.on('connection', (ws) => ws.on('message', (data) => ws.send(`echo:${String(data)}`)));
    const foreign = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      if (!req.url?.startsWith('/other')) return;
      setTimeout(() => other.handleUpgrade(req, socket, head, (ws) => other.emit('connection', ws, req)), 50);
    };
    fx.server.on('upgrade', foreign);
    const control = await startControl(harness, fx);
    const baseline = await openConnections(fx.server);
    const before = await footprint();

    const clients = Array.from({ length: 20 }, (_, i) => new WebSocket(`ws://127.0.0.1:${fx.port}/other/${i}`));
    const echoes = await Promise.all(
      clients.map(
        (ws, i) =>
          new Promise<string>((resolve, reject) => {
            ws.on('error', reject);
            ws.on('open', () => ws.send(`m${i}`));
            ws.on('message', (data) => resolve(String(data)));
          }),
      ),
    );
    for (const ws of clients) ws.close();
    await eventually(() => clients.every((ws) => ws.readyState === WebSocket.CLOSED), 'the other clients closed');
    await waitForConnections(fx.server, baseline);
    const { delivered } = await control.finish();
    fx.server.off('upgrade', foreign);
    await new Promise<void>((resolve) => other.close(() => resolve()));
    const after = await footprint();

    expect(echoes).toEqual(clients.map((_, i) => `echo:m${i}`));
    expect(refused).toEqual([]);
    expectBounded(before, after, { heapMiB: 8, rssMiB: 48 });
    console.log(
      describeCost(
        'upgrades on another listener’s path',
        before,
        after,
        `${clients.length} served by the other listener (50 ms late), none touched by the hub; control got ${delivered}`,
      ),
    );
  });
});
