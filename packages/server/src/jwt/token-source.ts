import type { AuthContext } from '../core/types.js';
import { bearerToken } from '../http/auth.js';
import type { TokenSource } from './reasons.js';

/** A token found in an {@link AuthContext}, and where. */
export interface FoundToken {
  readonly token: string;
  readonly source: TokenSource;
}

/** The value of cookie `name` in a `Cookie` header (several headers are joined), if present. */
export function cookieValue(header: string | readonly string[] | undefined, name: string): string | undefined {
  const joined = typeof header === 'string' ? header : header?.join('; ');
  if (joined === undefined) return undefined;
  for (const part of joined.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return undefined;
}

/**
 * The token to verify: the `auth` frame's (in-band login and every refresh), else the
 * `Authorization: Bearer` header's (when `bearer`), else the cookie's (when `cookie` is set).
 * Only the first source present is used: a bad header is not retried with the cookie.
 */
export function findToken(ctx: AuthContext, bearer: boolean, cookie: string | undefined): FoundToken | undefined {
  if (ctx.token !== undefined) return { token: ctx.token, source: 'frame' };
  const headers = ctx.request.headers;
  if (bearer) {
    const token = bearerToken(headers.authorization);
    if (token !== undefined) return { token, source: 'header' };
  }
  if (cookie !== undefined) {
    const token = cookieValue(headers.cookie, cookie);
    if (token !== undefined && token !== '') return { token, source: 'cookie' };
  }
  return undefined;
}
