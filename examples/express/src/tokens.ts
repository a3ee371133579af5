import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Demo-only signed tokens: `<userId>.<expiresAt>.<hmac>`. A real app verifies its own
 * session cookie or JWT in `authenticate`; the point here is that the hub never trusts a
 * user id the browser merely claims.
 */
export function createTokenIssuer(secret: Buffer = randomBytes(32), ttlMs = 15 * 60_000) {
  const sign = (body: string): string => createHmac('sha256', secret).update(body).digest('base64url');
  return {
    issue(userId: string): { token: string; expiresAt: number } {
      const expiresAt = Date.now() + ttlMs;
      const body = `${userId}.${expiresAt}`;
      return { token: `${body}.${sign(body)}`, expiresAt };
    },
    verify(token: string | undefined): { userId: string; expiresAt: number } | null {
      if (!token) return null;
      const parts = token.split('.');
      if (parts.length !== 3) return null;
      const [userId, exp, mac] = parts as [string, string, string];
      const expected = Buffer.from(sign(`${userId}.${exp}`));
      const given = Buffer.from(mac);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
      const expiresAt = Number(exp);
      if (!Number.isFinite(expiresAt) || expiresAt < Date.now()) return null;
      return { userId, expiresAt };
    },
  };
}
