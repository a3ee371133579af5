import type { CloseInfo } from '@wardcast/client';
import { describe, expect, it } from 'vitest';
import { eventually, record, sleep, states, useFixtures } from './helpers/fixtures.js';

const f = useFixtures();

describe('fatal close codes', () => {
  it('stops for good with 4401 when the hub rejects the token', async () => {
    const server = await f.hub({ authenticate: () => null });
    const client = f.client({ url: server.url, token: 'not-a-valid-token', autoConnect: false });
    const log = record(client);
    client.connect();

    await eventually(() => client.status.state === 'closed', 'the client gave up');
    expect(client.status).toEqual({
      state: 'closed',
      reason: { code: 4401, reason: 'unauthorized', fatal: true },
    });
    expect(log.errors.map((e) => e.code)).toContain('auth_failed');

    // With a 20 ms backoff a retrying client would have come back several times by now.
    await sleep(400);
    expect(server.events.connection).toHaveLength(1);
    expect(states(log)).toEqual(['connecting', 'closed']);
  });

  it('stops for good with 4410 when the hub revokes the session', async () => {
    const server = await f.hub();
    const client = f.client({ url: server.url });
    await eventually(() => client.status.state === 'open', 'the client is open');

    expect(server.hub.disconnectUser('u1')).toBe(1);
    await eventually(() => client.status.state === 'closed', 'the client gave up');
    expect(client.status).toMatchObject({ state: 'closed', reason: { code: 4410, fatal: true } });

    await sleep(400);
    expect(server.events.connection).toHaveLength(1);
    expect(client.status.state).toBe('closed');
  });
});

describe('retryable close codes', () => {
  it('reconnects after the hub shuts down with 4503', async () => {
    const server = await f.hub();
    const client = f.client({ url: server.url });
    const log = record(client);
    await eventually(() => client.status.state === 'open', 'the client is open');

    await server.hub.close();
    await eventually(() => log.statuses.some((s) => s.state === 'reconnecting'), 'the client is reconnecting');
    const reconnecting = log.statuses.find((s) => s.state === 'reconnecting');
    expect(reconnecting).toMatchObject({
      state: 'reconnecting',
      attempt: 1,
      lastClose: { code: 4503, reason: 'server shutting down' },
    });
    // It keeps trying (the closed hub answers upgrades with 503) instead of giving up.
    await eventually(
      () => log.statuses.filter((s) => s.state === 'connecting').length >= 3,
      'the client made more attempts',
    );
    expect(log.statuses.some((s) => s.state === 'closed')).toBe(false);
  });

  it('reconnects to the same hub after an abnormal drop', async () => {
    const server = await f.hub();
    const client = f.client({ url: server.url });
    await eventually(() => client.status.state === 'open', 'the client is open');

    server.dropConnections();
    await eventually(() => server.events.authenticated.length === 2, 'the client came back');
    await eventually(() => client.status.state === 'open', 'the client is open again');
    expect(server.events.disconnect).toHaveLength(1);
  });

  it('follows a custom shouldRetry that refuses a normally retryable code', async () => {
    const server = await f.hub();
    const seen: CloseInfo[] = [];
    const client = f.client({
      url: server.url,
      shouldRetry: (close) => {
        seen.push(close);
        return close.code !== 4503;
      },
    });
    await eventually(() => client.status.state === 'open', 'the client is open');

    await server.hub.close();
    await eventually(() => client.status.state === 'closed', 'the client gave up');
    expect(seen).toEqual([{ code: 4503, reason: 'server shutting down' }]);
    expect(client.status).toMatchObject({ state: 'closed', reason: { code: 4503, fatal: true } });
  });
});
