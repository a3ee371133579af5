import { useState } from 'react';
import { useDirectory } from './directory.js';
import { type Session, signIn } from './session.js';
import type { DemoUser } from './types.js';

/** The sign-in screen: pick a demo clinician or patient. */
export function SignIn({ onSignedIn }: { readonly onSignedIn: (session: Session) => void }) {
  const { users } = useDirectory();
  const [error, setError] = useState('');
  const choose = async (user: DemoUser) => {
    try {
      onSignedIn(await signIn(user.id));
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const group = (role: DemoUser['role'], heading: string) => (
    <section className="signin-group" aria-label={heading}>
      <h2>{heading}</h2>
      {users
        .filter((u) => u.role === role)
        .map((u) => (
          <button key={u.id} type="button" className="signin-user" data-user={u.id} onClick={() => void choose(u)}>
            <strong>{u.name}</strong>
            <span>{u.detail}</span>
          </button>
        ))}
    </section>
  );
  return (
    <main className="signin">
      <h1>
        <span className="brand-mark" aria-hidden="true">
          ✚
        </span>{' '}
        Wardcast · Ward 7
      </h1>
      <p className="signin-lead">Sign in as a demo user. Open a second tab to see read state and presence sync.</p>
      <div className="signin-groups">
        {group('clinician', 'Clinicians')}
        {group('patient', 'Patients')}
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </main>
  );
}
