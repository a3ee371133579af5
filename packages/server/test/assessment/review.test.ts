import type { DiagnosisUpdatePayload } from '@wardcast/protocol/kinds';
import type { AuthorizeAssessment } from '@wardcast/server/assessment';
import { describe, expect, it } from 'vitest';
import { type AssessFixture, assessBody, startAssess, streamingSynthesizer } from '../helpers/assessment.js';
import { eventually, useHarness } from '../helpers/harness.js';

/** Clinicians (`dr-*`) may do everything; anyone else may submit and read only. */
const authorize: AuthorizeAssessment = (principal, action) =>
  principal.userId.startsWith('dr-') || action === 'submit' || action === 'read';

async function preliminary(fx: AssessFixture, patientId: string): Promise<string> {
  const res = await fx.request('POST', '/api/assess', { body: assessBody(patientId) });
  const id = ((await res.json()) as { data: { assessment_id: string } }).data.assessment_id;
  await eventually(() => fx.pipeline.get(id)?.status === 'preliminary', 'preliminary');
  return id;
}

describe('assessment review', () => {
  const harness = useHarness();

  const start = () =>
    startAssess(
      harness,
      {
        llm: streamingSynthesizer({ deltas: 3, delayMs: 5 }),
        patientFacingTopic: (patientId) => `user:pt-${patientId}`,
      },
      { authorize },
    );

  it('publishes final with reviewedBy, and only then tells the patient-facing topic', async () => {
    const fx = await start();
    const patient = await harness.subscriber(fx, 'pt-p1', ['user:pt-p1']);
    const viewer = await harness.subscriber(fx, 'dr-lee', ['patient:p1']);
    const id = await preliminary(fx, 'p1');
    await viewer.nextFrame('notification', (n) => n.kind === 'diagnosis_update');
    await patient.roundTrip();
    expect(patient.framesOf('notification')).toEqual([]); // nothing before review: no progress, no preliminary

    const res = await fx.request('POST', `/api/assess/${id}/review`, {
      as: 'dr-kim',
      body: { decision: 'final', summary: 'Sepsis excluded; viral illness.' },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: Record<string, unknown> };
    expect(body.data).toMatchObject({
      status: 'final',
      reviewed_by: 'dr-kim',
      result: { summary: 'Sepsis excluded; viral illness.' },
    });
    expect(typeof body.data.patient_notified_at).toBe('string');

    const final = await viewer.nextFrame('notification', (n) => n.kind === 'diagnosis_update');
    expect(final.payload).toMatchObject({
      status: 'final',
      reviewedBy: 'dr-kim',
      summary: 'Sepsis excluded; viral illness.',
    });
    const toPatient = await patient.nextFrame('notification');
    expect(toPatient.kind).toBe('diagnosis_update');
    expect(toPatient.payload).toMatchObject({ assessmentId: id, status: 'final', reviewedBy: 'dr-kim' });
    await patient.roundTrip();
    expect(patient.framesOf('notification')).toHaveLength(1);

    // A final diagnosis may later be retracted; the patient, who saw it, hears of that too.
    const retract = await fx.request('POST', `/api/assess/${id}/review`, { body: { decision: 'retracted' } });
    expect(retract.status).toBe(200);
    const retracted = await patient.nextFrame('notification');
    expect((retracted.payload as DiagnosisUpdatePayload).status).toBe('retracted');
    expect(retracted.priority).toBe('urgent');
  });

  it('retracting a preliminary diagnosis tells clinicians only', async () => {
    const fx = await start();
    const patient = await harness.subscriber(fx, 'pt-p2', ['user:pt-p2']);
    const viewer = await harness.subscriber(fx, 'dr-lee', ['patient:p2']);
    const id = await preliminary(fx, 'p2');
    const res = await fx.request('POST', `/api/assess/${id}/review`, { body: { decision: 'retracted' } });
    expect(res.status).toBe(200);
    const retracted = await viewer.nextFrame(
      'notification',
      (n) => (n.payload as DiagnosisUpdatePayload).status === 'retracted',
    );
    expect(retracted.payload).toMatchObject({ assessmentId: id, reviewedBy: 'dr-lee' });
    await patient.roundTrip();
    expect(patient.framesOf('notification')).toEqual([]);
    expect(fx.pipeline.get(id)?.patientNotifiedAt).toBeUndefined();
  });

  it('refuses reviews by non-clinicians (403), of unfinished or retracted assessments (409), and bad decisions (400)', async () => {
    const fx = await start();
    const id = await preliminary(fx, 'p3');
    const byNurse = await fx.request('POST', `/api/assess/${id}/review`, {
      as: 'nurse-ann',
      body: { decision: 'final' },
    });
    expect(byNurse.status).toBe(403);
    const bad = await fx.request('POST', `/api/assess/${id}/review`, { body: { decision: 'maybe' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    expect((await fx.request('POST', `/api/assess/${id}/review`, { body: { decision: 'retracted' } })).status).toBe(
      200,
    );
    const twice = await fx.request('POST', `/api/assess/${id}/review`, { body: { decision: 'final' } });
    expect(twice.status).toBe(409);
    expect(((await twice.json()) as { error: { code: string } }).error.code).toBe('invalid_state');
    const unknown = await fx.request('POST', '/api/assess/nope/review', { body: { decision: 'final' } });
    expect(unknown.status).toBe(404);
  });

  it('the default policy lets nobody review over HTTP', async () => {
    const fx = await startAssess(harness, { llm: streamingSynthesizer({ deltas: 1 }) });
    const id = await preliminary(fx, 'p4');
    expect((await fx.request('POST', `/api/assess/${id}/review`, { body: { decision: 'final' } })).status).toBe(403);
    // The API itself is not restricted: the integrator authorizes.
    await expect(fx.pipeline.review(id, { reviewedBy: 'dr-lee', decision: 'final' })).resolves.toMatchObject({
      status: 'final',
    });
  });
});
