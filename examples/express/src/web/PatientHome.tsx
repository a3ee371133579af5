import type { DemoUser } from './types.js';

/** What a patient sees beside their inbox. */
export function PatientHome({ user }: { readonly user: DemoUser }) {
  return (
    <section className="card patient-home" aria-labelledby="home-heading">
      <h2 id="home-heading">Hello, {user.name.split(' ')[0]}</h2>
      <p>
        Your care team's updates arrive in your inbox as they happen: appointment changes, and a diagnosis once a doctor
        has reviewed and signed it off. Preliminary, unreviewed results are never sent to you.
      </p>
      <p className="muted">{user.detail}</p>
    </section>
  );
}
