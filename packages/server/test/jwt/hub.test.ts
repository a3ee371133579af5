import { CloseCode, ErrorCode } from '@wardcast/server';
import {
  type JwtAuthenticatorOptions,
  type JwtRejection,
  JwtRejectReason,
  jwtAuthenticator,
} from '@wardcast/server/jwt';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestClient } from '../helpers/client.js';
import { type StartOptions, useHarness } from '../helpers/harness.js';
import {
  AUDIENCE,
  claimsFor,
  ISSUER,
  LinkedBroker,
  makeKey,
  nowSec,
  SECRET,
  type SigningKey,
  signHmac,
  signWith,
  startJwksServer,
} from './helpers.js';

const harness = useHarness();
let key: SigningKey;

beforeAll(async () => {
  key = await makeKey('hub-key', 'ES256');
});

/** Every reason string, to check that none reaches a client. */
const REASONS = Object.values(JwtRejectReason);

function expectNoLeak(client: TestClient, token: string): void {
  const seen = [...client.raw, client.closeInfo?.reason ?? ''].join('\n');
  expect(seen).not.toContain(token);
  expect(seen).not.toContain(token.split('.')[2]);
  for (const reason of REASONS) expect(seen).not.toContain(reason);
}

/** A hub whose `authenticate` is a jwtAuthenticator over a local JWKS server. */
async function jwksHub(extra: Partial<JwtAuthenticatorOptions> = {}, hub: StartOptions = {}) {
  const jwks = await startJwksServer([key]);
  const rejections: JwtRejection[] = [];
  const authenticate = jwtAuthenticator({
    jwks: jwks.url,
    issuer: ISSUER,
    audience: AUDIENCE,
    onReject: (r) => rejections.push(r),
    ...extra,
  });
  const fx = await harness.start({ authenticate, ...hub });
  return { fx, jwks, rejections };
}

describe('jwtAuthenticator behind a NotificationHub', () => {
  it('authenticates a connection from its bearer header, with expiresAt from exp', async () => {
    const { fx } = await jwksHub();
    const exp = nowSec() + 600;
    const token = await signWith(key, claimsFor('dr-lee', { exp }));

    const client = harness.connect(fx, { token });
    const welcome = await client.nextFrame('welcome');
    const authenticated = await client.nextFrame('authenticated');

    expect(welcome.authenticated).toBe(true);
    expect(authenticated).toMatchObject({ userId: 'dr-lee', expiresAt: exp * 1000 });
    expect(await client.subscribe(['user:dr-lee'])).toMatchObject([{ topic: 'user:dr-lee', status: 'ok' }]);
  });

  it('authenticates with an in-band auth frame, and with a configured cookie', async () => {
    const { fx } = await jwksHub({ cookie: 'wc_at' });
    const inBand = harness.connect(fx);
    expect((await inBand.nextFrame('welcome')).authenticated).toBe(false);
    inBand.send({ type: 'auth', ref: 'login', token: await signWith(key, claimsFor('nurse-1')) });
    expect(await inBand.nextFrame('authenticated')).toMatchObject({ userId: 'nurse-1', ref: 'login' });

    const token = await signWith(key, claimsFor('nurse-2'));
    const byCookie = harness.connect(fx, { headers: { cookie: `other=1; wc_at=${token}` } });
    expect(await byCookie.nextFrame('authenticated')).toMatchObject({ userId: 'nurse-2' });
  });

  it('refuses a token for another audience with auth_failed and 4401, telling the client neither the reason nor the token', async () => {
    const { fx, rejections } = await jwksHub();
    const errors = harness.record(fx, 'error');
    const token = await signWith(key, claimsFor('mallory', { aud: 'billing' }));
    const client = harness.connect(fx);
    await client.nextFrame('welcome');

    client.send({ type: 'auth', token });
    const error = await client.nextFrame('error');
    const { code } = await client.waitClose();

    expect(error.code).toBe(ErrorCode.AuthFailed);
    expect(code).toBe(CloseCode.Unauthorized);
    expect(rejections).toEqual([
      { reason: 'wrong_audience', source: 'frame', reauthenticate: false, remoteAddress: '127.0.0.1' },
    ]);
    expect(errors).toEqual([]); // a refusal is not an authenticate failure
    expectNoLeak(client, token);
  });

  it('treats a refused bearer header as no credentials: the client may still send an auth frame', async () => {
    const { fx } = await jwksHub();
    const expired = await signWith(key, claimsFor('dr-lee', { exp: nowSec() - 3_600 }));
    const client = harness.connect(fx, { token: expired });

    expect((await client.nextFrame('welcome')).authenticated).toBe(false);
    client.send({ type: 'auth', token: await signWith(key, claimsFor('dr-lee')) });

    expect(await client.nextFrame('authenticated')).toMatchObject({ userId: 'dr-lee' });
    expectNoLeak(client, expired);
  });

  it('closes with 4419 after the grace period when the token expires, unless refreshed in-band', async () => {
    const { fx } = await jwksHub({ clockTolerance: 0 }, { tokenExpiryGraceMs: 100 });
    const exp = nowSec() + 2;
    const stale = harness.connect(fx, { token: await signWith(key, claimsFor('dr-a', { exp })) });
    const refreshed = harness.connect(fx, { token: await signWith(key, claimsFor('dr-b', { exp })) });
    await stale.nextFrame('authenticated');
    await refreshed.nextFrame('authenticated');

    const later = nowSec() + 600;
    refreshed.send({ type: 'auth', ref: 'refresh', token: await signWith(key, claimsFor('dr-b', { exp: later })) });
    expect(await refreshed.nextFrame('authenticated', (f) => f.ref === 'refresh')).toMatchObject({
      expiresAt: later * 1000,
    });
    const started = Date.now();
    const { code } = await stale.waitClose(5_000);

    expect(code).toBe(CloseCode.TokenExpired);
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000 + 100 - 5);
    await refreshed.roundTrip(); // same deadline passed; the refreshed socket is still served
    expect(refreshed.closeInfo).toBeUndefined();
    console.log(
      `token expiry: closed 4419 ${Date.now() - exp * 1000} ms after exp (grace 100 ms), waited ${Date.now() - started} ms`,
    );
  });

  it('refuses a refresh whose token was revoked, keeping the connection under its earlier token', async () => {
    const revokedJtis = new Set<string>();
    const { fx, rejections } = await jwksHub({ revoked: (p) => revokedJtis.has(String(p.jti)) });
    const client = harness.connect(fx, { token: await signWith(key, claimsFor('dr-lee', { jti: 'first' })) });
    await client.nextFrame('authenticated');

    revokedJtis.add('second');
    const token = await signWith(key, claimsFor('dr-lee', { jti: 'second' }));
    client.send({ type: 'auth', ref: 'r2', token });
    const error = await client.nextFrame('error', (f) => f.ref === 'r2');

    expect(error.code).toBe(ErrorCode.AuthFailed);
    expect(rejections.map((r) => [r.reason, r.reauthenticate])).toEqual([['revoked', true]]);
    await client.roundTrip();
    expectNoLeak(client, token);
  });

  it('refuses a revoked token at connect', async () => {
    const { fx } = await jwksHub({ revoked: (p) => p.jti === 'jti-fired' });
    const client = harness.connect(fx);
    await client.nextFrame('welcome');

    client.send({ type: 'auth', token: await signWith(key, claimsFor('fired')) });

    expect((await client.waitClose()).code).toBe(CloseCode.Unauthorized);
  });

  it('keeps serving authenticated clients while the JWKS server is down, refusing new tokens with 4401', async () => {
    const { fx, jwks, rejections } = await jwksHub({ jwksCacheMaxAgeMs: 0 });
    const control = harness.connect(fx, { token: await signWith(key, claimsFor('control')) });
    await control.nextFrame('authenticated');

    jwks.mode = 'reset';
    const client = harness.connect(fx);
    await client.nextFrame('welcome');
    client.send({ type: 'auth', token: await signWith(key, claimsFor('late')) });

    expect((await client.waitClose()).code).toBe(CloseCode.Unauthorized);
    expect(rejections.map((r) => r.reason)).toEqual(['jwks_unavailable']);
    await control.roundTrip();
  });
});

describe('revocation with disconnectUser', () => {
  it('closes the user on every instance sharing a broker control channel, with 4410', async () => {
    const group = new Set<LinkedBroker>();
    const authenticate = jwtAuthenticator({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE });
    const a = await harness.start({ authenticate, broker: new LinkedBroker(group, 'a') });
    const b = await harness.start({ authenticate, broker: new LinkedBroker(group, 'b') });
    const token = await signHmac(SECRET, claimsFor('dr-lee'));
    const onA = harness.connect(a, { token });
    const onB = harness.connect(b, { token });
    const bystander = harness.connect(b, { token: await signHmac(SECRET, claimsFor('dr-kim')) });
    await Promise.all([onA, onB, bystander].map((c) => c.nextFrame('authenticated')));

    const closedHere = a.hub.disconnectUser('dr-lee', 'access revoked');

    expect(closedHere).toBe(1);
    expect(await onA.waitClose()).toEqual({ code: CloseCode.SessionRevoked, reason: 'access revoked' });
    expect(await onB.waitClose()).toEqual({ code: CloseCode.SessionRevoked, reason: 'access revoked' });
    await bystander.roundTrip();
  });
});
