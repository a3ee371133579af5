/**
 * `@wardcast/server/jwt`: an `authenticate` callback that verifies JSON Web Tokens against your
 * identity provider's JWKS or a shared secret, with `jose` (an optional peer dependency: install
 * it yourself). Never imported by the main entry.
 *
 * @packageDocumentation
 * @module \@wardcast/server/jwt
 */

export { type JwtAuthenticator, type JwtVerification, jwtAuthenticator } from './authenticator.js';
export {
  DEFAULT_JWKS_ALGORITHMS,
  DEFAULT_JWT_OPTIONS,
  DEFAULT_SECRET_ALGORITHMS,
  type JwtAuthenticatorOptions,
  type JwtRejection,
} from './options.js';
export { JwtRejectReason, type TokenSource } from './reasons.js';
