import { ErrorCode, WardcastError } from '@wardcast/protocol';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import type { JwtRejectReason, TokenSource } from './reasons.js';

/**
 * Algorithms accepted with `jwks` unless `algorithms` says otherwise.
 *
 * @example
 * ```ts
 * jwtAuthenticator({ jwks, issuer, audience, algorithms: [...DEFAULT_JWKS_ALGORITHMS, 'PS256'] });
 * ```
 *
 * @category Authentication
 */
export const DEFAULT_JWKS_ALGORITHMS: readonly string[] = Object.freeze(['RS256', 'ES256', 'EdDSA']);
/**
 * Algorithms accepted with `secret` unless `algorithms` says otherwise.
 *
 * @example
 * ```ts
 * DEFAULT_SECRET_ALGORITHMS; // ['HS256']
 * ```
 *
 * @category Authentication
 */
export const DEFAULT_SECRET_ALGORITHMS: readonly string[] = Object.freeze(['HS256']);

/** Every asymmetric algorithm `algorithms` may list with `jwks`. */
const ASYMMETRIC = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]);
/** HMAC algorithms `algorithms` may list with `secret`, and the shortest secret each needs (RFC 7518 §3.2). */
const HMAC_MIN_BYTES: Readonly<Record<string, number>> = { HS256: 32, HS384: 48, HS512: 64 };

/**
 * Default values of the optional {@link JwtAuthenticatorOptions} that have one.
 *
 * @example
 * ```ts
 * jwtAuthenticator({ jwks, issuer, audience, jwksTimeoutMs: DEFAULT_JWT_OPTIONS.jwksTimeoutMs / 2 });
 * ```
 *
 * @category Authentication
 */
export const DEFAULT_JWT_OPTIONS = Object.freeze({
  userClaim: 'sub',
  clockTolerance: 5,
  requireExpiry: true,
  bearer: true,
  maxTokenBytes: 8_192,
  jwksTimeoutMs: 3_000,
  jwksCooldownMs: 30_000,
  jwksCacheMaxAgeMs: 600_000,
} as const);

/**
 * What {@link JwtAuthenticatorOptions.onReject} receives: why a token was refused, never the token.
 *
 * @example
 * ```ts
 * const onReject = (r: JwtRejection) => logger.debug({ reason: r.reason, source: r.source }, 'token refused');
 * ```
 *
 * @category Authentication
 */
export interface JwtRejection {
  /** The stable reason. */
  readonly reason: JwtRejectReason;
  /** Where the token came from. */
  readonly source: TokenSource;
  /** `true` for an in-band refresh of an authenticated connection. */
  readonly reauthenticate: boolean;
  /** Peer address of the upgrade request, when the transport knows it. */
  readonly remoteAddress: string | undefined;
}

/**
 * Options of {@link jwtAuthenticator}. Pass exactly one of `jwks` (asymmetric keys published by
 * your identity provider) or `secret` (a shared HMAC secret): the two are never mixed.
 *
 * @example
 * ```ts
 * const options: JwtAuthenticatorOptions = {
 *   jwks: 'https://idp.example-hospital.org/.well-known/jwks.json',
 *   issuer: 'https://idp.example-hospital.org',
 *   audience: 'wardcast',
 * };
 * ```
 *
 * @category Authentication
 */
export interface JwtAuthenticatorOptions {
  /**
   * The identity provider's JSON Web Key Set: its `https:` URL (plain `http:` only on loopback), or
   * a jose key resolver (`createLocalJWKSet(...)`, your own `createRemoteJWKSet(...)`). A URL is
   * fetched on first use and cached (see `jwksCacheMaxAgeMs`, `jwksCooldownMs`, `jwksTimeoutMs`).
   * @default none: give this or `secret`
   */
  readonly jwks?: string | URL | JWTVerifyGetKey;
  /**
   * A shared HMAC secret (UTF-8 string or bytes), at least as long as the longest hash in
   * `algorithms` (32 bytes for HS256).
   * @default none: give this or `jwks`
   */
  readonly secret?: string | Uint8Array;
  /** Accepted `iss` values: a token from any other issuer is refused. Required. */
  readonly issuer: string | readonly string[];
  /** Accepted `aud` values: a token must name at least one. Required. */
  readonly audience: string | readonly string[];
  /**
   * Signature algorithms accepted (`alg` header). `none` is never accepted; with `jwks` only
   * asymmetric algorithms (RS*, PS*, ES*, EdDSA, Ed25519), with `secret` only HS256/384/512.
   * @default ['RS256', 'ES256', 'EdDSA'] with `jwks`; ['HS256'] with `secret`
   */
  readonly algorithms?: readonly string[];
  /**
   * Seconds of clock skew allowed when checking `exp`, `nbf` and `iat`.
   * @default 5
   */
  readonly clockTolerance?: number;
  /**
   * The claim holding the user id (a non-empty string); a token without it is refused.
   * @default 'sub'
   */
  readonly userClaim?: string;
  /**
   * Refuse tokens without an `exp` claim, so that every connection has an expiry.
   * @default true
   */
  readonly requireExpiry?: boolean;
  /**
   * Refuse tokens issued (`iat`) more than this many seconds ago, whatever their `exp`.
   * @default no limit
   */
  readonly maxTokenAge?: number;
  /**
   * Expected `typ` header, e.g. `'at+jwt'` for OAuth access tokens (RFC 9068), so that ID tokens
   * or other JWTs of the same issuer are refused.
   * @default not checked
   */
  readonly typ?: string;
  /**
   * Called with the verified payload at connect and at every in-band refresh, after the signature
   * and claims were checked. Only `false` lets the token through: `true` (revoked), any other
   * value, or a throw refuses it. Give your lookup (e.g. a `jti` deny list) its own timeout.
   * @default no revocation check
   */
  readonly revoked?: (payload: JWTPayload) => boolean | Promise<boolean>;
  /**
   * Maps the verified payload to the principal's `claims` (what your `authorize` reads).
   * @default the whole payload
   */
  readonly claims?: (payload: JWTPayload) => Readonly<Record<string, unknown>>;
  /**
   * Name of a cookie to read the token from when there is no `auth` frame token and no bearer
   * header. Pair it with `allowedOrigins` (cookies ride along on cross-site requests).
   * @default no cookie
   */
  readonly cookie?: string;
  /**
   * Read `Authorization: Bearer <token>` from the upgrade (or HTTP) request.
   * @default true
   */
  readonly bearer?: boolean;
  /**
   * Longest token accepted, in bytes; a longer one is refused (`malformed`) before any parsing.
   * @default 8_192
   */
  readonly maxTokenBytes?: number;
  /**
   * Time a JWKS fetch may take before verification fails with `jwks_unavailable`. Keep it well
   * under the hub's `authTimeoutMs`.
   * @default 3_000
   */
  readonly jwksTimeoutMs?: number;
  /**
   * After a successful JWKS fetch, a token with an unknown `kid` triggers another fetch only once
   * this long has passed (key rotation is picked up; a flood of bogus `kid`s is not).
   * @default 30_000
   */
  readonly jwksCooldownMs?: number;
  /**
   * Time the fetched JWKS is used before it is fetched again.
   * @default 600_000 (10 minutes)
   */
  readonly jwksCacheMaxAgeMs?: number;
  /**
   * Told about every refused token, with a stable reason and never the token: count them, or log
   * the reason at `debug`. A throw here is ignored.
   * @default none
   */
  readonly onReject?: (rejection: JwtRejection) => void;
}

/** The options after validation, with defaults applied. */
export interface ResolvedJwtOptions {
  readonly key:
    | { readonly kind: 'jwks-url'; readonly url: URL }
    | { readonly kind: 'resolver'; readonly resolve: JWTVerifyGetKey }
    | { readonly kind: 'secret'; readonly bytes: Uint8Array };
  readonly issuer: string[];
  readonly audience: string[];
  readonly algorithms: string[];
  readonly clockTolerance: number;
  readonly userClaim: string;
  readonly requireExpiry: boolean;
  readonly maxTokenAge: number | undefined;
  readonly typ: string | undefined;
  readonly bearer: boolean;
  readonly cookie: string | undefined;
  readonly maxTokenBytes: number;
  readonly jwksTimeoutMs: number;
  readonly jwksCooldownMs: number;
  readonly jwksCacheMaxAgeMs: number;
}

function invalid(message: string): WardcastError {
  return new WardcastError(ErrorCode.InvalidOption, `jwtAuthenticator: ${message}`);
}

function nonEmptyStrings(value: unknown, name: string): string[] {
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? [...(value as unknown[])] : [];
  if (list.length === 0 || list.some((v) => typeof v !== 'string' || v === '')) {
    throw invalid(`${name} must be a non-empty string or a non-empty array of them`);
  }
  return list as string[];
}

function number(value: unknown, fallback: number, name: string, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw invalid(`${name} must be a finite number >= ${min}`);
  }
  return value;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

function jwksUrl(value: string | URL): URL {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw invalid('jwks must be an absolute URL');
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return url;
  throw invalid('jwks must be an https: URL (http: only on loopback)');
}

function keyOf(options: JwtAuthenticatorOptions): ResolvedJwtOptions['key'] {
  const { jwks, secret } = options;
  if ((jwks === undefined) === (secret === undefined)) throw invalid('pass exactly one of jwks or secret');
  if (jwks !== undefined) {
    return typeof jwks === 'function' ? { kind: 'resolver', resolve: jwks } : { kind: 'jwks-url', url: jwksUrl(jwks) };
  }
  if (typeof secret === 'string') return { kind: 'secret', bytes: new TextEncoder().encode(secret) };
  if (secret instanceof Uint8Array) return { kind: 'secret', bytes: new Uint8Array(secret) };
  throw invalid('secret must be a string or a Uint8Array');
}

function algorithmsOf(options: JwtAuthenticatorOptions, key: ResolvedJwtOptions['key']): string[] {
  const symmetric = key.kind === 'secret';
  const list = options.algorithms ?? (symmetric ? DEFAULT_SECRET_ALGORITHMS : DEFAULT_JWKS_ALGORITHMS);
  if (!Array.isArray(list) || list.length === 0) throw invalid('algorithms must be a non-empty array');
  for (const alg of list) {
    const ok = symmetric ? Object.hasOwn(HMAC_MIN_BYTES, alg) : ASYMMETRIC.has(alg);
    if (!ok) {
      throw invalid(
        symmetric
          ? 'algorithms with secret may only list HS256, HS384 or HS512'
          : 'algorithms with jwks may only list asymmetric algorithms (RS*, PS*, ES*, EdDSA, Ed25519)',
      );
    }
  }
  if (key.kind === 'secret') {
    const needed = Math.max(...list.map((alg) => HMAC_MIN_BYTES[alg] ?? 0));
    if (key.bytes.byteLength < needed) throw invalid(`secret must be at least ${needed} bytes for ${list.join(', ')}`);
  }
  return [...list];
}

/** Validates `options` and applies the defaults. @throws {WardcastError} `invalid_option` */
export function resolveJwtOptions(options: JwtAuthenticatorOptions): ResolvedJwtOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options are required');
  const key = keyOf(options);
  const d = DEFAULT_JWT_OPTIONS;
  const userClaim = options.userClaim ?? d.userClaim;
  if (typeof userClaim !== 'string' || userClaim === '') throw invalid('userClaim must be a non-empty string');
  if (
    options.cookie !== undefined &&
    (typeof options.cookie !== 'string' || !/^[!#-'*+.0-9A-Z^-z|~-]+$/.test(options.cookie))
  ) {
    throw invalid('cookie must be a valid cookie name');
  }
  if (options.typ !== undefined && (typeof options.typ !== 'string' || options.typ === '')) {
    throw invalid('typ must be a non-empty string');
  }
  for (const name of ['revoked', 'claims', 'onReject'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw invalid(`${name} must be a function`);
  }
  const jwksTimeoutMs = number(options.jwksTimeoutMs, d.jwksTimeoutMs, 'jwksTimeoutMs', 1);
  if (!Number.isInteger(jwksTimeoutMs)) throw invalid('jwksTimeoutMs must be an integer');
  return {
    key,
    issuer: nonEmptyStrings(options.issuer, 'issuer'),
    audience: nonEmptyStrings(options.audience, 'audience'),
    algorithms: algorithmsOf(options, key),
    clockTolerance: number(options.clockTolerance, d.clockTolerance, 'clockTolerance', 0),
    userClaim,
    requireExpiry: options.requireExpiry ?? d.requireExpiry,
    maxTokenAge: options.maxTokenAge === undefined ? undefined : number(options.maxTokenAge, 0, 'maxTokenAge', 1),
    typ: options.typ,
    bearer: options.bearer ?? d.bearer,
    cookie: options.cookie,
    maxTokenBytes: number(options.maxTokenBytes, d.maxTokenBytes, 'maxTokenBytes', 16),
    jwksTimeoutMs,
    jwksCooldownMs: number(options.jwksCooldownMs, d.jwksCooldownMs, 'jwksCooldownMs', 0),
    jwksCacheMaxAgeMs: number(options.jwksCacheMaxAgeMs, d.jwksCacheMaxAgeMs, 'jwksCacheMaxAgeMs', 0),
  };
}
