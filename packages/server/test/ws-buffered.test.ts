import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { EncodedFrame } from '../src/core/transport.js';
import { WriteCoalescer } from '../src/ws/coalescer.js';
import { WsSocket } from '../src/ws/ws-socket.js';

/**
 * Issue 12, target 4: the `ws` transport reads `bufferedAmount` (the slow-consumer check of every
 * write) from the TCP socket instead of asking `ws`. Held equal to `ws`'s own figure over a real
 * connection whose reader stopped, through fan-out frames, single frames, pings and the close.
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A `ws` server and one client connection to it; resolves with the server side of the connection. */
async function connection(perMessageDeflate: boolean): Promise<{ server: WebSocket; client: WebSocket }> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`, { perMessageDeflate });
  const [server] = await accepted;
  await once(client, 'open');
  cleanups.push(async () => {
    client.terminate();
    server.terminate();
    await new Promise((resolve) => wss.close(resolve));
    await new Promise((resolve) => http.close(resolve));
  });
  return { server, client };
}

describe('ws transport: bufferedAmount', () => {
  for (const compressed of [false, true]) {
    it(`equals ws's own bufferedAmount while a reader is stalled (${compressed ? 'compressed' : 'uncompressed'})`, async () => {
      const { server, client } = await connection(compressed);
      // The client stops reading: what the server writes piles up in its buffers.
      (client as unknown as { _socket: { pause(): void } })._socket.pause();
      const socket = new WsSocket(server, compressed, new WriteCoalescer(1 << 30));
      const text = JSON.stringify({ type: 'notification', payload: 'x'.repeat(8_000) });
      const seen: [number, number][] = [];

      for (let i = 0; i < 2_000; i++) {
        if (i % 3 === 0) socket.send(text);
        else socket.sendEncoded(new EncodedFrame(text));
        if (i % 50 === 0) socket.ping();
        seen.push([socket.bufferedAmount, server.bufferedAmount]);
        if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
      }
      socket.close(1000, 'done');
      seen.push([socket.bufferedAmount, server.bufferedAmount]);

      for (const [mine, theirs] of seen) expect(mine).toBe(theirs);
      // Some of it did pile up: the comparison covered a socket holding megabytes.
      expect(Math.max(...seen.map(([mine]) => mine))).toBeGreaterThan(1_000_000);
    });
  }
});
