import { readSynthesis } from './synthesis-text.js';

const percent = (p: number) => `${Math.round(p * 100)}%`;

/** The streamed synthesis as prose: the summary, the likely causes, the next steps. Never raw JSON. */
export function SynthesisProse({ text, streaming }: { readonly text: string; readonly streaming: boolean }) {
  const { summary, differential, recommendations } = readSynthesis(text);
  return (
    <div className={`prose${streaming ? ' is-streaming' : ''}`} data-testid="synthesis" aria-busy={streaming}>
      {summary ? <p>{summary}</p> : <p className="muted">Waiting for the model…</p>}
      {differential.length > 0 && (
        <p>
          Likely causes:{' '}
          {differential
            .map((d) => (d.likelihood === undefined ? d.condition : `${d.condition} (${percent(d.likelihood)})`))
            .join('; ')}
          .
        </p>
      )}
      {recommendations.length > 0 && (
        <>
          <h4>Suggested next steps</h4>
          <ol>
            {recommendations.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}
