import { CloseCode, type RefusedEvent } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { eventually, testAuthenticate, useHarness } from '../helpers/harness.js';
import {
  describeCost,
  expectBounded,
  exposeGc,
  footprint,
  openConnections,
  sampleHeap,
  startControl,
  waitForConnections,
} from './guard.js';
import { blast, maskedTextFrame, rawUpgrade } from './raw-ws.js';

/**
 * Issue 10, defect 1: while the upgrade-time `authenticate` runs, frames used to be chained in
 * memory without any cap (64-170 MB sent in 1-2 s raised the heap by as much). Now the rate and
 * pre-auth budgets apply from the first frame, and the socket is closed with 4429 past them.
 */

exposeGc();
const MiB = 1024 * 1024;

describe('before welcome', () => {
  const harness = useHarness();

  it('closes a socket that floods frames while authenticate is stalled, holding none of them', async () => {
    let release: () => void = () => {};
    const stalled = new Promise<void>((resolve) => {
      release = resolve;
    });
    const fx = await harness.start({
      // A stalled session store for the attackers; the control client authenticates at once.
      authenticate: async (ctx) => {
        if (ctx.request.headers['x-attacker'] !== undefined) {
          await stalled;
          return null;
        }
        return testAuthenticate(ctx);
      },
      authTimeoutMs: 15_000,
    });
    const refused = harness.record(fx, 'refused');
    const control = await startControl(harness, fx);
    const baseline = await openConnections(fx.server);
    const before = await footprint();
    const peak = sampleHeap();

    // Up to 48 MiB in 60 KiB frames over as many sockets as it takes; each writes until the hub
    // destroys it (it ignores the close frame and keeps writing, as an attacker would).
    const frame = maskedTextFrame(60 * 1024);
    const codes: (number | undefined)[] = [];
    let sent = 0;
    const deadline = Date.now() + 12_000;
    for (let round = 0; sent < 48 * MiB && Date.now() < deadline && round < 100; round++) {
      const attackers = await Promise.all(
        Array.from({ length: 4 }, () => rawUpgrade(fx.port, '/v1/ws/notifications', { 'x-attacker': '1' })),
      );
      for (const a of attackers) expect(a.status).toBe(101);
      const written = await Promise.all(attackers.map((a) => blast(a.socket, frame, 8 * MiB)));
      sent += written.reduce((x, y) => x + y, 0);
      codes.push(...(await Promise.all(attackers.map((a) => a.closeCode))));
      for (const a of attackers) a.socket.destroy();
      await Promise.all(attackers.map((a) => a.closed));
    }
    const peakHeap = peak.stop();
    const { delivered } = await control.finish();
    await eventually(() => refused.length >= codes.length, 'every attacker was reported');
    await waitForConnections(fx.server, baseline);
    release();
    const after = await footprint();

    expect(sent).toBeGreaterThanOrEqual(16 * MiB);
    expect(codes.every((c) => c === CloseCode.RateLimited)).toBe(true);
    const reasons = new Set(refused.map((e: RefusedEvent) => e.reason));
    expect([...reasons]).toEqual(['pre_auth_limit']);
    expect((peakHeap - before.heapUsed) / MiB, 'heap while the attack ran').toBeLessThan(40);
    expectBounded(before, after, { heapMiB: 16, rssMiB: 96 });
    console.log(
      describeCost(
        'pre-auth flood against a stalled authenticate',
        before,
        after,
        `${(sent / MiB).toFixed(0)} MiB sent over ${codes.length} sockets, all closed 4429; peak heap +${((peakHeap - before.heapUsed) / MiB).toFixed(1)} MiB; control got ${delivered}`,
      ),
    );
  });

  it('applies the frame rate from the first frame, closing with 4429 before any welcome', async () => {
    let release: () => void = () => {};
    const stalled = new Promise<void>((resolve) => {
      release = resolve;
    });
    const fx = await harness.start({
      authenticate: async (ctx) => {
        if (ctx.request.headers['x-attacker'] !== undefined) await stalled;
        return testAuthenticate(ctx);
      },
      // A pre-auth budget above the burst, so that the rate limit is what trips.
      maxPreAuthFrames: 1_000,
      maxPreAuthBytes: 1_000_000,
      maxFramesPerSecond: 20,
    });
    const refused = harness.record(fx, 'refused');
    const control = await startControl(harness, fx);
    const baseline = await openConnections(fx.server);
    const before = await footprint();

    const attackers = await Promise.all(
      Array.from({ length: 10 }, () => rawUpgrade(fx.port, '/v1/ws/notifications', { 'x-attacker': '1' })),
    );
    const ping = maskedTextFrame(20);
    const written = await Promise.all(attackers.map((a) => blast(a.socket, ping, ping.length * 500)));
    const codes = await Promise.all(attackers.map((a) => a.closeCode));
    for (const a of attackers) a.socket.destroy();
    await waitForConnections(fx.server, baseline);
    release();
    const { delivered } = await control.finish();
    const after = await footprint();

    expect(codes).toEqual(Array(10).fill(CloseCode.RateLimited));
    // The close frame is the only frame: nothing, not even an error, goes out before welcome.
    expect(attackers.map((a) => a.opcodes)).toEqual(Array(10).fill([8]));
    expect(refused.map((e) => e.reason)).toEqual(Array(10).fill('rate_limited'));
    expectBounded(before, after, { heapMiB: 8, rssMiB: 48 });
    console.log(
      describeCost(
        'pre-auth frame rate',
        before,
        after,
        `10 sockets x ${written[0]} bytes of pings before welcome: all closed 4429 (rate), no other frame; control got ${delivered}`,
      ),
    );
  });
});
