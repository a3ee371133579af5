import type { StorageLike } from '@wardcast/client';
import { SseSocket, sseUrl } from '@wardcast/client/sse';
import { describe, expect, it } from 'vitest';
import { custom, eventually, type HubFixture, record, useFixtures } from './helpers/fixtures.js';
import { serveHttp, startProxy } from './helpers/sse.js';

const f = useFixtures();

async function hub(): Promise<HubFixture> {
  const fixture = await f.hub();
  serveHttp(fixture);
  return fixture;
}

function memoryStorage(): StorageLike & { readonly data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
}

const upgrades = (seen: readonly string[]) => seen.filter((s) => s.startsWith('UPGRADE')).length;
const streams = (seen: readonly string[]) => seen.filter((s) => s.startsWith('GET /v1/sse/notifications')).length;

describe('fallback to SSE', () => {
  it('lands on SSE behind a proxy that refuses the upgrade, then receives, acks and resumes', async () => {
    const fixture = await hub();
    const proxy = await startProxy(fixture.port, 'refuse');
    f.defer(() => proxy.close());
    const storage = memoryStorage();
    const c = f.client({ url: proxy.url, topics: ['user:u1'], SSE: SseSocket, storage });
    const log = record(c);
    await eventually(() => fixture.events.subscribe.length === 1, 'the client subscribed over SSE');
    // The hub's first frame (`ready`) came over SSE: the transport works.
    await eventually(() => c.status.state === 'open', 'open over SSE');
    expect(upgrades(proxy.seen)).toBe(1);
    expect(streams(proxy.seen)).toBe(1);
    // Both transports ask for protocol 2: the query survives the SSE URL.
    expect(proxy.seen.slice(0, 2)).toEqual([
      'UPGRADE /v1/ws/notifications?protocol=2',
      'GET /v1/sse/notifications?protocol=2',
    ]);
    // The refused upgrade was reported, and did not close the client (403 is fatal only without a fallback).
    expect(log.errors.map((e) => e.code)).toContain('handshake_failed');
    expect(storage.data.get('wardcast:transport')).toMatch(/^sse \d+$/);

    await fixture.hub.publish('user:u1', custom('n1'));
    await eventually(() => log.notifications.length === 1, 'n1 arrived');
    c.ack('n1');
    await eventually(() => fixture.events.ack.length === 1, 'the hub got the ack');
    await eventually(() => log.receipts.length === 1, 'the receipt came back on the stream');

    // A dropped stream: the client goes back straight to SSE (remembered) and resumes.
    proxy.drop();
    await fixture.hub.publish('user:u1', custom('n2'));
    await eventually(() => fixture.events.subscribe.length === 2, 'the client resubscribed');
    expect(fixture.events.subscribe[1]).toMatchObject({ recovered: true });
    await eventually(() => log.notifications.length === 2, 'n2 arrived');
    expect(log.notifications.map((n) => n.id)).toEqual(['n1', 'n2']);
    expect(upgrades(proxy.seen)).toBe(1);
    expect(streams(proxy.seen)).toBe(2);
    expect(log.receipts).toEqual([{ id: 'n1', action: 'ack' }]);
  });

  it('a new client starts with the transport remembered in storage', async () => {
    const fixture = await hub();
    const proxy = await startProxy(fixture.port, 'refuse');
    f.defer(() => proxy.close());
    const storage = memoryStorage();
    storage.setItem('wardcast:transport', `sse ${Date.now() + 60_000}`);
    const c = f.client({ url: proxy.url, topics: ['user:u1'], SSE: SseSocket, storage });
    await eventually(() => c.status.state === 'open', 'the client is open');
    expect(upgrades(proxy.seen)).toBe(0);
    // An expired memory is ignored.
    storage.setItem('wardcast:transport', `sse ${Date.now() - 1}`);
    const d = f.client({ url: proxy.url, topics: ['user:u1'], SSE: SseSocket, storage });
    await eventually(() => d.status.state === 'open', 'the second client is open');
    expect(upgrades(proxy.seen)).toBe(1);
  });

  it('falls back when a proxy accepts the upgrade but never forwards a frame', async () => {
    const fixture = await hub();
    const proxy = await startProxy(fixture.port, 'swallow');
    f.defer(() => proxy.close());
    const c = f.client({
      url: proxy.url,
      topics: ['user:u1'],
      SSE: SseSocket,
      storage: memoryStorage(),
      fallbackTimeoutMs: 300,
    });
    const log = record(c);
    await eventually(() => fixture.events.subscribe.length === 1, 'the client subscribed over SSE');
    expect(upgrades(proxy.seen)).toBe(1);
    expect(streams(proxy.seen)).toBe(1);
    await fixture.hub.publish('user:u1', custom('n1'));
    await eventually(() => log.notifications.length === 1, 'n1 arrived');
  });

  it('stays on WebSocket where it works, and without SSE never falls back', async () => {
    const fixture = await hub();
    let upgradesSeen = 0;
    fixture.server.prependListener('upgrade', () => upgradesSeen++);
    const storage = memoryStorage();
    const c = f.client({ url: fixture.url, topics: ['user:u1'], SSE: SseSocket, storage });
    await eventually(() => c.status.state === 'open', 'the client is open');
    expect(upgradesSeen).toBe(1);
    expect(storage.data.get('wardcast:transport')).toMatch(/^websocket \d+$/);

    const proxy = await startProxy(fixture.port, 'refuse');
    f.defer(() => proxy.close());
    const d = f.client({ url: proxy.url, topics: ['user:u1'] });
    const log = record(d);
    await eventually(() => d.status.state === 'closed', 'the WebSocket-only client gave up on 403');
    expect(streams(proxy.seen)).toBe(0);
    expect(log.errors.some((e) => e.status === 403)).toBe(true);
  });

  it('falls back to WebSocket when the remembered SSE fails', async () => {
    const fixture = await hub();
    // Without the SSE endpoints: GET /v1/sse/notifications is answered 404.
    fixture.server.removeAllListeners('request');
    fixture.server.on('request', (_req, res) => res.writeHead(404).end());
    const storage = memoryStorage();
    storage.setItem('wardcast:transport', `sse ${Date.now() + 60_000}`);
    const c = f.client({ url: fixture.url, topics: ['user:u1'], SSE: SseSocket, storage });
    await eventually(() => c.status.state === 'open', 'the client is open over WebSocket');
    expect(storage.data.get('wardcast:transport')).toMatch(/^websocket \d+$/);
  });
});

describe('sseUrl', () => {
  it('keeps the query (protocol=2) when it maps the WebSocket URL to the SSE endpoint', () => {
    expect(sseUrl('wss://api.example.org/v1/ws/notifications?protocol=2')).toBe(
      'https://api.example.org/v1/sse/notifications?protocol=2',
    );
    expect(sseUrl('ws://127.0.0.1:8080/v1/ws/notifications?tenant=a&protocol=2')).toBe(
      'http://127.0.0.1:8080/v1/sse/notifications?tenant=a&protocol=2',
    );
  });
});
