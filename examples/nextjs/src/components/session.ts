'use client';

import { useMemo, useSyncExternalStore } from 'react';

/** A signed-in demo user, kept in localStorage so every tab of the browser shares it. */
export interface DemoSession {
  readonly userId: string;
  /** INSECURE demo token (see src/wardcast/insecure-demo-auth.ts). */
  readonly token: string;
  /** Where the hub's WebSocket is, as the server told us at sign-in. */
  readonly wsPath: string;
}

const KEY = 'wardcast-nextjs-demo:session';
const CHANGED = 'wardcast-demo-session';

function subscribe(onChange: () => void): () => void {
  // `storage` fires in the other tabs; our own event in this one.
  window.addEventListener('storage', onChange);
  window.addEventListener(CHANGED, onChange);
  return () => {
    window.removeEventListener('storage', onChange);
    window.removeEventListener(CHANGED, onChange);
  };
}

function write(value: DemoSession | null): void {
  if (value) localStorage.setItem(KEY, JSON.stringify(value));
  else localStorage.removeItem(KEY);
  window.dispatchEvent(new Event(CHANGED));
}

/**
 * The session, shared by the browser's tabs: `undefined` while rendering on the server and
 * during hydration (nothing is known yet), `null` when signed out.
 */
export function useDemoSession(): DemoSession | null | undefined {
  const raw = useSyncExternalStore(
    subscribe,
    () => localStorage.getItem(KEY),
    () => undefined,
  );
  return useMemo(() => {
    if (raw === undefined) return undefined;
    if (raw === null) return null;
    try {
      const value = JSON.parse(raw) as Partial<DemoSession>;
      return typeof value.userId === 'string' && typeof value.token === 'string' && typeof value.wsPath === 'string'
        ? { userId: value.userId, token: value.token, wsPath: value.wsPath }
        : null;
    } catch {
      return null;
    }
  }, [raw]);
}

/** Signs in through the INSECURE demo endpoint and stores the session for every tab. */
export async function signIn(userId: string): Promise<void> {
  const res = await fetch('/api/demo/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: userId }),
  });
  const body = (await res.json()) as
    | { success: true; data: { user_id: string; token: string; ws_path: string } }
    | { success: false; error: { message: string } };
  if (!body.success) throw new Error(body.error.message);
  write({ userId: body.data.user_id, token: body.data.token, wsPath: body.data.ws_path });
}

export function signOut(): void {
  write(null);
}
