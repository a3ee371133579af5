import { describe, expect, it } from 'vitest';
import { custom, eventually, record, sleep, states, useFixtures } from './helpers/fixtures.js';

const f = useFixtures();

describe('status', () => {
  it('goes from idle to connecting to open, and to closed on close()', async () => {
    const server = await f.hub();
    const client = f.client({ url: server.url, autoConnect: false });
    const log = record(client);
    expect(client.status).toEqual({ state: 'idle' });

    client.connect();
    await eventually(() => client.status.state === 'open', 'the client is open');
    expect(states(log)).toEqual(['connecting', 'open']);
    expect(log.statuses[0]).toEqual({ state: 'connecting', attempt: 0 });
    expect(client.status).toEqual({ state: 'open', sessionId: server.events.connection[0]?.sessionId, userId: 'u1' });

    client.close();
    expect(client.status).toEqual({ state: 'closed', reason: { code: 1000, reason: 'client closed', fatal: true } });
    expect(states(log)).toEqual(['connecting', 'open', 'closed']);
    await eventually(() => server.events.disconnect.length === 1, 'the hub saw the socket close');
    expect(server.hub.stats().connections).toBe(0);
  });

  it('measures latency after the first ping', async () => {
    const server = await f.hub();
    const client = f.client({ url: server.url });
    expect(client.latencyMs).toBeUndefined();
    await eventually(() => client.latencyMs !== undefined, 'latency was measured');
    expect(typeof client.latencyMs).toBe('number');
    expect(client.latencyMs).toBeGreaterThanOrEqual(0);
    expect(client.latencyMs).toBeLessThan(2_000);
  });

  it('ignores connect() while already connecting or open', async () => {
    const server = await f.hub();
    const client = f.client({ url: server.url });
    client.connect();
    await eventually(() => client.status.state === 'open', 'the client is open');
    client.connect();
    await sleep(100);
    expect(server.events.connection).toHaveLength(1);
    expect(client.status.state).toBe('open');
  });

  it('starts again after close() when connect() is called', async () => {
    const server = await f.hub();
    const client = f.client({ url: server.url });
    await eventually(() => client.status.state === 'open', 'the client is open');
    client.close();
    client.connect();
    await eventually(() => client.status.state === 'open', 'the client is open again');
    await eventually(() => server.events.disconnect.length === 1, 'the old socket closed');
    expect(server.events.connection).toHaveLength(2);
    expect(server.hub.stats().connections).toBe(1);
  });

  it('makes no connection after close() even if the URL was still resolving', async () => {
    const server = await f.hub();
    const client = f.client({
      url: async () => {
        await sleep(50);
        return server.url;
      },
    });
    expect(client.status.state).toBe('connecting');
    client.close();
    await sleep(200);
    expect(server.events.connection).toEqual([]);
    expect(client.status.state).toBe('closed');
  });

  it('stops listening when the function returned by on() is called', async () => {
    const server = await f.hub();
    const client = f.client({ url: server.url, topics: ['user:u1'] });
    const seen: string[] = [];
    const off = client.on('notification', (n) => seen.push(n.id));
    const log = record(client);
    await eventually(() => server.events.subscribe.length === 1, 'subscribed');
    await server.hub.publish('user:u1', custom('one'));
    await eventually(() => log.notifications.length === 1, 'one arrived');
    off();
    await server.hub.publish('user:u1', custom('two'));
    await eventually(() => log.notifications.length === 2, 'two arrived');
    expect(seen).toEqual(['one']);
  });
});
