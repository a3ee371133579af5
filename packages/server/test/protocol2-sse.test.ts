import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROTOCOL_2_QUERY } from '@wardcast/protocol';
import { createNodeHandler, NotificationHub } from '@wardcast/server';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, testAuthenticate, tokenFor } from './helpers/harness.js';
import { openStream } from './helpers/sse-stream.js';

/**
 * Protocol 2 (docs/protocol.md, "Protocol 2") over SSE: the `?protocol=2` of the stream request asks for it, as on a
 * WebSocket URL. A real hub behind a real HTTP server, a real `fetch` stream.
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (let c = cleanups.pop(); c; c = cleanups.pop()) await c();
});

async function start(): Promise<{ hub: NotificationHub; base: string }> {
  const hub = new NotificationHub({ authenticate: testAuthenticate, closeTimeoutMs: 200, authorize: () => true });
  const handler = createNodeHandler(hub);
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    await hub.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { hub, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('protocol 2 over SSE', () => {
  it('sends nothing before hello, then ready for a POSTed hello, then notifications', async () => {
    const { hub, base } = await start();
    const s = await openStream(base, cleanups, {}, `?${PROTOCOL_2_QUERY}`);
    const post = (frame: object) => s.post(JSON.stringify(frame));
    expect((await post({ type: 'ping', ref: 'p' })).status).toBe(204);
    await eventually(() => s.frames().length > 0, 'the pong');
    expect(s.frames()).toEqual([{ type: 'pong', ref: 'p' }]);

    await hub.publish('ward:4b', { kind: 'custom', id: 'n1' });
    await post({ type: 'hello', token: tokenFor('alice'), topics: [{ topic: 'ward:4b' }], ref: 'h' });
    await eventually(() => s.frames().some((f) => f.type === 'ready'), 'ready');
    await hub.publish('ward:4b', { kind: 'custom', id: 'n2' });
    await eventually(() => s.frames().some((f) => f.type === 'notification'), 'the notification');

    const frames = s.frames();
    expect(frames.map((f) => f.type)).toEqual(['pong', 'ready', 'notification']);
    expect(frames[1]).toMatchObject({
      protocol: 2,
      userId: 'alice',
      topics: [{ topic: 'ward:4b', status: 'ok', recovered: false, position: { seq: 1 } }],
      ref: 'h',
    });
    expect(frames[2]).toMatchObject({ id: 'n2', seq: 2 });
  });

  it('still speaks protocol 1 on a stream without the query', async () => {
    const { base } = await start();
    const s = await openStream(base, cleanups);
    await eventually(() => s.frames().length > 0, 'the welcome');
    expect(s.frames()[0]).toMatchObject({ type: 'welcome', protocol: 1 });
  });
});
