import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNodeHandler, EncodedFrame, NotificationHub } from '@wardcast/server';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually, testAuthenticate, tokenFor } from './helpers/harness.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (let c = cleanups.pop(); c; c = cleanups.pop()) await c();
});

describe('EncodedFrame.prepared', () => {
  it('keeps one form per transport: each is built once, whatever the order of the sockets', () => {
    const frame = new EncodedFrame('{"type":"notification"}');
    const ws = {};
    const sse = {};
    const built: string[] = [];
    const build = (name: string) => (text: string) => {
      built.push(name);
      return `${name}:${text}`;
    };
    for (let i = 0; i < 3; i++) {
      expect(frame.prepared(ws, build('ws'))).toBe('ws:{"type":"notification"}');
      expect(frame.prepared(sse, build('sse'))).toBe('sse:{"type":"notification"}');
    }
    expect(built).toEqual(['ws', 'sse']);
    // A third owner takes the second slot; the first one's form stays.
    const third = {};
    expect(frame.prepared(third, build('third'))).toBe('third:{"type":"notification"}');
    expect(frame.prepared(ws, build('ws'))).toBe('ws:{"type":"notification"}');
    expect(built).toEqual(['ws', 'sse', 'third']);
  });
});

describe('fan-out over both transports', () => {
  it('delivers the same frames, in order, to WebSocket and SSE subscribers of one topic', async () => {
    const hub = new NotificationHub({ authenticate: testAuthenticate, authorize: () => true, closeTimeoutMs: 200 });
    const handler = createNodeHandler(hub);
    const server = createServer((req, res) => handler(req, res));
    hub.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const abort = new AbortController();
    cleanups.push(async () => {
      abort.abort();
      await hub.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    const { port } = server.address() as AddressInfo;
    const auth = (user: string) => JSON.stringify({ type: 'auth', token: tokenFor(user) });
    const subscribe = JSON.stringify({ type: 'subscribe', topics: [{ topic: 'ward:4b' }] });
    const received = new Map<string, string[]>();
    const subscribed = new Set<string>();
    const onFrame = (who: string, text: string) => {
      const frame = JSON.parse(text) as { type: string };
      if (frame.type === 'subscribed') subscribed.add(who);
      if (frame.type === 'notification') received.set(who, [...(received.get(who) ?? []), text]);
    };

    for (const who of ['ws-1', 'ws-2']) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws/notifications`);
      ws.on('open', () => {
        ws.send(auth(who));
        ws.send(subscribe);
      });
      ws.on('message', (data) => onFrame(who, String(data)));
      cleanups.push(() => ws.terminate());
    }
    for (const who of ['sse-1', 'sse-2']) {
      const res = await fetch(`http://127.0.0.1:${port}/v1/sse/notifications`, { signal: abort.signal });
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      void (async () => {
        let buffer = '';
        for (;;) {
          const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
          if (done) return;
          buffer += decoder.decode(value, { stream: true });
          for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (event.startsWith('event: open\n')) {
              const { id, key } = JSON.parse(event.slice(event.indexOf('data: ') + 6)) as { id: string; key: string };
              await fetch(`http://127.0.0.1:${port}/v1/sse/notifications/${id}`, {
                method: 'POST',
                headers: { 'x-wardcast-key': key },
                body: `${auth(who)}\n${subscribe}`,
              });
            } else if (event.startsWith('data: ')) onFrame(who, event.slice(6));
          }
        }
      })();
    }
    await eventually(() => subscribed.size === 4, 'all four subscribed');

    for (let i = 0; i < 3; i++) await hub.publish('ward:4b', { id: `n${i}`, kind: 'custom', payload: { i } });
    await eventually(
      () => [...received.values()].every((frames) => frames.length === 3) && received.size === 4,
      '3 x 4',
    );
    const [first, ...rest] = [...received.values()];
    for (const frames of rest) expect(frames).toEqual(first);
    expect(first?.map((text) => (JSON.parse(text) as { id: string }).id)).toEqual(['n0', 'n1', 'n2']);
  });
});
