import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROTOCOL_2_QUERY } from '@wardcast/protocol';
import { createNodeHandler, NotificationHub } from '@wardcast/server';
import { afterEach, describe, expect, it } from 'vitest';
import { WAIT_MS } from './helpers/client.js';
import { eventually, testAuthenticate, tokenFor } from './helpers/harness.js';

/**
 * Protocol 2 (docs/protocol.md, "Protocol 2") over SSE: the `?protocol=2` of the stream request asks for it, as on a
 * WebSocket URL. A real hub behind a real HTTP server, a real `fetch` stream.
 */

const STREAM = '/v1/sse/notifications';
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

/** An SSE stream: the hub's frames (unnamed events) as they arrive, and a way to POST frames to it. */
async function stream(url: string) {
  const abort = new AbortController();
  cleanups.push(() => abort.abort());
  const response = await fetch(url, { headers: { accept: 'text/event-stream' }, signal: abort.signal });
  const frames: Record<string, unknown>[] = [];
  const opened = { id: '', key: '' };
  void (async () => {
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
          const lines = buffer.slice(0, end).split('\n');
          buffer = buffer.slice(end + 2);
          const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? '';
          const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
          if (data.length === 0) continue;
          if (event === 'open') Object.assign(opened, JSON.parse(data.join('\n')));
          else if (event === '') frames.push(JSON.parse(data.join('\n')));
        }
      }
    } catch {
      // Aborted.
    }
  })();
  await eventually(() => opened.id !== '', 'the open event', WAIT_MS);
  const base = url.slice(0, url.indexOf(STREAM) + STREAM.length);
  const post = (...sent: object[]) =>
    fetch(`${base}/${opened.id}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-wardcast-key': opened.key },
      body: sent.map((f) => JSON.stringify(f)).join('\n'),
    });
  return { frames, post };
}

describe('protocol 2 over SSE', () => {
  it('sends nothing before hello, then ready for a POSTed hello, then notifications', async () => {
    const { hub, base } = await start();
    const s = await stream(`${base}${STREAM}?${PROTOCOL_2_QUERY}`);
    expect((await s.post({ type: 'ping', ref: 'p' })).status).toBe(204);
    await eventually(() => s.frames.length > 0, 'the pong');
    expect(s.frames).toEqual([{ type: 'pong', ref: 'p' }]);

    await hub.publish('ward:4b', { kind: 'custom', id: 'n1' });
    await s.post({ type: 'hello', token: tokenFor('alice'), topics: [{ topic: 'ward:4b' }], ref: 'h' });
    await eventually(() => s.frames.some((f) => f.type === 'ready'), 'ready');
    await hub.publish('ward:4b', { kind: 'custom', id: 'n2' });
    await eventually(() => s.frames.some((f) => f.type === 'notification'), 'the notification');

    expect(s.frames.map((f) => f.type)).toEqual(['pong', 'ready', 'notification']);
    expect(s.frames[1]).toMatchObject({
      protocol: 2,
      userId: 'alice',
      topics: [{ topic: 'ward:4b', status: 'ok', recovered: false, position: { seq: 1 } }],
      ref: 'h',
    });
    expect(s.frames[2]).toMatchObject({ id: 'n2', seq: 2 });
  });

  it('still speaks protocol 1 on a stream without the query', async () => {
    const { base } = await start();
    const s = await stream(`${base}${STREAM}`);
    await eventually(() => s.frames.length > 0, 'the welcome');
    expect(s.frames[0]).toMatchObject({ type: 'welcome', protocol: 1 });
  });
});
