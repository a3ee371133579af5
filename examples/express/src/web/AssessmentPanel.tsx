import { DiagnosisCard, type DiagnosisFacts } from './DiagnosisCard.js';
import { SynthesisProse } from './SynthesisProse.js';
import type { AssessmentState } from './use-assessment.js';

const STEPS = ['queued', 'scoring', 'synthesis', 'preliminary', 'final'] as const;
const STEP_LABEL: Readonly<Record<string, string>> = {
  queued: 'Queued',
  scoring: 'NEWS2',
  synthesis: 'Synthesis',
  preliminary: 'Preliminary',
  final: 'Signed off',
};
const ORDER: Readonly<Record<string, number>> = { preliminary: 1, final: 2, retracted: 3 };

/** The diagnosis facts from the live frame and the API view, whichever is further along. */
function factsOf(state: AssessmentState): DiagnosisFacts | undefined {
  const { diagnosis: d, view: v } = state;
  const viewStatus = v && (ORDER[v.status] ?? 0) > 0 ? v.status : undefined;
  if (!d && !viewStatus) return undefined;
  const status =
    (ORDER[viewStatus ?? ''] ?? 0) > (ORDER[d?.status ?? ''] ?? 0) ? (viewStatus as string) : (d?.status as string);
  const reviewedBy = d?.reviewedBy ?? v?.reviewed_by;
  return {
    status,
    summary: d?.summary ?? v?.result?.summary ?? '',
    differential: d?.differential ?? v?.result?.differential ?? [],
    recommendations: v?.result?.recommendations ?? [],
    ...(d || v?.risk ? { riskScore: d?.riskScore ?? v?.risk?.total ?? 0 } : {}),
    ...(v?.risk ? { riskBand: v.risk.band } : {}),
    ...(d ? { model: `${d.model.name} (${d.model.version})` } : {}),
    ...(reviewedBy ? { reviewedBy } : {}),
  };
}

interface Props {
  readonly state: AssessmentState | undefined;
  readonly canSignOff: boolean;
  readonly onReview: (decision: 'final' | 'retracted') => void;
}

/** Where the assessment is: the stages, the synthesis as it streams, then the diagnosis. */
export function AssessmentPanel({ state, canSignOff, onReview }: Props) {
  if (!state) {
    return (
      <section className="card assessment" aria-labelledby="assessment-heading" data-testid="assessment">
        <h3 id="assessment-heading">AI-assisted assessment</h3>
        <p className="muted">No assessment yet. Enter the observations and request one.</p>
      </section>
    );
  }
  const facts = factsOf(state);
  const stage = facts?.status ?? state.stage;
  const current = STEPS.indexOf(stage as (typeof STEPS)[number]);
  const stopped = stage === 'failed' || stage === 'cancelled';
  return (
    <section
      className="card assessment"
      aria-labelledby="assessment-heading"
      data-testid="assessment"
      data-stage={stage}
    >
      <h3 id="assessment-heading">AI-assisted assessment</h3>
      <ol className="stepper" aria-label="Assessment progress">
        {STEPS.map((step, i) => (
          <li key={step} className={i < current ? 'done' : i === current ? 'current' : ''}>
            {STEP_LABEL[step]}
          </li>
        ))}
      </ol>
      {!facts && !stopped && (
        <progress max={100} value={state.percent} aria-label="Assessment progress">
          {state.percent}%
        </progress>
      )}
      {stopped && (
        <p role="alert" className="error">
          The assessment {stage}: {state.reason ?? 'no reason given'}.
        </p>
      )}
      <div aria-live="polite">
        {facts ? (
          <DiagnosisCard facts={facts} canSignOff={canSignOff} onReview={onReview} />
        ) : (
          !stopped && <SynthesisProse text={state.partialText} streaming={stage === 'synthesis'} />
        )}
      </div>
    </section>
  );
}
