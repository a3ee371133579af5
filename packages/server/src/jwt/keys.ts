import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import type { ResolvedJwtOptions } from './options.js';
import { JwksUnavailableError } from './reasons.js';

/** What `jwtVerify` gets as its key: a resolver (JWKS) or the secret's bytes. */
export type VerificationKey = JWTVerifyGetKey | Uint8Array;

const KEY_NOT_FOUND = new Set(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS']);

/**
 * Wraps a remote JWKS so that a failed fetch (network error, non-200, timeout, bad JSON) is told
 * apart from a key that is not in the set. jose caches the set for `cacheMaxAge`, refetches for an
 * unknown `kid` at most once per `cooldownDuration`, and shares one fetch between concurrent
 * verifications, so a cold start or a flood of tokens costs the identity provider one request.
 */
function remoteKeys(url: URL, options: ResolvedJwtOptions): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(url, {
    timeoutDuration: options.jwksTimeoutMs,
    cooldownDuration: options.jwksCooldownMs,
    cacheMaxAge: options.jwksCacheMaxAgeMs,
  });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (cause) {
      const code = (cause as { code?: unknown } | null)?.code;
      if (typeof code === 'string' && KEY_NOT_FOUND.has(code)) throw cause;
      throw new JwksUnavailableError({ cause });
    }
  };
}

/** The key material `options` describe. */
export function verificationKey(options: ResolvedJwtOptions): VerificationKey {
  const { key } = options;
  if (key.kind === 'secret') return key.bytes;
  if (key.kind === 'resolver') return key.resolve;
  return remoteKeys(key.url, options);
}
