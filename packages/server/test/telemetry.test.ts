import type { Broker } from '@wardcast/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nextRef, type TestClient } from './helpers/client.js';
import { eventually, tick, useHarness } from './helpers/harness.js';

const harness = useHarness();
const INTERVAL = 100;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function optIn(client: TestClient, enabled = true): void {
  client.send({ type: 'telemetry', enabled, ref: nextRef() });
}

/** Records every `setInterval` with `ms` and whether it was cleared. */
function trackIntervals(ms: number): { created: number; live: () => number } {
  const handles = new Set<unknown>();
  const state = { created: 0, live: () => handles.size };
  const realSet = globalThis.setInterval;
  const realClear = globalThis.clearInterval;
  vi.spyOn(globalThis, 'setInterval').mockImplementation(((fn: () => void, delay?: number, ...args: unknown[]) => {
    const handle = realSet(fn, delay, ...args);
    if (delay === ms) {
      state.created++;
      handles.add(handle);
    }
    return handle;
  }) as typeof setInterval);
  vi.spyOn(globalThis, 'clearInterval').mockImplementation(((handle: Parameters<typeof clearInterval>[0]) => {
    handles.delete(handle);
    realClear(handle);
  }) as typeof clearInterval);
  return state;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('telemetry frames', () => {
  it('arrive at about the configured rate once a client opted in, with numbers in every field', async () => {
    const fx = await harness.start({ telemetryIntervalMs: INTERVAL });
    const client = await harness.connectAs(fx, 'alice');

    optIn(client);
    await sleep(600);
    const frames = client.framesOf('telemetry');

    expect(frames.length).toBeGreaterThanOrEqual(2);
    // At most one frame per interval (plus slack for a late first tick): never a burst.
    expect(frames.length).toBeLessThanOrEqual(8);
    for (const f of frames) {
      expect(f.rttMs === undefined || typeof f.rttMs === 'number').toBe(true);
      expect(f.connections).toBe(1);
      expect(Number.isFinite(f.eventLoopLagMs)).toBe(true);
      expect(f.eventLoopLagMs).toBeGreaterThanOrEqual(0);
      expect(f.broker).toBe('ok');
      expect(Math.abs(f.at - Date.now())).toBeLessThan(5_000);
    }
    expect(client.invalid).toEqual([]);
  });

  it('reports the WebSocket ping round trip once the connection answered a ping', async () => {
    const fx = await harness.start({ telemetryIntervalMs: INTERVAL, heartbeatIntervalMs: 50 });
    const client = await harness.connectAs(fx, 'alice');
    optIn(client);

    const frame = await client.nextFrame('telemetry', (f) => f.rttMs !== undefined);

    expect(frame.rttMs).toBeGreaterThanOrEqual(0);
    expect(frame.rttMs).toBeLessThan(1_000);
  });

  it('counts the connections of the instance', async () => {
    const fx = await harness.start({ telemetryIntervalMs: INTERVAL });
    const alice = await harness.connectAs(fx, 'alice');
    await harness.connectAs(fx, 'bob');
    await harness.connectAs(fx, 'bob');
    optIn(alice);

    expect((await alice.nextFrame('telemetry')).connections).toBe(3);
  });

  it('is sent only to connections that opted in', async () => {
    const fx = await harness.start({ telemetryIntervalMs: INTERVAL });
    const alice = await harness.connectAs(fx, 'alice');
    const bob = await harness.connectAs(fx, 'bob');
    optIn(alice);

    await alice.nextFrame('telemetry');
    await alice.nextFrame('telemetry');
    await bob.roundTrip();

    expect(bob.framesOf('telemetry')).toEqual([]);
  });

  it('stops after the client opts out', async () => {
    const fx = await harness.start({ telemetryIntervalMs: INTERVAL });
    const client = await harness.connectAs(fx, 'alice');
    optIn(client);
    await client.nextFrame('telemetry');

    optIn(client, false);
    await client.roundTrip();
    const count = client.framesOf('telemetry').length;
    await sleep(INTERVAL * 4);

    expect(client.framesOf('telemetry')).toHaveLength(count);
  });

  it("reports a broker's degraded health", async () => {
    const broker: Broker = { start() {}, publish() {}, health: () => 'degraded' };
    const fx = await harness.start({ telemetryIntervalMs: INTERVAL, broker });
    const client = await harness.connectAs(fx, 'alice');
    optIn(client);

    expect((await client.nextFrame('telemetry')).broker).toBe('degraded');
  });

  it('requires authentication first', async () => {
    const fx = await harness.start({ telemetryIntervalMs: INTERVAL });
    const client = harness.connect(fx);
    await client.nextFrame('welcome');

    optIn(client);

    expect(await client.nextFrame('error')).toMatchObject({ code: 'not_authenticated' });
    expect((await client.waitClose()).code).toBe(4401);
  });

  it('rejects an opt-in without a boolean enabled with bad_frame', async () => {
    const fx = await harness.start({ telemetryIntervalMs: INTERVAL });
    const client = await harness.connectAs(fx, 'alice');

    client.send({ type: 'telemetry', enabled: 'yes', ref: 'bad' });

    expect(await client.nextFrame('error')).toMatchObject({ code: 'bad_frame', ref: 'bad' });
  });
});

describe('the telemetry timer', () => {
  it('is one hub-wide interval, started with the first opt-in and cleared after the last opt-out', async () => {
    const ms = 97;
    const intervals = trackIntervals(ms);
    const fx = await harness.start({ telemetryIntervalMs: ms });
    const clients = [
      await harness.connectAs(fx, 'a'),
      await harness.connectAs(fx, 'b'),
      await harness.connectAs(fx, 'c'),
    ];
    expect(intervals.created).toBe(0);

    for (const c of clients) optIn(c);
    await Promise.all(clients.map((c) => c.roundTrip()));
    expect(intervals.created).toBe(1);
    expect(intervals.live()).toBe(1);

    optIn(clients[0] as TestClient, false);
    clients[1]?.ws.close();
    await clients[0]?.roundTrip();
    await eventually(() => fx.hub.stats().connections === 2, 'b was freed');
    expect(intervals.live()).toBe(1);

    clients[2]?.terminate();
    await eventually(() => fx.hub.stats().connections === 1, 'c was freed');
    expect(intervals.live()).toBe(0);
    expect(intervals.created).toBe(1);
  });

  it('leaves no timer behind after close', async () => {
    const ms = 93;
    const intervals = trackIntervals(ms);
    const fx = await harness.start({ telemetryIntervalMs: ms });
    const client = await harness.connectAs(fx, 'alice');
    optIn(client);
    await client.nextFrame('telemetry');
    expect(intervals.live()).toBe(1);

    await fx.hub.close();
    await tick();

    expect(intervals.live()).toBe(0);
  });

  it('rejects a non-positive telemetryIntervalMs', async () => {
    await expect(harness.start({ telemetryIntervalMs: 0 })).rejects.toThrow(/telemetryIntervalMs/);
  });
});
