'use client';

import { type FormEvent, useState } from 'react';
import { signIn } from './session';

const DEMO_USERS = ['dr-lee', 'nurse-ann', 'p9'] as const;

/** The INSECURE demo sign-in: pick or type a user id, no password. */
export function SignIn() {
  const [userId, setUserId] = useState('dr-lee');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(userId.trim());
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };

  return (
    <form className="card sign-in" onSubmit={submit} aria-label="Sign in">
      <h2>Sign in (demo)</h2>
      <p className="warning">
        Insecure demo sign-in: no password, anyone can be anyone. A real app signs users in with its identity provider.
      </p>
      <label htmlFor="user-id">User id</label>
      <input
        id="user-id"
        value={userId}
        onChange={(e) => setUserId(e.target.value)}
        pattern="[A-Za-z0-9_\-]{1,64}"
        required
      />
      <p className="hint">
        Try{' '}
        {DEMO_USERS.map((id) => (
          <button key={id} type="button" className="chip" onClick={() => setUserId(id)}>
            {id}
          </button>
        ))}
      </p>
      <button type="submit" disabled={busy}>
        Sign in
      </button>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
