import { useState } from 'react';
import { api } from './api.js';
import type { DemoUser } from './types.js';

const CLINICIAN_SCENARIOS = [
  ['lab_result', 'Lab result'],
  ['critical_lab', 'Critical result'],
  ['message', 'Bed manager message'],
] as const;
const PATIENT_SCENARIOS = [['appointment', 'Appointment reminder']] as const;

/** Demo only: ask the server to publish a realistic notification to me. */
export function DemoControls({ user }: { readonly user: DemoUser }) {
  const [note, setNote] = useState('');
  const scenarios = user.role === 'clinician' ? CLINICIAN_SCENARIOS : PATIENT_SCENARIOS;
  const send = async (scenario: string, label: string) => {
    try {
      await api(user.id, '/api/demo/simulate', { scenario });
      setNote(`Sent: ${label}`);
    } catch (err) {
      setNote((err as Error).message);
    }
  };
  return (
    <section className="demo-controls" aria-label="Demo controls">
      <h3>Demo: send me</h3>
      <div className="demo-buttons">
        {scenarios.map(([scenario, label]) => (
          <button key={scenario} type="button" className="btn btn-quiet" onClick={() => void send(scenario, label)}>
            {label}
          </button>
        ))}
      </div>
      <p className="demo-note" role="status">
        {note}
      </p>
    </section>
  );
}
