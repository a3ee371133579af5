import { describe, expect, it } from 'vitest';
import { eventually, record, sleep, useFixtures } from './helpers/fixtures.js';
import { startRawHub } from './helpers/raw-hub.js';

const f = useFixtures();

describe('half-open link detection', () => {
  it('declares a link that went silent dead and reconnects', async () => {
    // Answers auth, then nothing: no pong, no close. The TCP connection stays up.
    const raw = await startRawHub();
    f.defer(() => raw.close());
    const client = f.client({ url: raw.url, pingIntervalMs: 100, pongTimeoutMs: 100 });
    const log = record(client);

    await eventually(() => raw.connections.length >= 2, 'the client opened a second connection');
    const first = raw.connections[0];
    expect(first?.received.some((frame) => frame.type === 'ping')).toBe(true);

    const dead = log.statuses.findIndex((s) => s.state === 'reconnecting');
    expect(log.statuses[dead]).toMatchObject({
      state: 'reconnecting',
      lastClose: { code: 1006, reason: 'heartbeat timeout' },
    });
    expect(log.statuses.slice(0, dead).map((s) => s.state)).toContain('open');
    await eventually(() => log.statuses.slice(dead).some((s) => s.state === 'open'), 'the new link opened');
    // The dead link was let go, not left dangling next to the new one.
    await eventually(() => first?.socket.readyState === first?.socket.CLOSED, 'the old socket closed');
  });

  it('keeps a link whose hub answers pings', async () => {
    const server = await f.hub();
    // Pings every 100 ms; a deadline of 600 ms without any frame leaves room for a busy machine.
    const client = f.client({ url: server.url, pingIntervalMs: 100, pongTimeoutMs: 500 });
    const log = record(client);
    await eventually(() => client.status.state === 'open', 'the client is open');

    await sleep(800);
    expect(server.hub.stats().framesIn).toBeGreaterThan(5);
    expect(log.statuses.filter((s) => s.state === 'reconnecting')).toEqual([]);
    expect(server.events.connection).toHaveLength(1);
    expect(server.events.disconnect).toEqual([]);
    expect(client.status.state).toBe('open');
  });
});
