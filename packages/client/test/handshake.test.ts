import { createNotificationClient, type WebSocketConstructor } from '@wardcast/client';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually, record, sleep, states, useFixtures } from './helpers/fixtures.js';

const f = useFixtures();

/** `ws` sending a browser `Origin` header, as a page on `origin` would. */
function wsFrom(origin: string): WebSocketConstructor {
  return class extends WebSocket {
    constructor(url: string) {
      super(url, { origin });
    }
  };
}

describe('refused handshakes', () => {
  it('reports a 403 (origin refused) as handshake_failed with the status, and stops', async () => {
    const server = await f.hub({ allowedOrigins: ['http://localhost:5173'] });
    const client = f.client({ url: server.url, WebSocket: wsFrom('http://evil.example'), autoConnect: false });
    const log = record(client);
    client.connect();

    await eventually(() => client.status.state === 'closed', 'the client gave up');
    expect(log.errors).toHaveLength(1);
    expect(log.errors[0]).toMatchObject({ name: 'WardcastError', code: 'handshake_failed', status: 403 });
    expect(client.status).toMatchObject({ state: 'closed', reason: { code: 1006, fatal: true } });

    // With a 20 ms backoff a retrying client would have made several attempts by now.
    await sleep(300);
    expect(states(log)).toEqual(['connecting', 'closed']);
    expect(log.errors).toHaveLength(1);
  });

  it('connects from an allowed origin', async () => {
    const server = await f.hub({ allowedOrigins: ['http://localhost:5173'] });
    const client = f.client({ url: server.url, WebSocket: wsFrom('http://localhost:5173') });
    const log = record(client);

    await eventually(() => client.status.state === 'open', 'the client is open');
    expect(log.errors).toEqual([]);
  });

  it('reports a 503 (hub closed) as handshake_failed with the status, and keeps retrying', async () => {
    const server = await f.hub();
    await server.hub.close();
    const client = f.client({ url: server.url, autoConnect: false });
    const log = record(client);
    client.connect();

    await eventually(() => log.errors.length >= 3, 'the client retried and reported each refusal');
    for (const error of log.errors) expect(error).toMatchObject({ code: 'handshake_failed', status: 503 });
    expect(log.statuses.some((s) => s.state === 'reconnecting')).toBe(true);
    expect(log.statuses.some((s) => s.state === 'closed')).toBe(false);
  });
});

describe('no WebSocket implementation', () => {
  it('emits websocket_unavailable and closes without a retry loop', async () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket');
    // Node 22 has a global WebSocket: hide it, as on Node 20.
    Reflect.deleteProperty(globalThis, 'WebSocket');
    try {
      const client = createNotificationClient({ url: 'ws://127.0.0.1:9/v1/ws/notifications', token: 't' });
      f.defer(() => client.close());
      const log = record(client);

      await eventually(() => client.status.state === 'closed', 'the client closed');
      expect(log.errors.map((e) => e.code)).toEqual(['websocket_unavailable']);
      expect(client.status).toMatchObject({ state: 'closed', reason: { fatal: true } });
      await sleep(100);
      expect(states(log)).toEqual(['closed']);
    } finally {
      if (saved) Object.defineProperty(globalThis, 'WebSocket', saved);
    }
  });
});
