import type { NotificationHub, Principal } from '@wardcast/server';
import type { Request, Response } from 'express';

export function bearer(header: string | readonly string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.startsWith('Bearer ') ? value.slice(7) : undefined;
}

/** Sends a JSON error in the SDK's envelope. */
export function fail(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ success: false, error: { code, message } });
}

/** The caller's principal from `Authorization: Bearer`, or a 401 already sent. */
export async function signedIn(hub: NotificationHub, req: Request, res: Response): Promise<Principal | undefined> {
  const principal = await hub.authenticateRequest({ headers: req.headers }, bearer(req.headers.authorization));
  if (!principal) fail(res, 401, 'unauthorized', 'sign in first');
  return principal;
}
