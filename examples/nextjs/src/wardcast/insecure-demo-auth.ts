import type { Authenticate, Principal } from '@wardcast/server';

/**
 * INSECURE, DEMO ONLY. A "token" here is the user id in clear text behind a prefix, so anyone
 * who can reach the server can sign in as anyone. It exists so the demo runs with no identity
 * provider. A real app verifies its own session cookie or a signed JWT in `authenticate` (see
 * docs/server.md, "Authentication") and never accepts a user id the browser merely claims.
 */
export const INSECURE_DEMO_TOKEN_PREFIX = 'insecure-demo-token:';

const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Whether `userId` is a valid demo user id (`[A-Za-z0-9_-]{1,64}`). */
export function isDemoUserId(userId: unknown): userId is string {
  return typeof userId === 'string' && USER_ID.test(userId);
}

/** INSECURE: "signs in" `userId` by writing it into a token anyone could forge. */
export function issueInsecureDemoToken(userId: string): string {
  if (!isDemoUserId(userId)) throw new Error('userId must match [A-Za-z0-9_-]{1,64}');
  return `${INSECURE_DEMO_TOKEN_PREFIX}${userId}`;
}

function bearer(header: string | readonly string[] | undefined): string | undefined {
  const value = typeof header === 'string' ? header : header?.[0];
  return value?.startsWith('Bearer ') ? value.slice(7) : undefined;
}

/**
 * INSECURE: the hub's `authenticate` for the demo. Reads the token from the `auth` frame (the
 * browser's WebSocket cannot set headers) or from `Authorization: Bearer` (HTTP endpoints and
 * Node clients), and trusts the user id inside it.
 */
export const insecureDemoAuthenticate: Authenticate = ({ token, request }): Principal | null => {
  const value = token ?? bearer(request.headers.authorization);
  if (!value?.startsWith(INSECURE_DEMO_TOKEN_PREFIX)) return null;
  const userId = value.slice(INSECURE_DEMO_TOKEN_PREFIX.length);
  return isDemoUserId(userId) ? { userId } : null;
};
