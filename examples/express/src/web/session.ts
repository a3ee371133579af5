import type { DemoUser } from './types.js';

/** A signed-in demo user. Kept in `sessionStorage`: it survives a reload, not the tab. */
export interface Session {
  readonly token: string;
  readonly expiresAt: number;
  readonly user: DemoUser;
}

const KEY = 'wardcast-demo:session';

export function loadSession(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(KEY);
    const session = raw ? (JSON.parse(raw) as Session) : undefined;
    return session && session.expiresAt > Date.now() ? session : undefined;
  } catch {
    return undefined;
  }
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}

/** Signs in as a demo user (the demo has no passwords: the server signs a token for listed users). */
export async function signIn(userId: string): Promise<Session> {
  const res = await fetch('/api/demo/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId }),
  });
  const body = (await res.json()) as { success: boolean; data?: Session; error?: { message: string } };
  if (!body.success || !body.data) throw new Error(body.error?.message ?? `sign-in failed (${res.status})`);
  saveSession(body.data);
  return body.data;
}

/**
 * The current token for the socket and the API: signs in again when it is within two minutes of
 * expiring (the client asks before expiry and refreshes it on the open socket).
 */
export async function currentToken(userId: string): Promise<string> {
  const session = loadSession();
  if (session && session.user.id === userId && session.expiresAt - Date.now() > 120_000) return session.token;
  return (await signIn(userId)).token;
}
