import { type JwtRejection, JwtRejectReason, jwtAuthenticator } from '@wardcast/server/jwt';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIENCE,
  claimsFor,
  deadUrl,
  ISSUER,
  makeKey,
  type SigningKey,
  signWith,
  startJwksServer,
} from './helpers.js';

let k1: SigningKey;
let k2: SigningKey;

beforeAll(async () => {
  [k1, k2] = await Promise.all([makeKey('2026-01'), makeKey('2026-02', 'ES256')]);
});

const base = { issuer: ISSUER, audience: AUDIENCE };

describe('JWKS caching', () => {
  it('fetches the JWKS once for many verifications, concurrent cold ones included', async () => {
    const server = await startJwksServer([k1]);
    const auth = jwtAuthenticator({ ...base, jwks: server.url });
    const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => signWith(k1, claimsFor(`u${i}`))));

    const cold = await Promise.all(tokens.map((t) => auth.verify(t)));
    for (let round = 0; round < 3; round++) for (const t of tokens) expect((await auth.verify(t)).ok).toBe(true);

    expect(cold.every((r) => r.ok)).toBe(true);
    expect(server.fetches).toBe(1);
    console.log(`jwks cache: ${cold.length + 3 * tokens.length} verifications, ${server.fetches} JWKS fetch`);
  });

  it('does not refetch for unknown kids within the cooldown, so bogus kids cannot hammer the IdP', async () => {
    const server = await startJwksServer([k1]);
    const auth = jwtAuthenticator({ ...base, jwks: server.url, jwksCooldownMs: 60_000 });
    expect((await auth.verify(await signWith(k1, claimsFor('a')))).ok).toBe(true);
    const strangers = await Promise.all(Array.from({ length: 20 }, (_, i) => makeKey(`bogus-${i}`, 'ES256')));

    for (const s of strangers) {
      expect(await auth.verify(await signWith(s, claimsFor('a')))).toEqual({
        ok: false,
        reason: JwtRejectReason.UnknownKey,
      });
    }

    expect(server.fetches).toBe(1);
  });
});

describe('key rotation', () => {
  it('fetches the JWKS again when a token names a new kid after the cooldown', async () => {
    const server = await startJwksServer([k1]);
    const auth = jwtAuthenticator({ ...base, jwks: server.url, jwksCooldownMs: 0 });
    expect((await auth.verify(await signWith(k1, claimsFor('a')))).ok).toBe(true);
    expect(server.fetches).toBe(1);

    // The IdP publishes the new key and starts signing with it; the old one is retired.
    server.keys = [k2.publicJwk];
    const rotated = await auth.verify(await signWith(k2, claimsFor('a')));

    expect(rotated.ok).toBe(true);
    expect(server.fetches).toBe(2);
    // A token of the retired key: not in the set any more.
    expect(await auth.verify(await signWith(k1, claimsFor('a')))).toEqual({
      ok: false,
      reason: JwtRejectReason.UnknownKey,
    });
  });
});

describe('an unavailable JWKS', () => {
  it('refuses tokens with jwks_unavailable when nothing listens, without throwing', async () => {
    const rejections: JwtRejection[] = [];
    const auth = jwtAuthenticator({ ...base, jwks: await deadUrl(), onReject: (r) => rejections.push(r) });
    const token = await signWith(k1, claimsFor('a'));

    const results = await Promise.all(
      Array.from({ length: 10 }, () => auth({ request: { headers: {} }, token, reauthenticate: false })),
    );

    expect(results.every((r) => r === null)).toBe(true);
    expect(new Set(rejections.map((r) => r.reason))).toEqual(new Set([JwtRejectReason.JwksUnavailable]));
  });

  it('refuses tokens when the JWKS server answers 503 or drops the connection', async () => {
    const server = await startJwksServer([k1]);
    const auth = jwtAuthenticator({ ...base, jwks: server.url });
    const token = await signWith(k1, claimsFor('a'));
    for (const mode of ['error', 'reset'] as const) {
      server.mode = mode;
      expect(await auth.verify(token)).toEqual({ ok: false, reason: JwtRejectReason.JwksUnavailable });
    }
    server.mode = 'up';
    expect((await auth.verify(token)).ok).toBe(true);
  });

  it('bounds a cold fetch from a JWKS server that never answers by jwksTimeoutMs', async () => {
    const server = await startJwksServer([k1]);
    server.mode = 'hang';
    const auth = jwtAuthenticator({ ...base, jwks: server.url, jwksTimeoutMs: 300 });
    const token = await signWith(k1, claimsFor('a'));

    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 5 }, () => auth.verify(token)));
    const elapsed = performance.now() - started;

    expect(results).toEqual(Array(5).fill({ ok: false, reason: JwtRejectReason.JwksUnavailable }));
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2_000);
    expect(server.fetches).toBe(1); // concurrent verifications shared the one fetch
    console.log(
      `jwks timeout: 5 concurrent cold verifications refused after ${Math.round(elapsed)} ms (timeout 300 ms)`,
    );
  });

  it('recovers once the JWKS server is back', async () => {
    const server = await startJwksServer([k1]);
    server.mode = 'error';
    const auth = jwtAuthenticator({ ...base, jwks: server.url });
    const token = await signWith(k1, claimsFor('a'));
    expect((await auth.verify(token)).ok).toBe(false);

    server.mode = 'up';

    expect((await auth.verify(token)).ok).toBe(true);
    expect(server.fetches).toBe(2);
  });
});
