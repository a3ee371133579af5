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
 * write) from the TCP socket instead of asking `ws`. Held equal to `ws`'s own figure plus the
 * frames the transport holds until the end of the turn (the second and later frames of a turn,
 * written into the socket at the end of the turn or once 64 KiB are held), over a real connection
 * whose reader stopped, through fan-out frames, single frames, pings and the close.
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
      // A frame of this text: 4 header bytes (126 <= length < 65,536), then the text.
      const frameBytes = 4 + Buffer.byteLength(text);
      const flushAt = 64 * 1024;
      const seen: [number, number, number][] = [];
      // What the transport holds itself (uncompressed only): none for the first frame of a turn.
      let held = 0;
      let firstOfTurn = true;

      for (let i = 0; i < 2_000; i++) {
        if (i % 3 === 0) socket.send(text);
        else socket.sendEncoded(new EncodedFrame(text));
        if (!compressed && !firstOfTurn) {
          held += frameBytes;
          if (held >= flushAt) held = 0;
        }
        firstOfTurn = false;
        if (i % 50 === 0) socket.ping();
        seen.push([socket.bufferedAmount, server.bufferedAmount, held]);
        if (i % 100 === 99) {
          await new Promise((resolve) => setImmediate(resolve));
          held = 0;
          firstOfTurn = true;
        }
      }
      socket.close(1000, 'done');
      seen.push([socket.bufferedAmount, server.bufferedAmount, 0]);

      for (const [mine, theirs, inTransport] of seen) expect(mine).toBe(theirs + inTransport);
      // Frames were held by the transport (uncompressed), and all of them reached the socket.
      if (!compressed) expect(Math.max(...seen.map(([, , inTransport]) => inTransport))).toBeGreaterThan(0);
      // Some of it did pile up: the comparison covered a socket holding megabytes.
      expect(Math.max(...seen.map(([mine]) => mine))).toBeGreaterThan(1_000_000);
    });
  }
});

describe('ws transport: frames held until the end of the turn', () => {
  /** Records the first byte of every buffer written to the TCP socket under `server` (0x81 text, 0x88 close). */
  function recordWrites(server: WebSocket): number[] {
    const raw = (server as unknown as { _socket: { write(chunk: unknown, ...rest: unknown[]): boolean } })._socket;
    const firstBytes: number[] = [];
    const write = raw.write.bind(raw);
    raw.write = (chunk: unknown, ...rest: unknown[]) => {
      if (Buffer.isBuffer(chunk) && chunk.length > 0) firstBytes.push(chunk[0] as number);
      return write(chunk, ...rest);
    };
    return firstBytes;
  }

  it('writes no data frame after the close frame ws sends for a close it received meanwhile', async () => {
    const { server, client } = await connection(false);
    const coalescer = new WriteCoalescer(1 << 20);
    const socket = new WsSocket(server, false, coalescer);
    const firstBytes = recordWrites(server);
    const received: string[] = [];
    client.on('message', (data) => received.push(String(data)));
    const closed = once(client, 'close');

    socket.send('"first"'); // the first frame of the turn: written at once
    socket.send('"held"'); // held until the end of the turn
    expect(socket.bufferedAmount).toBeGreaterThan(server.bufferedAmount);
    // What ws does when the peer's close frame arrives: it answers with its own close frame.
    server.close(1000, 'peer closed');
    coalescer.flush();
    await closed;

    const close = firstBytes.indexOf(0x88);
    expect(close).toBeGreaterThan(-1);
    expect(firstBytes.slice(close + 1).filter((b) => b === 0x81)).toEqual([]);
    expect(received).toEqual(['"first"']);
  });

  it('writes the held frames ahead of the close frame of its own close, and all of them', async () => {
    const { server, client } = await connection(false);
    const coalescer = new WriteCoalescer(1 << 20);
    const socket = new WsSocket(server, false, coalescer);
    const received: string[] = [];
    client.on('message', (data) => received.push(String(data)));
    const closed = once(client, 'close');

    for (let i = 0; i < 5; i++) socket.send(`${i}`);
    socket.close(1000, 'done');
    coalescer.flush();
    const [code] = (await closed) as [number];

    expect(received).toEqual(['0', '1', '2', '3', '4']);
    expect(code).toBe(1000);
  });
});
