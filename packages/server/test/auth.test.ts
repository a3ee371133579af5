import type { AuthContext, Authenticate, Principal } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { bearer, principalOf, TOKEN_PREFIX, tokenFor, useHarness, waitForEvent } from './helpers/harness.js';

const harness = useHarness();

/** An `authenticate` that maps tokens to principals through a table the test fills in. */
function tableAuth(table: Map<string, Principal>): Authenticate {
  return ({ request, token }) => table.get(token ?? bearer(request.headers.authorization) ?? '') ?? null;
}

describe('authentication from the upgrade request', () => {
  it('authenticates a connection from the authorization header of the upgrade request', async () => {
    const seen: AuthContext[] = [];
    const fx = await harness.start({
      authenticate: (ctx) => {
        seen.push(ctx);
        return principalOf(bearer(ctx.request.headers.authorization));
      },
    });
    const client = harness.connect(fx, { token: tokenFor('alice') });

    const welcome = await client.nextFrame('welcome');
    const authenticated = await client.nextFrame('authenticated');

    expect(welcome.authenticated).toBe(true);
    expect(authenticated.userId).toBe('alice');
    expect(seen[0]?.request.headers.authorization).toBe(`Bearer ${tokenFor('alice')}`);
    expect(seen[0]?.token).toBeUndefined();
    expect(fx.hub.connections().map((c) => c.userId)).toEqual(['alice']);
  });

  it('treats an authenticate that throws on the upgrade request as no credentials and waits for a token', async () => {
    const fx = await harness.start({
      authenticate: ({ token }) => {
        if (token === undefined) throw new Error('header parser exploded');
        return principalOf(token);
      },
    });
    const client = harness.connect(fx, { token: tokenFor('alice') });

    const welcome = await client.nextFrame('welcome');
    client.send({ type: 'auth', token: tokenFor('alice') });
    const authenticated = await client.nextFrame('authenticated');

    expect(welcome.authenticated).toBe(false);
    expect(authenticated.userId).toBe('alice');
  });
});

describe('authentication with an auth frame', () => {
  it('sends a welcome with authenticated: false when the upgrade request carries no credentials', async () => {
    const fx = await harness.start();
    const client = harness.connect(fx);

    const welcome = await client.nextFrame('welcome');

    expect(welcome.authenticated).toBe(false);
    expect(welcome.protocol).toBe(1);
    expect(fx.hub.stats().authenticatedConnections).toBe(0);
  });

  it('authenticates a connection whose first frame is an auth frame with a valid token, echoing its ref', async () => {
    const fx = await harness.start();
    const client = harness.connect(fx);
    await client.nextFrame('welcome');

    client.send({ type: 'auth', token: tokenFor('bob'), ref: 'login-1' });
    const authenticated = await client.nextFrame('authenticated');

    expect(authenticated).toEqual({ type: 'authenticated', userId: 'bob', ref: 'login-1' });
    expect(fx.hub.stats().authenticatedConnections).toBe(1);
  });

  it('closes a socket that has not authenticated within authTimeoutMs with 4408', async () => {
    const fx = await harness.start({ authTimeoutMs: 200 });
    const client = harness.connect(fx);
    await client.nextFrame('welcome');

    const { code } = await client.waitClose();

    expect(code).toBe(4408);
  });

  it('does not close an authenticated socket when authTimeoutMs passes', async () => {
    const fx = await harness.start({ authTimeoutMs: 500 });
    const late = harness.connect(fx, { label: 'unauthenticated' });
    const client = harness.connect(fx);
    await client.nextFrame('welcome');
    client.send({ type: 'auth', token: tokenFor('alice') });
    await client.nextFrame('authenticated');

    // The unauthenticated socket opened at the same time: once it is gone, the timeout has passed.
    expect((await late.waitClose()).code).toBe(4408);
    await client.roundTrip();

    expect(client.closeInfo).toBeUndefined();
  });

  it('answers an invalid token with an auth_failed error frame and closes with 4401', async () => {
    const fx = await harness.start();
    const client = harness.connect(fx);
    await client.nextFrame('welcome');

    client.send({ type: 'auth', token: 'not-a-valid-token', ref: 'a1' });
    const error = await client.nextFrame('error');
    const { code } = await client.waitClose();

    expect(error).toMatchObject({ code: 'auth_failed', ref: 'a1' });
    expect(code).toBe(4401);
    expect(fx.hub.stats().drops.authFailures).toBe(1);
  });

  it('closes with 4401 a socket that sends a frame other than auth before authenticating', async () => {
    const fx = await harness.start();
    const client = harness.connect(fx);
    await client.nextFrame('welcome');

    client.send({ type: 'subscribe', ref: 's1', topics: [{ topic: 'user:alice' }] });
    const error = await client.nextFrame('error');
    const { code } = await client.waitClose();

    expect(error).toMatchObject({ code: 'not_authenticated', ref: 's1' });
    expect(code).toBe(4401);
    expect(client.framesOf('subscribed')).toEqual([]);
  });

  it('answers an app-level ping before authentication without closing', async () => {
    const fx = await harness.start();
    const client = harness.connect(fx);
    await client.nextFrame('welcome');

    client.send({ type: 'ping', ts: 42 });
    const pong = await client.nextFrame('pong');

    expect(pong.ts).toBe(42);
    expect(client.closeInfo).toBeUndefined();
  });

  it('rejects a principal with an empty userId as a failed authentication', async () => {
    const fx = await harness.start({ authenticate: ({ token }) => (token ? { userId: '' } : null) });
    const client = harness.connect(fx);
    await client.nextFrame('welcome');

    client.send({ type: 'auth', token: 'anything' });
    const error = await client.nextFrame('error');

    expect(error.code).toBe('auth_failed');
    expect((await client.waitClose()).code).toBe(4401);
  });

  it('treats an authenticate that throws as a failed authentication and keeps serving other connections', async () => {
    const fx = await harness.start({
      authenticate: async ({ token }) => {
        if (token === 'boom') throw new Error('identity provider down');
        return principalOf(token);
      },
    });
    const errors = harness.record(fx, 'error');
    const broken = harness.connect(fx, { label: 'broken' });
    await broken.nextFrame('welcome');

    broken.send({ type: 'auth', token: 'boom' });
    const error = await broken.nextFrame('error');
    const { code } = await broken.waitClose();
    const healthy = harness.connect(fx, { label: 'healthy' });
    await healthy.nextFrame('welcome');
    healthy.send({ type: 'auth', token: tokenFor('carol') });
    const authenticated = await healthy.nextFrame('authenticated');

    expect(error.code).toBe('auth_failed');
    expect(code).toBe(4401);
    expect(errors.map((e) => e.code)).toEqual(['auth_failed']);
    expect(authenticated.userId).toBe('carol');
  });
});

describe('token expiry', () => {
  it('closes with 4419 a connection whose principal expired, once tokenExpiryGraceMs has passed', async () => {
    const expiresAt = Date.now() + 150;
    const fx = await harness.start({
      tokenExpiryGraceMs: 50,
      authenticate: tableAuth(new Map([[tokenFor('alice'), { userId: 'alice', expiresAt }]])),
    });
    const client = harness.connect(fx, { token: tokenFor('alice') });
    const authenticated = await client.nextFrame('authenticated');

    const { code } = await client.waitClose();

    expect(authenticated.expiresAt).toBe(expiresAt);
    expect(code).toBe(4419);
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
  });

  it('closes with 4419 right away a principal whose expiresAt is already past the grace period', async () => {
    const fx = await harness.start({
      tokenExpiryGraceMs: 50,
      authenticate: tableAuth(new Map([[tokenFor('alice'), { userId: 'alice', expiresAt: Date.now() - 60_000 }]])),
    });
    const client = harness.connect(fx, { token: tokenFor('alice') });

    const { code } = await client.waitClose();

    expect(code).toBe(4419);
  });

  it('keeps a connection open past its old deadline after an in-band re-auth with a later expiresAt', async () => {
    const oldExpiry = Date.now() + 800;
    const table = new Map<string, Principal>([
      ['short', { userId: 'alice', expiresAt: oldExpiry }],
      ['long', { userId: 'alice', expiresAt: Date.now() + 60_000 }],
    ]);
    const fx = await harness.start({ tokenExpiryGraceMs: 50, authenticate: tableAuth(table) });
    const refreshed = harness.connect(fx, { token: 'short', label: 'refreshed' });
    const control = harness.connect(fx, { token: 'short', label: 'control' });
    await refreshed.nextFrame('authenticated');
    await control.nextFrame('authenticated');

    refreshed.send({ type: 'auth', token: 'long', ref: 'refresh' });
    await refreshed.nextFrame('authenticated', (f) => f.ref === 'refresh');
    // The control connection shares the old deadline: once it is closed, the deadline has passed.
    const controlClose = await control.waitClose();
    await refreshed.roundTrip();

    expect(controlClose.code).toBe(4419);
    expect(refreshed.closeInfo).toBeUndefined();
  });

  it('answers an in-band re-auth with an authenticated frame carrying the new expiresAt', async () => {
    const later = Date.now() + 120_000;
    const table = new Map<string, Principal>([
      ['first', { userId: 'alice', expiresAt: Date.now() + 60_000 }],
      ['second', { userId: 'alice', expiresAt: later }],
    ]);
    const fx = await harness.start({ authenticate: tableAuth(table) });
    const refreshes = harness.record(fx, 'authenticated');
    const client = harness.connect(fx, { token: 'first' });
    await client.nextFrame('authenticated');

    client.send({ type: 'auth', token: 'second', ref: 'r' });
    const frame = await client.nextFrame('authenticated', (f) => f.ref === 'r');

    expect(frame).toEqual({ type: 'authenticated', userId: 'alice', expiresAt: later, ref: 'r' });
    expect(refreshes.map((e) => e.refresh)).toEqual([false, true]);
  });

  it('keeps an authenticated connection open when an in-band re-auth fails, answering auth_failed', async () => {
    const fx = await harness.start();
    const client = await harness.connectAs(fx, 'alice');

    client.send({ type: 'auth', token: 'garbage', ref: 'bad-refresh' });
    const error = await client.nextFrame('error');
    await client.roundTrip();

    expect(error).toMatchObject({ code: 'auth_failed', ref: 'bad-refresh' });
    expect(client.closeInfo).toBeUndefined();
  });

  it('closes with 4403 a connection that re-authenticates as a different user', async () => {
    const fx = await harness.start();
    const client = await harness.connectAs(fx, 'alice');

    client.send({ type: 'auth', token: tokenFor('mallory') });
    const error = await client.nextFrame('error');
    const { code } = await client.waitClose();

    expect(error.code).toBe('auth_user_mismatch');
    expect(code).toBe(4403);
  });

  it('reports the disconnect of an expired connection with its user id and code 4419', async () => {
    const fx = await harness.start({
      tokenExpiryGraceMs: 20,
      authenticate: tableAuth(new Map([[tokenFor('alice'), { userId: 'alice', expiresAt: Date.now() + 50 }]])),
    });
    const disconnect = waitForEvent(fx.hub, 'disconnect');
    harness.connect(fx, { token: tokenFor('alice') });

    const event = await disconnect;

    expect(event).toMatchObject({ userId: 'alice', code: 4419 });
    expect(JSON.stringify(event)).not.toContain(TOKEN_PREFIX);
  });
});
