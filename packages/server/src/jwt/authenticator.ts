import { type JWTPayload, jwtVerify } from 'jose';
import type { AuthContext, Authenticate, Principal } from '../core/types.js';
import { verificationKey } from './keys.js';
import { type JwtAuthenticatorOptions, type ResolvedJwtOptions, resolveJwtOptions } from './options.js';
import { JwtRejectReason, reasonOf } from './reasons.js';
import { findToken } from './token-source.js';

/**
 * The outcome of verifying one token: a principal (and the verified payload), or the reason it
 * was refused.
 *
 * @example
 * ```ts
 * const result: JwtVerification = await authenticate.verify(token);
 * const userId = result.ok ? result.principal.userId : undefined;
 * ```
 *
 * @category Authentication
 */
export type JwtVerification =
  | { readonly ok: true; readonly principal: Principal; readonly payload: JWTPayload }
  | { readonly ok: false; readonly reason: JwtRejectReason };

/**
 * An {@link Authenticate} for `new NotificationHub({ authenticate })`, plus `verify` to check one
 * token yourself (an HTTP endpoint, a test).
 *
 * @example
 * ```ts
 * const authenticate: JwtAuthenticator = jwtAuthenticator({ secret, issuer, audience });
 * const hub = new NotificationHub({ authenticate });
 * ```
 *
 * @category Authentication
 */
export interface JwtAuthenticator extends Authenticate {
  /**
   * Verifies `token` exactly as a connection's token is verified (signature, algorithm, claims,
   * user claim, `revoked`). Never throws and never calls `onReject`.
   *
   * @example
   * ```ts
   * const result = await authenticate.verify(token);
   * if (!result.ok) console.debug('refused:', result.reason);
   * ```
   */
  verify(token: string): Promise<JwtVerification>;
}

const refused = (reason: JwtRejectReason): JwtVerification => ({ ok: false, reason });

function principalOf(
  payload: JWTPayload,
  options: ResolvedJwtOptions,
  map: JwtAuthenticatorOptions['claims'],
): Principal | undefined {
  const userId = payload[options.userClaim];
  if (typeof userId !== 'string' || userId === '') return undefined;
  const claims = map ? map(payload) : payload;
  return {
    userId,
    // `exp` is in seconds; the hub wants milliseconds.
    ...(typeof payload.exp === 'number' ? { expiresAt: payload.exp * 1000 } : {}),
    claims: Object.freeze({ ...claims }),
  };
}

/** Asks `revoked`; only an explicit `false` lets the token through (fail closed). */
async function revocationReason(
  revoked: NonNullable<JwtAuthenticatorOptions['revoked']>,
  payload: JWTPayload,
): Promise<JwtRejectReason | undefined> {
  let answer: unknown;
  try {
    answer = await revoked(payload);
  } catch {
    return JwtRejectReason.RevocationCheckFailed;
  }
  if (answer === false) return undefined;
  return answer === true ? JwtRejectReason.Revoked : JwtRejectReason.RevocationCheckFailed;
}

/**
 * Creates an `authenticate` callback that verifies JSON Web Tokens with `jose` (an optional peer
 * dependency: install it yourself). The token is the `auth` frame's, else the
 * `Authorization: Bearer` header's, else the `cookie`'s. It must be signed with an allowed
 * algorithm (never `none`; asymmetric with `jwks`, HMAC with `secret`), carry the right `iss` and
 * `aud`, be within `exp`/`nbf` (± `clockTolerance`), name the user in `userClaim`, and pass
 * `revoked`. The principal gets `userId`, `expiresAt` (`exp` in ms: the hub closes the socket with
 * `4419` after its grace period unless the client refreshes in-band) and `claims`.
 *
 * A refused token resolves `null`: the hub answers `auth_failed` / close `4401`, never the reason,
 * which goes to `onReject` only. Nothing here logs or stores the token.
 *
 * @throws {WardcastError} `invalid_option` when the options are invalid (both or neither of `jwks`
 * and `secret`, an algorithm that does not fit the key, a short secret, an `http:` JWKS URL off
 * loopback, a missing `issuer` or `audience`).
 *
 * @example
 * ```ts
 * import { NotificationHub } from '@wardcast/server';
 * import { jwtAuthenticator } from '@wardcast/server/jwt';
 *
 * const hub = new NotificationHub({
 *   authenticate: jwtAuthenticator({
 *     jwks: 'https://idp.example-hospital.org/.well-known/jwks.json',
 *     issuer: 'https://idp.example-hospital.org',
 *     audience: 'wardcast',
 *     revoked: (payload) => denyList.has(String(payload.jti)),
 *   }),
 *   allowedOrigins: ['https://portal.example-hospital.org'],
 * });
 * ```
 *
 * @category Authentication
 */
export function jwtAuthenticator(options: JwtAuthenticatorOptions): JwtAuthenticator {
  const resolved = resolveJwtOptions(options);
  const key = verificationKey(resolved);
  const { revoked, claims: mapClaims, onReject } = options;
  const requiredClaims = [
    ...(resolved.requireExpiry ? ['exp'] : []),
    ...(resolved.maxTokenAge === undefined ? [] : ['iat']),
  ];
  const verifyOptions = {
    algorithms: resolved.algorithms,
    issuer: resolved.issuer,
    audience: resolved.audience,
    clockTolerance: resolved.clockTolerance,
    requiredClaims,
    ...(resolved.maxTokenAge === undefined ? {} : { maxTokenAge: resolved.maxTokenAge }),
    ...(resolved.typ === undefined ? {} : { typ: resolved.typ }),
  };
  const encoder = new TextEncoder();

  const verify = async (token: string): Promise<JwtVerification> => {
    if (typeof token !== 'string' || token === '') return refused(JwtRejectReason.Malformed);
    // Cheap bound before any decoding: UTF-8 is at most 3 bytes per UTF-16 unit.
    if (token.length * 3 > resolved.maxTokenBytes && encoder.encode(token).byteLength > resolved.maxTokenBytes) {
      return refused(JwtRejectReason.Malformed);
    }
    let payload: JWTPayload;
    try {
      payload = (await jwtVerify(token, key, verifyOptions)).payload;
    } catch (error) {
      return refused(reasonOf(error));
    }
    let principal: Principal | undefined;
    try {
      principal = principalOf(payload, resolved, mapClaims);
    } catch {
      return refused(JwtRejectReason.Invalid);
    }
    if (!principal) return refused(JwtRejectReason.MissingUserClaim);
    if (revoked) {
      const reason = await revocationReason(revoked, payload);
      if (reason) return refused(reason);
    }
    return { ok: true, principal, payload };
  };

  const authenticate = async (ctx: AuthContext): Promise<Principal | null> => {
    const found = findToken(ctx, resolved.bearer, resolved.cookie);
    // No credentials in the upgrade request: ask for an `auth` frame.
    if (!found) return null;
    const result = await verify(found.token);
    if (result.ok) return result.principal;
    try {
      onReject?.({
        reason: result.reason,
        source: found.source,
        reauthenticate: ctx.reauthenticate,
        remoteAddress: ctx.request.remoteAddress,
      });
    } catch {
      // A reporting hook must not turn a refusal into a thrown error.
    }
    return null;
  };
  return Object.assign(authenticate, { verify });
}
