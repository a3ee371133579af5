import type { AuthContext } from '@wardcast/server';
import { isWardcastError } from '@wardcast/server';
import {
  type JwtAuthenticatorOptions,
  type JwtRejection,
  JwtRejectReason,
  jwtAuthenticator,
} from '@wardcast/server/jwt';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIENCE,
  claimsFor,
  ISSUER,
  makeKey,
  nowSec,
  SECRET,
  type SigningKey,
  signHmac,
  signWith,
  startJwksServer,
  unsecured,
} from './helpers.js';

let rsa: SigningKey;
let ec: SigningKey;
let ed: SigningKey;
let rs384: SigningKey;

beforeAll(async () => {
  [rsa, ec, ed, rs384] = await Promise.all([
    makeKey('rsa-1'),
    makeKey('ec-1', 'ES256'),
    makeKey('ed-1', 'EdDSA'),
    makeKey('rsa384-1', 'RS384'),
  ]);
});

/** An authenticator over a fresh local JWKS server serving every test key. */
async function withJwks(extra: Partial<JwtAuthenticatorOptions> = {}) {
  const server = await startJwksServer([rsa, ec, ed, rs384]);
  const rejections: JwtRejection[] = [];
  const auth = jwtAuthenticator({
    jwks: server.url,
    issuer: ISSUER,
    audience: AUDIENCE,
    onReject: (r) => rejections.push(r),
    ...extra,
  });
  return { server, auth, rejections };
}

const request = (headers: Record<string, string> = {}): AuthContext['request'] => ({
  headers,
  remoteAddress: '127.0.0.1',
});

describe('jwtAuthenticator with a JWKS', () => {
  it('accepts an RS256, ES256 or EdDSA token and returns userId, expiresAt in ms and the claims', async () => {
    const { auth } = await withJwks();
    const exp = nowSec() + 120;
    for (const key of [rsa, ec, ed]) {
      const token = await signWith(key, claimsFor('dr-lee', { exp, roles: ['nurse'] }));
      const principal = await auth({ request: request(), token, reauthenticate: false });
      expect(principal).toMatchObject({ userId: 'dr-lee', expiresAt: exp * 1000 });
      expect(principal?.claims).toMatchObject({ sub: 'dr-lee', roles: ['nurse'], iss: ISSUER });
    }
  });

  it('reads the user id from a configured claim and maps the claims', async () => {
    const { auth } = await withJwks({ userClaim: 'oid', claims: (p) => ({ role: p.role }) });
    const token = await signWith(rsa, claimsFor('ignored', { oid: 'u-77', role: 'physician' }));
    const result = await auth.verify(token);
    expect(result.ok && result.principal).toEqual({
      userId: 'u-77',
      expiresAt: expect.any(Number),
      claims: { role: 'physician' },
    });
  });

  it('refuses an unsecured alg: none token without fetching the JWKS', async () => {
    const { auth, server } = await withJwks();
    const result = await auth.verify(unsecured(claimsFor('mallory')));
    expect(result).toEqual({ ok: false, reason: JwtRejectReason.AlgorithmNotAllowed });
    expect(server.fetches).toBe(0);
  });

  it('refuses an HS256 token signed with the public key (algorithm confusion) without fetching the JWKS', async () => {
    const { auth, server } = await withJwks();
    // The classic attack: HMAC keyed with the (public) verification key.
    const token = await signHmac(JSON.stringify(rsa.publicJwk), claimsFor('mallory'));
    expect(await auth.verify(token)).toEqual({ ok: false, reason: JwtRejectReason.AlgorithmNotAllowed });
    expect(server.fetches).toBe(0);
  });

  it('refuses an algorithm outside the allowlist even when the JWKS has its key', async () => {
    const { auth } = await withJwks();
    const token = await signWith(rs384, claimsFor('dr-lee'));
    expect(await auth.verify(token)).toEqual({ ok: false, reason: JwtRejectReason.AlgorithmNotAllowed });
    const widened = (await withJwks({ algorithms: ['RS256', 'RS384'] })).auth;
    expect((await widened.verify(token)).ok).toBe(true);
  });

  it('refuses a token whose signature does not verify', async () => {
    const { auth } = await withJwks();
    const token = await signWith(rsa, claimsFor('dr-lee'));
    const [h, p] = token.split('.');
    const other = (await signWith(rsa, claimsFor('dr-lee', { sub: 'dr-evil' }))).split('.')[2];
    expect(await auth.verify(`${h}.${p}.${other}`)).toEqual({ ok: false, reason: JwtRejectReason.BadSignature });
    // Payload swapped under a valid signature.
    const forgedPayload = (await signWith(rsa, claimsFor('dr-evil'))).split('.')[1];
    expect(await auth.verify(`${h}.${forgedPayload}.${token.split('.')[2]}`)).toEqual({
      ok: false,
      reason: JwtRejectReason.BadSignature,
    });
  });

  it('refuses a token signed by a key that is not in the JWKS', async () => {
    const { auth } = await withJwks();
    const stranger = await makeKey('rsa-1'); // same kid, other key
    expect(await auth.verify(await signWith(stranger, claimsFor('dr-lee')))).toEqual({
      ok: false,
      reason: JwtRejectReason.BadSignature,
    });
    const unknown = await makeKey('nobody');
    expect(await auth.verify(await signWith(unknown, claimsFor('dr-lee')))).toEqual({
      ok: false,
      reason: JwtRejectReason.UnknownKey,
    });
  });

  it('refuses a wrong issuer or audience, and a token without them', async () => {
    const { auth } = await withJwks();
    const cases: [Record<string, unknown>, JwtRejectReason][] = [
      [{ iss: 'https://evil.invalid' }, JwtRejectReason.WrongIssuer],
      [{ iss: undefined }, JwtRejectReason.WrongIssuer],
      [{ aud: 'another-api' }, JwtRejectReason.WrongAudience],
      [{ aud: ['x', 'y'] }, JwtRejectReason.WrongAudience],
      [{ aud: undefined }, JwtRejectReason.WrongAudience],
    ];
    for (const [claims, reason] of cases) {
      expect(await auth.verify(await signWith(rsa, claimsFor('dr-lee', claims)))).toEqual({ ok: false, reason });
    }
    expect((await auth.verify(await signWith(rsa, claimsFor('dr-lee', { aud: ['x', AUDIENCE] })))).ok).toBe(true);
  });

  it('refuses an expired token, allowing clockTolerance seconds of skew', async () => {
    const { auth } = await withJwks({ clockTolerance: 30 });
    const slightly = await signWith(rsa, claimsFor('dr-lee', { exp: nowSec() - 10 }));
    const long = await signWith(rsa, claimsFor('dr-lee', { exp: nowSec() - 60 }));
    expect((await auth.verify(slightly)).ok).toBe(true);
    expect(await auth.verify(long)).toEqual({ ok: false, reason: JwtRejectReason.Expired });
    const strict = (await withJwks({ clockTolerance: 0 })).auth;
    expect(await strict.verify(slightly)).toEqual({ ok: false, reason: JwtRejectReason.Expired });
  });

  it('refuses a token that is not yet valid, or too old for maxTokenAge', async () => {
    const { auth } = await withJwks({ maxTokenAge: 60 });
    expect(await auth.verify(await signWith(rsa, claimsFor('a', { nbf: nowSec() + 120 })))).toEqual({
      ok: false,
      reason: JwtRejectReason.NotYetValid,
    });
    expect(await auth.verify(await signWith(rsa, claimsFor('a', { iat: nowSec() - 600 })))).toEqual({
      ok: false,
      reason: JwtRejectReason.Expired,
    });
    expect(await auth.verify(await signWith(rsa, claimsFor('a', { iat: undefined })))).toEqual({
      ok: false,
      reason: JwtRejectReason.MissingClaim,
    });
  });

  it('refuses a token without exp unless requireExpiry is false, which yields no expiresAt', async () => {
    const token = await signWith(rsa, claimsFor('dr-lee', { exp: undefined }));
    expect(await (await withJwks()).auth.verify(token)).toEqual({ ok: false, reason: JwtRejectReason.MissingClaim });
    const lenient = await (await withJwks({ requireExpiry: false })).auth.verify(token);
    expect(lenient.ok && lenient.principal.expiresAt).toBeUndefined();
    expect(lenient.ok && lenient.principal.userId).toBe('dr-lee');
  });

  it('refuses a token without the user claim, or with a non-string or empty one', async () => {
    const { auth } = await withJwks();
    for (const sub of [undefined, '', 42]) {
      const token = await signWith(rsa, { ...claimsFor('x'), sub } as never);
      expect(await auth.verify(token)).toEqual({ ok: false, reason: JwtRejectReason.MissingUserClaim });
    }
  });

  it('checks the typ header when one is expected', async () => {
    const { auth } = await withJwks({ typ: 'at+jwt' });
    expect((await auth.verify(await signWith(rsa, claimsFor('a'), { typ: 'at+jwt' }))).ok).toBe(true);
    expect(await auth.verify(await signWith(rsa, claimsFor('a'), { typ: 'JWT' }))).toEqual({
      ok: false,
      reason: JwtRejectReason.WrongType,
    });
  });

  it('refuses malformed and oversized tokens before any key lookup', async () => {
    const { auth, server } = await withJwks({ maxTokenBytes: 2_048 });
    for (const junk of ['', 'abc', 'a.b.c', '..', `${'a'.repeat(3_000)}.b.c`]) {
      expect(await auth.verify(junk)).toEqual({ ok: false, reason: JwtRejectReason.Malformed });
    }
    const big = await signWith(rsa, claimsFor('a', { pad: 'x'.repeat(3_000) }));
    expect(await auth.verify(big)).toEqual({ ok: false, reason: JwtRejectReason.Malformed });
    expect(server.fetches).toBe(0);
  });

  it('refuses revoked tokens, and fails closed when the revocation check throws or answers a non-boolean', async () => {
    const denied = new Set(['jti-bob']);
    const seen: unknown[] = [];
    const { auth } = await withJwks({
      revoked: async (payload) => {
        seen.push(payload.jti);
        if (payload.sub === 'broken') throw new Error('deny-list store down');
        if (payload.sub === 'vague') return undefined as never;
        return denied.has(String(payload.jti));
      },
    });
    expect((await auth.verify(await signWith(rsa, claimsFor('alice')))).ok).toBe(true);
    expect(await auth.verify(await signWith(rsa, claimsFor('bob')))).toEqual({
      ok: false,
      reason: JwtRejectReason.Revoked,
    });
    expect(await auth.verify(await signWith(rsa, claimsFor('broken')))).toEqual({
      ok: false,
      reason: JwtRejectReason.RevocationCheckFailed,
    });
    expect(await auth.verify(await signWith(rsa, claimsFor('vague')))).toEqual({
      ok: false,
      reason: JwtRejectReason.RevocationCheckFailed,
    });
    // Not consulted for tokens that failed verification.
    await auth.verify(await signWith(rsa, claimsFor('carol', { aud: 'other' })));
    expect(seen).toEqual(['jti-alice', 'jti-bob', 'jti-broken', 'jti-vague']);
  });
});

describe('jwtAuthenticator with an HS256 secret', () => {
  const options = { secret: SECRET, issuer: ISSUER, audience: AUDIENCE };

  it('accepts a token signed with the secret', async () => {
    const auth = jwtAuthenticator(options);
    const principal = await auth({
      request: request(),
      token: await signHmac(SECRET, claimsFor('u1')),
      reauthenticate: false,
    });
    expect(principal?.userId).toBe('u1');
  });

  it('refuses another secret, alg: none, HS512 unless allowed, and asymmetric tokens', async () => {
    const auth = jwtAuthenticator(options);
    const other = await signHmac('another-test-secret-0123456789abcdef', claimsFor('u1'));
    expect(await auth.verify(other)).toEqual({ ok: false, reason: JwtRejectReason.BadSignature });
    expect(await auth.verify(unsecured(claimsFor('u1')))).toEqual({
      ok: false,
      reason: JwtRejectReason.AlgorithmNotAllowed,
    });
    const long = 'k'.repeat(64);
    const hs512 = await signHmac(long, claimsFor('u1'), 'HS512');
    expect(await jwtAuthenticator({ ...options, secret: long }).verify(hs512)).toEqual({
      ok: false,
      reason: JwtRejectReason.AlgorithmNotAllowed,
    });
    expect((await jwtAuthenticator({ ...options, secret: long, algorithms: ['HS512'] }).verify(hs512)).ok).toBe(true);
    expect(await auth.verify(await signWith(rsa, claimsFor('u1')))).toEqual({
      ok: false,
      reason: JwtRejectReason.AlgorithmNotAllowed,
    });
  });
});

describe('where the token comes from', () => {
  it('prefers the auth frame token, then the bearer header, then the configured cookie', async () => {
    const auth = jwtAuthenticator({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, cookie: 'wc_at' });
    const [a, b, c] = await Promise.all(['frame', 'header', 'cookie'].map((u) => signHmac(SECRET, claimsFor(u))));
    const all = request({ authorization: `Bearer ${b}`, cookie: `theme=dark; wc_at=${c}` });
    expect((await auth({ request: all, token: a as string, reauthenticate: false }))?.userId).toBe('frame');
    expect((await auth({ request: all, reauthenticate: false }))?.userId).toBe('header');
    const cookieOnly = request({ cookie: `theme=dark; wc_at=${c}` });
    expect((await auth({ request: cookieOnly, reauthenticate: false }))?.userId).toBe('cookie');
  });

  it('ignores cookies unless configured and the header when bearer is false, asking for an auth frame', async () => {
    const token = await signHmac(SECRET, claimsFor('u1'));
    const plain = jwtAuthenticator({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, bearer: false });
    const rejections: JwtRejection[] = [];
    const counting = jwtAuthenticator({
      secret: SECRET,
      issuer: ISSUER,
      audience: AUDIENCE,
      onReject: (r) => rejections.push(r),
    });
    expect(await plain({ request: request({ authorization: `Bearer ${token}` }), reauthenticate: false })).toBeNull();
    expect(await counting({ request: request({ cookie: `wc_at=${token}` }), reauthenticate: false })).toBeNull();
    expect(rejections).toEqual([]); // no credentials is not a rejection
  });

  it('reports a refusal to onReject with its reason and source, never the token, and resolves null', async () => {
    const rejections: JwtRejection[] = [];
    const auth = jwtAuthenticator({
      secret: SECRET,
      issuer: ISSUER,
      audience: AUDIENCE,
      onReject: (r) => {
        rejections.push(r);
        throw new Error('a broken hook');
      },
    });
    const expired = await signHmac(SECRET, claimsFor('u1', { exp: nowSec() - 3_600 }));
    const result = await auth({ request: request({ authorization: `Bearer ${expired}` }), reauthenticate: false });
    const refresh = await auth({ request: request(), token: expired, reauthenticate: true });
    expect(result).toBeNull();
    expect(refresh).toBeNull();
    expect(rejections).toEqual([
      { reason: 'expired', source: 'header', reauthenticate: false, remoteAddress: '127.0.0.1' },
      { reason: 'expired', source: 'frame', reauthenticate: true, remoteAddress: '127.0.0.1' },
    ]);
    expect(JSON.stringify(rejections)).not.toContain(expired.split('.')[2]);
  });
});

describe('options', () => {
  const base = { issuer: ISSUER, audience: AUDIENCE };
  const invalid: [string, () => unknown][] = [
    ['neither jwks nor secret', () => jwtAuthenticator(base as never)],
    ['both jwks and secret', () => jwtAuthenticator({ ...base, jwks: 'https://idp.example/jwks', secret: SECRET })],
    ['an http: JWKS off loopback', () => jwtAuthenticator({ ...base, jwks: 'http://idp.example/jwks' })],
    ['a relative JWKS URL', () => jwtAuthenticator({ ...base, jwks: '/jwks.json' })],
    ['HS256 with jwks', () => jwtAuthenticator({ ...base, jwks: 'https://idp.example/j', algorithms: ['HS256'] })],
    ['RS256 with a secret', () => jwtAuthenticator({ ...base, secret: SECRET, algorithms: ['RS256'] })],
    ['none', () => jwtAuthenticator({ ...base, secret: SECRET, algorithms: ['none'] })],
    ['an empty allowlist', () => jwtAuthenticator({ ...base, secret: SECRET, algorithms: [] })],
    ['a short HS256 secret', () => jwtAuthenticator({ ...base, secret: 'too-short' })],
    ['a secret too short for HS512', () => jwtAuthenticator({ ...base, secret: SECRET, algorithms: ['HS512'] })],
    ['no issuer', () => jwtAuthenticator({ audience: AUDIENCE, secret: SECRET } as never)],
    ['an empty audience list', () => jwtAuthenticator({ ...base, audience: [], secret: SECRET })],
    ['a negative clockTolerance', () => jwtAuthenticator({ ...base, secret: SECRET, clockTolerance: -1 })],
    ['a bad cookie name', () => jwtAuthenticator({ ...base, secret: SECRET, cookie: 'a b' })],
    ['an empty userClaim', () => jwtAuthenticator({ ...base, secret: SECRET, userClaim: '' })],
    [
      'a fractional jwksTimeoutMs',
      () => jwtAuthenticator({ ...base, jwks: 'https://idp.example/j', jwksTimeoutMs: 1.5 }),
    ],
  ];
  it.each(invalid)('throws invalid_option for %s', (_name, make) => {
    let thrown: unknown;
    try {
      make();
    } catch (err) {
      thrown = err;
    }
    expect(isWardcastError(thrown, 'invalid_option')).toBe(true);
    expect(String((thrown as Error).message)).not.toContain(SECRET);
  });

  it('accepts a JWKS on loopback over http, and a jose key resolver', async () => {
    const { createLocalJWKSet } = await import('jose');
    expect(() => jwtAuthenticator({ ...base, jwks: 'http://localhost:1/jwks.json' })).not.toThrow();
    const auth = jwtAuthenticator({ ...base, jwks: createLocalJWKSet({ keys: [rsa.publicJwk] }) });
    expect((await auth.verify(await signWith(rsa, claimsFor('u1')))).ok).toBe(true);
  });
});
