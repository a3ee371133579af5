import type { UseNotificationsResult } from '@wardcast/client/react';
import { AssessmentForm } from './AssessmentForm.js';
import { AssessmentPanel } from './AssessmentPanel.js';
import { nameOf, useDirectory } from './directory.js';
import { type DemoUser, isDoctor, type Kinds } from './types.js';
import { useAssessment } from './use-assessment.js';

interface Props {
  readonly user: DemoUser;
  readonly patientId: string;
  readonly onOpenPatient: (id: string) => void;
  readonly live: UseNotificationsResult<Kinds>;
}

/** The open patient record: who else is viewing it, the observations form and the assessment. */
export function PatientPanel({ user, patientId, onOpenPatient, live }: Props) {
  const directory = useDirectory();
  const patient = directory.patients.find((p) => p.id === patientId);
  const { state, start, review } = useAssessment(user.id, patientId, live);
  const others = (live.presence[`patient:${patientId}`] ?? []).filter((id) => id !== user.id);

  return (
    <>
      <nav className="patient-tabs" aria-label="My patients">
        {directory.patients.map((p) => (
          <button
            key={p.id}
            type="button"
            className="patient-tab"
            aria-pressed={p.id === patientId}
            onClick={() => onOpenPatient(p.id)}
          >
            {p.name} <span className="muted">{p.bed}</span>
          </button>
        ))}
      </nav>
      {patient && (
        <section className="patient" aria-labelledby="patient-heading">
          <header className="patient-header card">
            <div>
              <h2 id="patient-heading">{patient.name}</h2>
              <p className="muted">
                {patient.age} y, {patient.sex} · {patient.bed} · {patient.complaint}
              </p>
            </div>
            <p className="viewers" data-testid="also-viewing" aria-live="polite">
              {others.length > 0 ? (
                <>
                  <span className="viewers-dot" aria-hidden="true" /> Also viewing:{' '}
                  {others.map((id) => nameOf(directory, id)).join(', ')}
                </>
              ) : (
                <span className="muted">No one else is viewing</span>
              )}
            </p>
          </header>
          <div className="patient-body">
            <AssessmentForm key={patient.id} patient={patient} onSubmit={start} />
            <AssessmentPanel state={state} canSignOff={isDoctor(user)} onReview={(d) => void review(d)} />
          </div>
        </section>
      )}
    </>
  );
}
