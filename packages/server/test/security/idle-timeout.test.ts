import { CloseCode } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { eventually, useHarness } from '../helpers/harness.js';
import {
  describeCost,
  expectBounded,
  exposeGc,
  footprint,
  openConnections,
  startControl,
  waitForConnections,
} from './guard.js';

/**
 * Issue 10, idle timeout: an authenticated connection with no subscription that sends nothing is
 * closed with 4409 after `idleTimeoutMs`. Application pings and WebSocket pongs do not keep it;
 * a subscription does, and so do other frames.
 */

exposeGc();
const IDLE_MS = 1_500;

describe('idle authenticated connections', () => {
  const harness = useHarness();

  it('closes those with no subscription and no frames but pings with 4409, keeps the others', async () => {
    // Heartbeat pings every 400 ms: pongs flow the whole time and must not count.
    const fx = await harness.start({ idleTimeoutMs: IDLE_MS, heartbeatIntervalMs: 400 });
    const control = await startControl(harness, fx);
    const baseline = await openConnections(fx.server);
    const before = await footprint();

    const idle = await Promise.all(Array.from({ length: 10 }, (_, i) => harness.connectAs(fx, `idle-${i}`)));
    const openedAt = Date.now();
    const pinging = setInterval(() => {
      for (const c of idle) if (c.ws.readyState === c.ws.OPEN) c.send({ type: 'ping' });
    }, 100);
    const subscribed = await harness.subscriber(fx, 'busy', ['user:busy']);
    // Sends a frame (a telemetry opt-out) every 100 ms, subscribed to nothing.
    const chatty = await harness.connectAs(fx, 'chatty');
    const chatter = setInterval(() => chatty.send({ type: 'telemetry', enabled: false }), 100);
    const closes = await Promise.all(idle.map((c) => c.waitClose(IDLE_MS * 6)));
    const closedAfterMs = Date.now() - openedAt;
    clearInterval(pinging);
    // The subscribed and the chatty one outlive another idle period and a half.
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS * 1.5));
    clearInterval(chatter);
    const survivors = [subscribed, chatty].map((c) => c.closeInfo);
    subscribed.ws.close();
    chatty.ws.close();
    await eventually(() => fx.hub.stats().connections === 1, 'only the control is left', 10_000);
    await waitForConnections(fx.server, baseline);
    const { delivered } = await control.finish();
    const after = await footprint();

    expect(closes.map((c) => c.code)).toEqual(Array(10).fill(CloseCode.IdleTimeout));
    expect(closedAfterMs).toBeGreaterThanOrEqual(IDLE_MS - 50);
    expect(survivors).toEqual([undefined, undefined]);
    expectBounded(before, after, { heapMiB: 8, rssMiB: 48 });
    console.log(
      describeCost(
        `idleTimeoutMs ${IDLE_MS}`,
        before,
        after,
        `10 pinging but unsubscribed connections closed 4409 after ${closedAfterMs} ms; subscribed and chatty ones kept; control got ${delivered}`,
      ),
    );
  });

  it('keeps idle connections open with idleTimeoutMs 0', async () => {
    const fx = await harness.start({ idleTimeoutMs: 0 });
    const control = await startControl(harness, fx);
    const before = await footprint();
    const quiet = await harness.connectAs(fx, 'quiet');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const state = quiet.closeInfo;
    quiet.ws.close();
    await quiet.waitClose();
    const { delivered } = await control.finish();
    const after = await footprint();

    expect(state).toBeUndefined();
    expectBounded(before, after, { heapMiB: 8, rssMiB: 48 });
    console.log(
      describeCost('idleTimeoutMs 0', before, after, `a silent connection stayed 500 ms; control got ${delivered}`),
    );
  });
});
