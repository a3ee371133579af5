/**
 * Why {@link jwtAuthenticator} refused a token: stable strings, reported to `onReject` and never
 * sent to the client (which only sees `auth_failed` / close `4401`). Listed in `docs/errors.md`.
 *
 * @example
 * ```ts
 * jwtAuthenticator({
 *   jwks, issuer, audience,
 *   onReject: ({ reason }) => {
 *     if (reason === JwtRejectReason.JwksUnavailable) metrics.increment('idp.unreachable');
 *   },
 * });
 * ```
 *
 * @category Authentication
 */
export const JwtRejectReason = {
  /** Not a compact JWS, longer than `maxTokenBytes`, bad base64url or JSON, no `alg`, or an unknown `crit`. */
  Malformed: 'malformed',
  /** The `alg` header is not in `algorithms` (`none`, HS256 against a JWKS, RS256 against a secret, ...). */
  AlgorithmNotAllowed: 'algorithm_not_allowed',
  /** No key (or more than one) in the JWKS matches the token's `kid` and `alg`, even after a refetch. */
  UnknownKey: 'unknown_key',
  /** The JWKS could not be fetched: the server is down, answered other than 200 with JSON, or took longer than `jwksTimeoutMs`. */
  JwksUnavailable: 'jwks_unavailable',
  /** The signature does not verify with the key. */
  BadSignature: 'bad_signature',
  /** `exp` is past (beyond `clockTolerance`), or `iat` is older than `maxTokenAge`. */
  Expired: 'expired',
  /** `nbf` (or `iat`, with `maxTokenAge`) is in the future, beyond `clockTolerance`. */
  NotYetValid: 'not_yet_valid',
  /** `iss` is missing or not one of `issuer`. */
  WrongIssuer: 'wrong_issuer',
  /** `aud` is missing or names none of `audience`. */
  WrongAudience: 'wrong_audience',
  /** The `typ` header is not the expected `typ`. */
  WrongType: 'wrong_type',
  /** `exp` is missing (with `requireExpiry`), `iat` is missing (with `maxTokenAge`), or a time claim is not a number. */
  MissingClaim: 'missing_claim',
  /** The `userClaim` (default `sub`) is missing or not a non-empty string. */
  MissingUserClaim: 'missing_user_claim',
  /** `revoked(payload)` returned `true`. */
  Revoked: 'revoked',
  /** `revoked(payload)` threw or returned something other than a boolean: refused, to fail closed. */
  RevocationCheckFailed: 'revocation_check_failed',
  /** Anything else the verifier refused (an unusable key, for example). */
  Invalid: 'invalid',
} as const;

/** One of the {@link JwtRejectReason} values. */
export type JwtRejectReason = (typeof JwtRejectReason)[keyof typeof JwtRejectReason];

/**
 * Where a token came from: an `auth` frame (in-band, also every refresh), the
 * `Authorization: Bearer` header, or the configured cookie.
 *
 * @example
 * ```ts
 * jwtAuthenticator({ secret, issuer, audience, onReject: (r) => counts[r.source]++ });
 * ```
 *
 * @category Authentication
 */
export type TokenSource = 'frame' | 'header' | 'cookie';

/** Thrown by the key resolver when the JWKS could not be fetched (as opposed to a key not found). */
export class JwksUnavailableError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('JWKS unavailable', options);
    this.name = 'JwksUnavailableError';
  }
}

/** Maps whatever `jwtVerify` threw to a reason. Never looks at the token or the payload. */
export function reasonOf(error: unknown): JwtRejectReason {
  if (error instanceof JwksUnavailableError) return JwtRejectReason.JwksUnavailable;
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    claim?: unknown;
    reason?: unknown;
  };
  switch (e.code) {
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return JwtRejectReason.Malformed;
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return JwtRejectReason.AlgorithmNotAllowed;
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return JwtRejectReason.UnknownKey;
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
      return JwtRejectReason.JwksUnavailable;
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return JwtRejectReason.BadSignature;
    case 'ERR_JWT_EXPIRED':
      return JwtRejectReason.Expired;
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return claimReason(e.claim, e.reason);
    default:
      return JwtRejectReason.Invalid;
  }
}

function claimReason(claim: unknown, reason: unknown): JwtRejectReason {
  if (claim === 'iss') return JwtRejectReason.WrongIssuer;
  if (claim === 'aud') return JwtRejectReason.WrongAudience;
  if (claim === 'typ') return JwtRejectReason.WrongType;
  if (reason === 'missing' || reason === 'invalid') return JwtRejectReason.MissingClaim;
  if (claim === 'nbf' || claim === 'iat') return JwtRejectReason.NotYetValid;
  return JwtRejectReason.Invalid;
}
