import { useState } from 'react';
import { SignIn } from './SignIn.js';
import { clearSession, loadSession, type Session } from './session.js';
import { Workspace } from './Workspace.js';

/** Signed out: the sign-in screen. Signed in: the workspace, one per user (a new user remounts it). */
export function App() {
  const [session, setSession] = useState<Session | undefined>(loadSession);
  if (!session) return <SignIn onSignedIn={setSession} />;
  return (
    <Workspace
      key={session.user.id}
      user={session.user}
      onSignOut={() => {
        clearSession();
        setSession(undefined);
      }}
    />
  );
}
