import type { UseNotificationsResult } from '@wardcast/client/react';
import type { AssessmentProgressPayload, DiagnosisUpdatePayload } from '@wardcast/protocol/kinds';
import { useEffect, useMemo, useState } from 'react';
import { type AssessmentView, api } from './api.js';
import type { Kinds } from './types.js';

/** The assessment shown for a patient, from the live frames on `patient:<id>` and the API. */
export interface AssessmentState {
  readonly id: string;
  readonly stage: string;
  readonly percent: number;
  /** The streamed synthesis so far (raw model output). */
  readonly partialText: string;
  readonly reason?: string;
  readonly diagnosis?: DiagnosisUpdatePayload;
  /** `GET /api/assess/:id`, once there is a diagnosis (for the recommendations) or after a reload. */
  readonly view?: AssessmentView;
}

const storedKey = (patientId: string) => `wardcast-demo:assessment:${patientId}`;

/** The newest assessment of the patient; `start` requests one, `review` signs it off. */
export function useAssessment(userId: string, patientId: string, live: UseNotificationsResult<Kinds>) {
  const [requested, setRequested] = useState(() => sessionStorage.getItem(storedKey(patientId)) ?? undefined);
  const [view, setView] = useState<AssessmentView>();

  const frames = useMemo(
    () =>
      live.notifications.flatMap((n) =>
        n.topic === `patient:${patientId}` && (n.kind === 'assessment_progress' || n.kind === 'diagnosis_update')
          ? [n.payload as AssessmentProgressPayload | DiagnosisUpdatePayload]
          : [],
      ),
    [live.notifications, patientId],
  );
  const id = frames[0]?.assessmentId ?? requested;
  const mine = frames.filter((f) => f.assessmentId === id);
  const progress = mine.filter((f): f is AssessmentProgressPayload => 'stage' in f);
  const diagnosis = mine.find((f): f is DiagnosisUpdatePayload => 'status' in f && 'differential' in f);
  const latestText = progress.find((p) => typeof p.partialText === 'string')?.partialText ?? '';
  const needsView = id !== undefined && (diagnosis !== undefined || mine.length === 0);
  const viewKey = needsView ? `${id}:${diagnosis?.status ?? ''}` : '';

  // biome-ignore lint/correctness/useExhaustiveDependencies: viewKey captures id and status.
  useEffect(() => {
    if (!viewKey || !id) return;
    let alive = true;
    api<AssessmentView>(userId, `/api/assess/${encodeURIComponent(id)}`).then(
      (v) => alive && setView(v),
      () => {},
    );
    return () => {
      alive = false;
    };
  }, [viewKey, userId]);

  const state: AssessmentState | undefined = id
    ? {
        id,
        stage: diagnosis?.status ?? progress[0]?.stage ?? (view?.assessment_id === id ? view.status : 'queued'),
        percent: diagnosis ? 100 : (progress[0]?.percent ?? 0),
        partialText: latestText,
        ...(progress[0]?.reason === undefined ? {} : { reason: progress[0].reason }),
        ...(diagnosis === undefined ? {} : { diagnosis }),
        ...(view?.assessment_id === id ? { view } : {}),
      }
    : undefined;

  const start = async (body: unknown) => {
    const data = await api<{ assessment_id: string }>(userId, '/api/assess', body);
    sessionStorage.setItem(storedKey(patientId), data.assessment_id);
    setRequested(data.assessment_id);
  };
  const review = async (decision: 'final' | 'retracted') => {
    if (!id) return;
    setView(await api<AssessmentView>(userId, `/api/assess/${encodeURIComponent(id)}/review`, { decision }));
  };
  return { state, start, review };
}
