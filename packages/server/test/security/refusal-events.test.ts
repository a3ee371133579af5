import { CloseCode, type RefusedEvent, type UpgradeRequestLike } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { TOKEN_PREFIX, tokenFor, useHarness } from '../helpers/harness.js';
import {
  describeCost,
  expectBounded,
  exposeGc,
  footprint,
  openConnections,
  startControl,
  waitForConnections,
} from './guard.js';
import { expectNoMarker, MARKER, markerLogger } from './marker.js';
import { rawUpgrade } from './raw-ws.js';

/**
 * Issue 10, visibility: every refused origin, refused upgrade (limits, bad path), rate-limit close
 * and bad-frame close is a `refused` event and a `debug` log line, with the client address and the
 * origin, and without tokens or what the client sent.
 */

exposeGc();
const PATH = '/v1/ws/notifications';
const clientAddress = (req: UpgradeRequestLike): string | undefined => {
  const value = req.headers['x-test-client'];
  return typeof value === 'string' ? value : req.remoteAddress;
};

describe('refusals', () => {
  const harness = useHarness();

  it('are each reported once, as an event and a debug line, with address and origin and nothing secret', async () => {
    const logger = markerLogger();
    const fx = await harness.start({
      logger,
      clientAddress,
      allowedOrigins: ['https://portal.example'],
      maxUpgradesPerSecondPerAddress: 1,
      maxFrameBytes: 4_096,
    });
    const refused = harness.record(fx, 'refused');
    const control = await startControl(harness, fx);
    const baseline = await openConnections(fx.server);
    const before = await footprint();
    const secret = { authorization: `Bearer ${tokenFor(MARKER)}` };
    const from = (n: number, origin = 'https://portal.example') => ({ 'x-test-client': `192.0.2.${n}`, origin });

    // Before the upgrade: a foreign origin, an unknown path, an address over its upgrade rate.
    const origin = await rawUpgrade(fx.port, PATH, { ...secret, ...from(1, `https://${MARKER}.evil.example`) });
    const path = await rawUpgrade(fx.port, `/${MARKER}`, { ...secret, ...from(2) });
    const burst = [];
    for (let i = 0; i < 3; i++) burst.push(await rawUpgrade(fx.port, PATH, from(3)));
    for (const r of burst) r.socket.destroy();
    // After it: over the frame rate, malformed frames, too much before authenticating, a frame too large.
    const flooder = harness.connect(fx, { token: tokenFor('flooder'), headers: from(4) });
    await flooder.nextFrame('authenticated');
    for (let i = 0; i < 60; i++) flooder.send({ type: 'ping', ref: `${MARKER}${i}` });
    const garbler = harness.connect(fx, { token: tokenFor('garbler'), headers: from(5) });
    await garbler.nextFrame('authenticated');
    for (let i = 0; i < 10; i++) garbler.sendText(`{"type":"${MARKER}"`);
    const early = harness.connect(fx, { headers: from(6) });
    await early.nextFrame('welcome');
    for (let i = 0; i < 9; i++) early.send({ type: 'ping' });
    const large = harness.connect(fx, { token: tokenFor('large'), headers: from(7) });
    await large.nextFrame('authenticated');
    large.sendText(JSON.stringify({ type: 'ping', ref: MARKER.repeat(400) }));
    const closes = await Promise.all([flooder, garbler, early, large].map((c) => c.waitClose(5_000)));
    await Promise.all([origin, path].map((r) => r.closed));
    await waitForConnections(fx.server, baseline);
    const { delivered } = await control.finish();
    const after = await footprint();

    expect([origin.status, path.status, ...burst.map((r) => r.status)]).toEqual([403, 404, 101, 101, 429]);
    expect(closes.map((c) => c.code)).toEqual([CloseCode.RateLimited, CloseCode.BadFrame, CloseCode.RateLimited, 1009]);
    const expected: RefusedEvent[] = [
      {
        stage: 'upgrade',
        reason: 'origin',
        status: 403,
        remoteAddress: '192.0.2.1',
        origin: `https://${MARKER}.evil.example`,
      },
      { stage: 'upgrade', reason: 'path', status: 404, remoteAddress: '192.0.2.2', origin: 'https://portal.example' },
      {
        stage: 'upgrade',
        reason: 'upgrade_rate',
        status: 429,
        remoteAddress: '192.0.2.3',
        origin: 'https://portal.example',
      },
    ];
    expect(refused.slice(0, 3)).toEqual(expected);
    const connection = refused
      .slice(3)
      .map((e) => (e.stage === 'connection' ? [e.reason, e.code, e.userId, e.remoteAddress, e.origin] : e));
    expect(connection).toEqual([
      ['rate_limited', 4429, 'flooder', '192.0.2.4', 'https://portal.example'],
      ['bad_frames', 4400, 'garbler', '192.0.2.5', 'https://portal.example'],
      ['pre_auth_limit', 4429, undefined, '192.0.2.6', 'https://portal.example'],
      ['frame_too_large', 1009, 'large', '192.0.2.7', 'https://portal.example'],
    ]);
    const lines = logger.lines.filter((l) => l.includes('refused'));
    expect(lines.filter((l) => l.startsWith('debug wardcast: upgrade refused'))).toHaveLength(3);
    expect(lines.filter((l) => l.startsWith('debug wardcast: connection refused'))).toHaveLength(4);
    for (const [i, e] of refused.entries()) expect(lines[i]).toContain(`"remoteAddress":"${e.remoteAddress}"`);
    // The origin is reported (it is what was refused); tokens, paths and frames never are.
    const withoutOrigins = logger.lines.join('\n').replaceAll(`https://${MARKER}.evil.example`, '');
    expectNoMarker(withoutOrigins, 'the logs');
    expect(logger.lines.join('\n')).not.toContain(TOKEN_PREFIX);
    expectBounded(before, after, { heapMiB: 8, rssMiB: 48 });
    console.log(
      describeCost(
        'refusal visibility',
        before,
        after,
        `${refused.length} refusals (${refused.map((e) => e.reason).join(', ')}), ${lines.length} debug lines, no token or frame in them; control got ${delivered}`,
      ),
    );
  });
});
