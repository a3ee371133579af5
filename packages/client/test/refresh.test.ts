import { describe, expect, it } from 'vitest';
import { eventually, sleep, tokenFor, useFixtures } from './helpers/fixtures.js';

const f = useFixtures();

describe('token refresh', () => {
  it('re-authenticates in-band before the token expires and keeps the socket open past the expiry', async () => {
    const lifetimeMs = 1_500;
    const graceMs = 300;
    const server = await f.hub({
      tokenExpiryGraceMs: graceMs,
      authenticate: ({ token }) =>
        token === tokenFor('u1') ? { userId: 'u1', expiresAt: Date.now() + lifetimeMs } : null,
    });
    let tokenCalls = 0;
    const client = f.client({
      url: server.url,
      token: () => {
        tokenCalls++;
        return tokenFor('u1');
      },
      // Refresh 1 s before expiry: about 0.5 s after connecting, well inside the hub's deadline.
      refreshLeewayMs: 1_000,
    });
    await eventually(() => client.status.state === 'open', 'the client authenticated');
    const firstAuth = server.events.authenticated[0];
    const originalExpiry = firstAuth?.expiresAt ?? 0;
    expect(originalExpiry).toBeGreaterThan(Date.now());
    const sessionId = client.status.state === 'open' ? client.status.sessionId : '';

    await eventually(
      () => server.events.authenticated.some((e) => e.refresh),
      'the client refreshed its token',
      lifetimeMs + graceMs,
    );
    // Wait until the hub would have closed the socket (4419) had the token not been refreshed.
    await sleep(originalExpiry + graceMs + 200 - Date.now());

    expect(server.events.connection).toHaveLength(1);
    expect(server.events.disconnect).toEqual([]);
    const refresh = server.events.authenticated.find((e) => e.refresh);
    expect(refresh).toMatchObject({ sessionId: firstAuth?.sessionId, userId: 'u1', refresh: true });
    expect(refresh?.expiresAt).toBeGreaterThan(originalExpiry);
    expect(tokenCalls).toBeGreaterThanOrEqual(2);
    expect(client.status).toMatchObject({ state: 'open', sessionId });
  });

  it('is closed by the hub with 4419 when the token expired, and reconnects with a fresh one', async () => {
    const server = await f.hub({
      tokenExpiryGraceMs: 1,
      // Already expired when it is issued: the hub closes the socket right after authenticating it.
      authenticate: ({ token }) => (token === tokenFor('u1') ? { userId: 'u1', expiresAt: Date.now() - 1_000 } : null),
    });
    const client = f.client({ url: server.url });
    const reasons: number[] = [];
    client.on('status', (s) => {
      if (s.state === 'reconnecting') reasons.push(s.lastClose.code);
    });
    await eventually(() => reasons.length > 0, 'the hub closed the expired connection');
    expect(reasons[0]).toBe(4419);
    await eventually(() => server.events.authenticated.length >= 2, 'the client reconnected with a fresh token');
  });
});
