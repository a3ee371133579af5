import { type FormEvent, useState } from 'react';
import type { DemoPatient } from './types.js';

/** Observations prefilled per demo patient, so one click shows a realistic assessment. */
const PRESETS: Readonly<Record<string, Record<string, string>>> = {
  p9: { rr: '24', spo2: '93', sbp: '98', pulse: '118', temp: '38.9', avpu: 'C' },
  p12: { rr: '18', spo2: '96', sbp: '142', pulse: '96', temp: '37.1', avpu: 'A' },
};
const DEFAULTS = { rr: '16', spo2: '97', sbp: '125', pulse: '78', temp: '36.8', avpu: 'A' };

const FIELDS = [
  ['rr', 'Respiration rate', '/min'],
  ['spo2', 'SpO₂', '%'],
  ['sbp', 'Systolic BP', 'mmHg'],
  ['pulse', 'Pulse', 'bpm'],
  ['temp', 'Temperature', '°C'],
] as const;

interface Props {
  readonly patient: DemoPatient;
  readonly onSubmit: (body: unknown) => Promise<void>;
}

/** Intake and vital signs for `POST /api/assess`. */
export function AssessmentForm({ patient, onSubmit }: Props) {
  const [values, setValues] = useState({
    ...DEFAULTS,
    ...PRESETS[patient.id],
    complaint: patient.complaint,
    o2: false,
  });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const set = (key: string, value: string | boolean) => setValues((v) => ({ ...v, [key]: value }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      await onSubmit({
        patient_id: patient.id,
        intake: { chief_complaint: values.complaint, age: patient.age, sex: patient.sex },
        vitals: {
          respiration_rate: Number(values.rr),
          spo2: Number(values.spo2),
          on_oxygen: values.o2,
          systolic_bp: Number(values.sbp),
          pulse: Number(values.pulse),
          consciousness: values.avpu,
          temperature: Number(values.temp),
        },
      });
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card assess-form" onSubmit={(e) => void submit(e)} aria-labelledby="obs-heading">
      <h3 id="obs-heading">Observations</h3>
      <label className="field field-wide">
        Presenting complaint
        <input value={values.complaint} onChange={(e) => set('complaint', e.target.value)} required maxLength={500} />
      </label>
      <div className="field-grid">
        {FIELDS.map(([key, label, unit]) => (
          <label key={key} className="field">
            {label} <span className="unit">{unit}</span>
            <input inputMode="decimal" value={values[key]} onChange={(e) => set(key, e.target.value)} required />
          </label>
        ))}
        <label className="field">
          Consciousness
          <select value={values.avpu} onChange={(e) => set('avpu', e.target.value)}>
            <option value="A">Alert</option>
            <option value="C">New confusion</option>
            <option value="V">Voice</option>
            <option value="P">Pain</option>
            <option value="U">Unresponsive</option>
          </select>
        </label>
      </div>
      <label className="check">
        <input type="checkbox" checked={values.o2} onChange={(e) => set('o2', e.target.checked)} /> On supplemental
        oxygen
      </label>
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {busy ? 'Requesting…' : 'Request assessment'}
      </button>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </form>
  );
}
