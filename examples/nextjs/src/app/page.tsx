'use client';

import { Inbox } from '../components/inbox';
import { signOut, useDemoSession } from '../components/session';
import { SignIn } from '../components/sign-in';

// A Client Component page: rendered on the server (and prerendered by `next build`) with no
// session and no connection, then hydrated; `useNotifications` connects in an effect, in the
// browser only. `reactStrictMode` (next.config.ts) double-mounts it in development, and the hook
// still opens one socket.
export default function Page() {
  const session = useDemoSession();
  return (
    <main>
      <header className="top">
        <h1>Wardcast · ward notifications</h1>
        {session && (
          <p className="who">
            Signed in as <strong data-testid="user">{session.userId}</strong>{' '}
            <button type="button" className="link" onClick={signOut}>
              Sign out
            </button>
          </p>
        )}
      </header>
      {session === undefined ? null : session ? (
        // A new user means new hook options: remount with a key, which opens a new connection.
        <Inbox key={session.userId} session={session} />
      ) : (
        <SignIn />
      )}
    </main>
  );
}
