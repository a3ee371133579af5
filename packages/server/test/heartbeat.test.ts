import { describe, expect, it } from 'vitest';
import { eventually, tokenFor, useHarness, waitForEvent } from './helpers/harness.js';

const harness = useHarness();

describe('WebSocket heartbeat', () => {
  it('terminates a connection that does not answer pings and frees it', async () => {
    const fx = await harness.start({ heartbeatIntervalMs: 100 });
    const disconnect = waitForEvent(fx.hub, 'disconnect', () => true, 3_000);
    const silent = harness.connect(fx, { token: tokenFor('alice'), autoPong: false });
    await silent.nextFrame('authenticated');

    const event = await disconnect;
    const { code } = await silent.waitClose();

    expect(event).toMatchObject({ userId: 'alice', code: 1006 });
    expect(code).toBe(1006);
    expect(fx.hub.stats()).toMatchObject({ connections: 0, users: 0 });
    expect(fx.hub.stats().drops.heartbeatTimeouts).toBe(1);
  });

  it('removes the subscriptions of a connection terminated for missing pongs', async () => {
    const fx = await harness.start({ heartbeatIntervalMs: 100 });
    const silent = harness.connect(fx, { token: tokenFor('alice'), autoPong: false });
    await silent.nextFrame('authenticated');
    await silent.subscribe(['user:alice']);
    const disconnect = waitForEvent(fx.hub, 'disconnect', () => true, 3_000);

    await disconnect;

    expect(fx.hub.stats()).toMatchObject({ topics: 0, subscriptions: 0 });
  });

  it('keeps a connection that answers pings open across several intervals', async () => {
    const fx = await harness.start({ heartbeatIntervalMs: 200 });
    const healthy = await harness.connectAs(fx, 'alice');
    const silent = harness.connect(fx, { token: tokenFor('bob'), autoPong: false, label: 'silent' });

    // The silent client is terminated after two intervals; by then the healthy one answered pings.
    await silent.waitClose(3_000);
    await healthy.roundTrip();

    expect(healthy.closeInfo).toBeUndefined();
    expect(fx.hub.connections().map((c) => c.userId)).toEqual(['alice']);
  });

  it('measures the round trip of a connection that answers pings', async () => {
    const fx = await harness.start({ heartbeatIntervalMs: 200 });
    await harness.connectAs(fx, 'alice');

    await eventually(() => fx.hub.stats().rttMs.measured > 0, 'an RTT was measured', 3_000);
    const [snapshot] = fx.hub.connections();
    const { rttMs } = fx.hub.stats();

    expect(snapshot?.rttMs).toEqual(expect.any(Number));
    expect(snapshot?.rttMs).toBeGreaterThanOrEqual(0);
    expect(rttMs.measured).toBe(1);
    expect(rttMs.avg).toBe(snapshot?.rttMs);
    expect(rttMs.max).toBe(snapshot?.rttMs);
  });

  it('reports no RTT before any pong arrived', async () => {
    const fx = await harness.start();
    await harness.connectAs(fx, 'alice');

    expect(fx.hub.stats().rttMs).toEqual({ avg: null, max: null, measured: 0 });
    expect(fx.hub.connections()[0]?.rttMs).toBeUndefined();
  });

  it('announces heartbeatIntervalMs in the welcome frame', async () => {
    const fx = await harness.start({ heartbeatIntervalMs: 12_345 });
    const client = harness.connect(fx);

    const welcome = await client.nextFrame('welcome');

    expect(welcome.heartbeatMs).toBe(12_345);
  });
});

describe('app-level ping', () => {
  it('answers a ping frame with a pong carrying the same ts and ref', async () => {
    const fx = await harness.start();
    const client = await harness.connectAs(fx, 'alice');

    client.send({ type: 'ping', ts: 1_700_000_000_123, ref: 'hb' });
    const pong = await client.nextFrame('pong');

    expect(pong).toEqual({ type: 'pong', ts: 1_700_000_000_123, ref: 'hb' });
  });

  it('answers a ping frame without ts with a pong without ts', async () => {
    const fx = await harness.start();
    const client = await harness.connectAs(fx, 'alice');

    client.send({ type: 'ping' });
    const pong = await client.nextFrame('pong');

    expect(pong).toEqual({ type: 'pong' });
  });
});
