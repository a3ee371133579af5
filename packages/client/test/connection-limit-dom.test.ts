// A DOM for the online and visibility events (see helpers/dom.ts). Keep it the first import.
import './helpers/dom.js';
import { MemoryBroker } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { eventually, tokenFor, useFixtures } from './helpers/fixtures.js';

const f = useFixtures();

describe('connection limit (4430) in a browser', () => {
  it('does not cut the retryAfterMs wait short when the browser comes online or the tab becomes visible', async () => {
    const hint = 1_200;
    const broker = Object.assign(new MemoryBroker(), { connectionRetryAfterMs: hint });
    const server = await f.hub({ maxConnectionsPerUser: 1, broker });
    const first = f.client({ url: server.url, token: tokenFor('u1') });
    await eventually(() => first.status.state === 'open', 'the first tab is open');

    const second = f.client({ url: server.url, token: tokenFor('u1') });
    second.on('error', () => {});
    let refusedAt = 0;
    let retriedAt = 0;
    second.on('status', (s) => {
      if (s.state === 'reconnecting' && s.lastClose.code === 4430 && refusedAt === 0) refusedAt = Date.now();
      if (s.state === 'connecting' && refusedAt > 0 && retriedAt === 0) retriedAt = Date.now();
    });
    await eventually(() => refusedAt > 0, 'the second tab was refused', 10_000);
    first.close();

    // Both would reconnect at once after an ordinary drop.
    window.dispatchEvent(new window.Event('online'));
    document.dispatchEvent(new window.Event('visibilitychange'));

    await eventually(() => second.status.state === 'open', 'the second tab got in', 10_000);
    const waited = retriedAt - refusedAt;
    console.log(`4430 retry in a browser: hint ${hint} ms, waited ${waited} ms despite online + visibilitychange`);
    expect(waited).toBeGreaterThanOrEqual(hint - 5);
  });
});
