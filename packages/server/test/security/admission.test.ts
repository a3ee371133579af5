import { DEFAULT_LIMITS, type UpgradeRequestLike } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { Admission, addressKey, isDenied } from '../../src/core/admission.js';
import { eventually, testAuthenticate, tokenFor, useHarness } from '../helpers/harness.js';
import {
  describeCost,
  expectBounded,
  exposeGc,
  footprint,
  openConnections,
  startControl,
  waitForConnections,
} from './guard.js';
import { type RawSocket, rawUpgrade } from './raw-ws.js';

/**
 * Issue 10, limits before authentication: total connections (503), unauthenticated connections per
 * client address (429) and upgrade rate per address (429 with Retry-After), all refused before the
 * upgrade; the client address comes from the `clientAddress` hook (here a test header standing for
 * a proxy's X-Forwarded-For), and the per-address state stays bounded.
 */

exposeGc();
const PATH = '/v1/ws/notifications';

/** Test hook: the address a trusted proxy would report, in `x-test-client`. */
const clientAddress = (req: UpgradeRequestLike): string | undefined => {
  const value = req.headers['x-test-client'];
  return typeof value === 'string' ? value : req.remoteAddress;
};

function retryAfter(raw: RawSocket): number | undefined {
  const match = /\r\nretry-after: (\d+)/.exec(raw.head);
  return match ? Number(match[1]) : undefined;
}

/** Stalls `authenticate` for requests with `x-stall` until `release()`. */
function stallingAuthenticate() {
  let release: () => void = () => {};
  const stalled = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    release: () => release(),
    authenticate: async (ctx: Parameters<typeof testAuthenticate>[0]) => {
      if (ctx.request.headers['x-stall'] !== undefined) await stalled;
      return testAuthenticate(ctx);
    },
  };
}

describe('admission before the upgrade', () => {
  const harness = useHarness();

  it('refuses upgrades past maxConnections with 503 and Retry-After', async () => {
    const fx = await harness.start({ maxConnections: 6, clientAddress });
    const refused = harness.record(fx, 'refused');
    const control = await startControl(harness, fx);
    const baseline = await openConnections(fx.server);
    const before = await footprint();

    // Five authenticated connections from five addresses fill the hub (the control holds the sixth).
    const held = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        rawUpgrade(fx.port, PATH, { 'x-test-client': `10.0.1.${i}`, authorization: `Bearer ${tokenFor(`u${i}`)}` }),
      ),
    );
    const extra = await Promise.all(
      Array.from({ length: 10 }, (_, i) => rawUpgrade(fx.port, PATH, { 'x-test-client': `10.0.2.${i}` })),
    );
    await Promise.all(extra.map((r) => r.closed));
    // One closes: a new upgrade gets in.
    held[0]?.socket.destroy();
    await eventually(() => fx.hub.stats().connections === 5, 'the hub freed the closed connection');
    const again = await rawUpgrade(fx.port, PATH, { 'x-test-client': '10.0.3.1' });
    for (const r of [...held, again]) r.socket.destroy();
    await waitForConnections(fx.server, baseline);
    const { delivered } = await control.finish();
    const after = await footprint();

    expect(held.map((r) => r.status)).toEqual(Array(5).fill(101));
    expect(extra.map((r) => r.status)).toEqual(Array(10).fill(503));
    expect(extra.map(retryAfter)).toEqual(Array(10).fill(5));
    expect(again.status).toBe(101);
    expect(refused.map((e) => e.reason)).toEqual(Array(10).fill('too_many_connections'));
    expectBounded(before, after, { heapMiB: 8, rssMiB: 48 });
    console.log(
      describeCost(
        'maxConnections 6',
        before,
        after,
        `10 upgrades past it got 503 Retry-After 5; control got ${delivered}`,
      ),
    );
  });

  it('refuses a client address more than maxUnauthenticatedPerAddress connections still authenticating, with 429', async () => {
    const stall = stallingAuthenticate();
    const fx = await harness.start({
      authenticate: stall.authenticate,
      maxUnauthenticatedPerAddress: 4,
      clientAddress,
    });
    const refused = harness.record(fx, 'refused');
    const control = await startControl(harness, fx);
    const baseline = await openConnections(fx.server);
    const before = await footprint();

    const attacker = { 'x-test-client': '203.0.113.7', 'x-stall': '1' };
    const pending = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        rawUpgrade(fx.port, PATH, { ...attacker, authorization: `Bearer ${tokenFor(`stalled-${i}`)}` }),
      ),
    );
    const over = await Promise.all(Array.from({ length: 20 }, () => rawUpgrade(fx.port, PATH, attacker)));
    // Another address is not affected; an authenticated connection from the attacker's address
    // does not count (the limit is on connections still authenticating).
    const neighbour = harness.connect(fx, {
      token: tokenFor('neighbour'),
      headers: { 'x-test-client': '203.0.113.8' },
    });
    await neighbour.nextFrame('authenticated');
    stall.release();
    // Once they authenticate they no longer count: the address may open more.
    await eventually(() => fx.hub.stats().users === 6, 'the stalled ones authenticated');
    const later = await rawUpgrade(fx.port, PATH, { 'x-test-client': '203.0.113.7' });
    for (const r of [...pending, later]) r.socket.destroy();
    neighbour.ws.close();
    await waitForConnections(fx.server, baseline);
    const { delivered } = await control.finish();
    const after = await footprint();

    expect(pending.map((r) => r.status)).toEqual(Array(4).fill(101));
    expect(over.map((r) => r.status)).toEqual(Array(20).fill(429));
    expect(over.map(retryAfter)).toEqual(Array(20).fill(1));
    expect(later.status).toBe(101);
    expect(refused.every((e) => e.reason === 'too_many_unauthenticated' && e.remoteAddress === '203.0.113.7')).toBe(
      true,
    );
    expectBounded(before, after, { heapMiB: 8, rssMiB: 48 });
    console.log(
      describeCost(
        'maxUnauthenticatedPerAddress 4 against a stalled authenticate',
        before,
        after,
        `20 more from the address got 429, a neighbour address got in; control got ${delivered}`,
      ),
    );
  });

  it('refuses an address over maxUpgradesPerSecondPerAddress with 429 and a Retry-After', async () => {
    const fx = await harness.start({ maxUpgradesPerSecondPerAddress: 5, clientAddress });
    const refused = harness.record(fx, 'refused');
    const control = await startControl(harness, fx);
    const baseline = await openConnections(fx.server);
    const before = await footprint();

    const results = await Promise.all(
      Array.from({ length: 30 }, () => rawUpgrade(fx.port, PATH, { 'x-test-client': '198.51.100.9' })),
    );
    for (const r of results) r.socket.destroy();
    const other = await rawUpgrade(fx.port, PATH, { 'x-test-client': '198.51.100.10' });
    other.socket.destroy();
    await waitForConnections(fx.server, baseline);
    const { delivered } = await control.finish();
    const after = await footprint();

    const statuses = results.map((r) => r.status);
    const accepted = statuses.filter((s) => s === 101).length;
    // A burst of twice the rate, plus what refilled while the 30 requests arrived.
    expect(accepted).toBeGreaterThanOrEqual(10);
    expect(accepted).toBeLessThan(20);
    expect(statuses.filter((x) => x !== 101 && x !== 429)).toEqual([]);
    for (const r of results.filter((x) => x.status === 429)) expect(retryAfter(r)).toBeGreaterThanOrEqual(1);
    expect(other.status).toBe(101);
    expect(refused.filter((e) => e.reason === 'upgrade_rate')).toHaveLength(30 - accepted);
    expectBounded(before, after, { heapMiB: 8, rssMiB: 48 });
    console.log(
      describeCost(
        'maxUpgradesPerSecondPerAddress 5',
        before,
        after,
        `${accepted} of 30 back-to-back upgrades accepted, ${30 - accepted} got 429; control got ${delivered}`,
      ),
    );
  });

  it('keeps per-address state bounded whatever the number of addresses', async () => {
    const fx = await harness.start({ maxTrackedAddresses: 1_000, clientAddress });
    const control = await startControl(harness, fx);
    const before = await footprint();
    // Through the hub: 100,000 upgrade decisions from distinct addresses, 100 pending at a time.
    const held = [];
    for (let i = 0; i < 100_000; i++) {
      const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      const verdict = fx.hub.admit({ headers: { 'x-test-client': address }, url: PATH, remoteAddress: '127.0.0.1' });
      if (!verdict.ok) throw new Error(`refused ${address}: ${verdict.status}`);
      held.push(verdict.ticket);
      if (held.length > 100) held.shift()?.release();
      if (i % 10_000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    for (const t of held) t.release();
    const { delivered } = await control.finish();
    const after = await footprint();
    // The same sequence on the class itself, to read its state.
    const admission = new Admission({ ...DEFAULT_LIMITS, maxTrackedAddresses: 1_000 });
    const tickets = [];
    let maxTracked = 0;
    for (let i = 0; i < 100_000; i++) {
      const key = addressKey(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
      admission.throttle(key);
      const ticket = admission.acquire(key);
      if (isDenied(ticket)) throw new Error('refused');
      tickets.push(ticket);
      if (tickets.length > 100) tickets.shift()?.release();
      maxTracked = Math.max(maxTracked, admission.trackedAddresses);
    }
    const pendingAddresses = admission.unauthenticatedAddresses;
    for (const t of tickets) t.release();

    expect(maxTracked).toBeLessThanOrEqual(1_000);
    expect(pendingAddresses).toBe(100);
    expect(admission.unauthenticatedAddresses).toBe(0);
    expect(admission.open).toBe(0);
    expect(addressKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe(addressKey('2001:0db8:0001:0002:ffff:1:2:3'));
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expectBounded(before, after, { heapMiB: 8, rssMiB: 64 });
    console.log(
      describeCost(
        'per-address state',
        before,
        after,
        `100,000 addresses: at most ${maxTracked} rate buckets (cap 1,000), ${pendingAddresses} pending entries for 100 pending connections; control got ${delivered}`,
      ),
    );
  });
});
