import { nameOf, useDirectory } from './directory.js';

export interface DiagnosisFacts {
  readonly status: string;
  readonly summary: string;
  readonly differential: readonly { readonly condition: string; readonly likelihood: number }[];
  readonly recommendations: readonly string[];
  readonly riskScore?: number;
  readonly riskBand?: string;
  readonly model?: string;
  readonly reviewedBy?: string;
}

interface Props {
  readonly facts: DiagnosisFacts;
  readonly canSignOff: boolean;
  readonly onReview: (decision: 'final' | 'retracted') => void;
}

const STATUS_TEXT: Readonly<Record<string, string>> = {
  preliminary: 'Preliminary · awaiting clinician sign-off',
  final: 'Final',
  retracted: 'Retracted',
};

/** The diagnosis: status, risk, differential with likelihoods, next steps, and the sign-off. */
export function DiagnosisCard({ facts, canSignOff, onReview }: Props) {
  const directory = useDirectory();
  return (
    <article className={`diagnosis diagnosis-${facts.status}`} data-testid="diagnosis" data-status={facts.status}>
      <header>
        <h3>Diagnosis</h3>
        <span className={`tag tag-${facts.status}`} data-testid="diagnosis-status">
          {STATUS_TEXT[facts.status] ?? facts.status}
        </span>
      </header>
      {facts.riskScore !== undefined && (
        <p className="risk">
          NEWS2 <strong>{facts.riskScore}</strong>
          {facts.riskBand ? ` · ${facts.riskBand} clinical risk` : ''}
        </p>
      )}
      <p>{facts.summary}</p>
      <table className="differential">
        <caption>Differential</caption>
        <tbody>
          {facts.differential.map((d) => (
            <tr key={d.condition}>
              <th scope="row">{d.condition}</th>
              <td>
                <meter min={0} max={1} value={d.likelihood} aria-label={`${d.condition} likelihood`} />{' '}
                {Math.round(d.likelihood * 100)}%
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {facts.recommendations.length > 0 && (
        <>
          <h4>Next steps</h4>
          <ol>
            {facts.recommendations.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ol>
        </>
      )}
      <footer className="diagnosis-footer">
        {facts.model && <span className="muted">Model: {facts.model}</span>}
        {facts.reviewedBy && (
          <span data-testid="signed-off-by">
            {facts.status === 'retracted' ? 'Retracted' : 'Signed off'} by {nameOf(directory, facts.reviewedBy)}
          </span>
        )}
        {canSignOff && facts.status === 'preliminary' && (
          <span className="signoff">
            <button type="button" className="btn btn-primary" onClick={() => onReview('final')}>
              Sign off as final
            </button>
            <button type="button" className="btn btn-quiet" onClick={() => onReview('retracted')}>
              Retract
            </button>
          </span>
        )}
      </footer>
    </article>
  );
}
