import type {
  AiAnalysisPayload,
  AppointmentPayload,
  AssessmentProgressPayload,
  ClinicalKinds,
  DiagnosisUpdatePayload,
  LabResultPayload,
  SystemAlertPayload,
} from '@wardcast/protocol/kinds';
import type {
  ClinicalKind,
  ClinicalPublishInput,
  CustomPublishInput,
  HubCore,
  NotificationHub,
  NotifyResult,
  PublishInput,
  PublishPayload,
  PublishResult,
} from '@wardcast/server';
import { describe, expectTypeOf, it } from 'vitest';

declare const hub: NotificationHub;
declare const core: HubCore;

const T = 'patient:p9';
const appointment: AppointmentPayload = { appointmentId: 'a1', status: 'scheduled', startsAt: '2026-12-01T09:00:00Z' };
const lab: LabResultPayload = {
  labOrderId: 'L-1',
  testName: 'Potassium',
  status: 'final',
  abnormal: true,
  critical: false,
  resultAt: '2026-12-01T09:00:00Z',
};
const analysis: AiAnalysisPayload = { analysisId: 'an-1', analysisType: 'ecg', status: 'completed' };
const diagnosis: DiagnosisUpdatePayload = {
  assessmentId: 'as-1',
  patientId: 'p9',
  status: 'preliminary',
  summary: 'Suspected sepsis',
  differential: [{ condition: 'Sepsis', likelihood: 0.6 }],
  riskScore: 7,
  model: { name: 'local-template', version: '1' },
};
const progress: AssessmentProgressPayload = { assessmentId: 'as-1', stage: 'scoring', percent: 40 };
const alert: SystemAlertPayload = { severity: 'warning', message: 'EHR maintenance at 22:00' };

describe('typed publish', () => {
  it('maps each built-in kind to its payload type', () => {
    expectTypeOf<ClinicalKind>().toEqualTypeOf<keyof ClinicalKinds>();
    expectTypeOf<PublishPayload<'appointment'>>().toEqualTypeOf<AppointmentPayload>();
    expectTypeOf<PublishPayload<'lab_result'>>().toEqualTypeOf<LabResultPayload>();
    expectTypeOf<PublishPayload<'ai_analysis'>>().toEqualTypeOf<AiAnalysisPayload>();
    expectTypeOf<PublishPayload<'diagnosis_update'>>().toEqualTypeOf<DiagnosisUpdatePayload>();
    expectTypeOf<PublishPayload<'assessment_progress'>>().toEqualTypeOf<AssessmentProgressPayload>();
    expectTypeOf<PublishPayload<'system_alert'>>().toEqualTypeOf<SystemAlertPayload>();
    expectTypeOf<PublishPayload<'lab_result' | 'system_alert'>>().toEqualTypeOf<
      LabResultPayload | SystemAlertPayload
    >();
    expectTypeOf<PublishPayload<'custom'>>().toBeUnknown();
    expectTypeOf<PublishPayload<'acme.discharge'>>().toBeUnknown();
    expectTypeOf<PublishPayload<string>>().toBeUnknown();
    // A union mixing built-in and other kinds is not checked.
    expectTypeOf<PublishPayload<'lab_result' | 'acme.discharge'>>().toBeUnknown();
  });

  it('makes PublishInput precise for a built-in kind and keeps it wide otherwise', () => {
    expectTypeOf<PublishInput<'lab_result'>>().toEqualTypeOf<ClinicalPublishInput<'lab_result'>>();
    expectTypeOf<PublishInput<'lab_result'>['payload']>().toEqualTypeOf<LabResultPayload>();
    expectTypeOf<PublishInput>().toEqualTypeOf<CustomPublishInput<string>>();
    expectTypeOf<PublishInput['kind']>().toBeString();
    expectTypeOf<PublishInput['payload']>().toBeUnknown();
    expectTypeOf<PublishInput<'acme.discharge'>>().toEqualTypeOf<CustomPublishInput<'acme.discharge'>>();
    // Any precise input is still a PublishInput: it can go wherever the wide type is expected.
    expectTypeOf<ClinicalPublishInput<'system_alert'>>().toExtend<PublishInput>();
  });

  it('accepts the right payload for every built-in kind', () => {
    expectTypeOf(hub.publish(T, { kind: 'appointment', payload: appointment })).resolves.toEqualTypeOf<PublishResult>();
    expectTypeOf(hub.publish(T, { kind: 'lab_result', payload: lab })).resolves.toEqualTypeOf<PublishResult>();
    expectTypeOf(hub.publish(T, { kind: 'ai_analysis', payload: analysis })).resolves.toEqualTypeOf<PublishResult>();
    expectTypeOf(
      hub.publish(T, { kind: 'diagnosis_update', payload: diagnosis }),
    ).resolves.toEqualTypeOf<PublishResult>();
    expectTypeOf(
      hub.publish(T, { kind: 'assessment_progress', payload: progress }),
    ).resolves.toEqualTypeOf<PublishResult>();
    expectTypeOf(hub.publish(T, { kind: 'system_alert', payload: alert })).resolves.toEqualTypeOf<PublishResult>();
    // Inline literals, with every other field.
    void hub.publish(T, {
      kind: 'lab_result',
      priority: 'critical',
      id: 'lab-1',
      payload: { ...lab, critical: true, value: '6.4', unit: 'mmol/L' },
      escalation: { chain: [{ userId: 'dr-lee', deadlineMs: 300_000 }] },
    });
    void hub.publish(T, {
      kind: 'system_alert',
      payload: { severity: 'info', message: 'Hi', until: '2026-12-01T09:00Z' },
    });
    void core.publish(T, { kind: 'appointment', payload: { ...appointment, location: 'Clinic B' } });
  });

  it('rejects a wrong payload for every built-in kind', () => {
    // @ts-expect-error: a lab result is not an appointment
    void hub.publish(T, { kind: 'appointment', payload: lab });
    // @ts-expect-error: an appointment is not a lab result
    void hub.publish(T, { kind: 'lab_result', payload: appointment });
    // @ts-expect-error: the issue's example
    void hub.publish(T, { kind: 'lab_result', payload: { wrong: 1 } });
    // @ts-expect-error: an alert is not an AI analysis
    void hub.publish(T, { kind: 'ai_analysis', payload: alert });
    // @ts-expect-error: progress is not a diagnosis
    void hub.publish(T, { kind: 'diagnosis_update', payload: progress });
    // @ts-expect-error: a diagnosis is not progress
    void hub.publish(T, { kind: 'assessment_progress', payload: diagnosis });
    // @ts-expect-error: an analysis is not an alert
    void hub.publish(T, { kind: 'system_alert', payload: analysis });
    // The same through HubCore, for other transports.
    // @ts-expect-error: an analysis is not an alert
    void core.publish(T, { kind: 'system_alert', payload: analysis });
  });

  it('rejects a wrongly typed field, an undeclared field and a missing payload of a built-in kind', () => {
    // @ts-expect-error: severity is an enum
    void hub.publish(T, { kind: 'system_alert', payload: { severity: 'loud', message: 'x' } });
    // @ts-expect-error: abnormal is a boolean
    void hub.publish(T, { kind: 'lab_result', payload: { ...lab, abnormal: 'yes' } });
    // @ts-expect-error: testName is required
    void hub.publish(T, { kind: 'lab_result', payload: { ...lab, testName: undefined } });
    // @ts-expect-error: patientName is not a field of an appointment (the schema would strip it)
    void hub.publish(T, { kind: 'appointment', payload: { ...appointment, patientName: 'Jane' } });
    // @ts-expect-error: likelihood is a number
    void hub.publish(T, { kind: 'diagnosis_update', payload: { ...diagnosis, differential: [{ condition: 'c' }] } });
    // @ts-expect-error: percent is a number
    void hub.publish(T, { kind: 'assessment_progress', payload: { ...progress, percent: '40' } });
    // @ts-expect-error: analysisId is required
    void hub.publish(T, { kind: 'ai_analysis', payload: { analysisType: 'ecg', status: 'completed' } });
    // @ts-expect-error: a built-in kind needs its payload
    void hub.publish(T, { kind: 'lab_result', id: 'n1' });
  });

  it('leaves custom and defined kinds untyped', () => {
    hub.defineKind('acme.discharge', { schema: { safeParse: (value) => ({ success: true, data: value }) } });
    void hub.publish(T, { kind: 'custom', payload: { note: 'Bed moved to 4B' } });
    void hub.publish(T, { kind: 'custom', payload: 'any JSON value' });
    void hub.publish(T, { kind: 'custom' });
    void hub.publish(T, { kind: 'acme.discharge', priority: 'urgent', payload: { encounterId: 'e1', status: 'done' } });
  });

  it('still accepts a wide PublishInput and a kind typed as string (checked at runtime only)', () => {
    const wide: PublishInput = { kind: 'lab_result', payload: { wrong: 1 } };
    void hub.publish(T, wide);
    const kind: string = 'lab_result';
    void hub.publish(T, { kind, payload: { wrong: 1 } });
    // A literal in a variable widens to string: name the kind to keep the check.
    const widened = { kind: 'lab_result', payload: { wrong: 1 } };
    void hub.publish(T, widened);
    // @ts-expect-error: typed ahead of the call, the payload is checked
    const typed: PublishInput<'lab_result'> = { kind: 'lab_result', payload: { wrong: 1 } };
    void hub.publish(T, typed);
    // A function typed with the wide input still fits where a publish function is expected.
    const publish: (topic: string, input: PublishInput) => Promise<PublishResult> = (topic, input) =>
      hub.publish(topic, input);
    void publish;
  });

  it('accepts a kind typed as a union of built-in kinds with any of their payloads', () => {
    const PAYLOADS: { readonly [K in ClinicalKind]: ClinicalKinds[K] } = {
      appointment,
      lab_result: lab,
      ai_analysis: analysis,
      diagnosis_update: diagnosis,
      assessment_progress: progress,
      system_alert: alert,
    };
    for (const kind of Object.keys(PAYLOADS) as ClinicalKind[]) void hub.publish(T, { kind, payload: PAYLOADS[kind] });
    const either = 'lab_result' as 'lab_result' | 'system_alert';
    void hub.publish(T, { kind: either, payload: alert });
    // @ts-expect-error: an appointment is neither a lab result nor an alert
    void hub.publish(T, { kind: either, payload: appointment });
  });
});

describe('typed notify helpers', () => {
  it('types each helper by its kind', () => {
    expectTypeOf(hub.notify.appointment).parameter(1).toEqualTypeOf<AppointmentPayload>();
    expectTypeOf(hub.notify.labResult).parameter(1).toEqualTypeOf<LabResultPayload>();
    expectTypeOf(hub.notify.aiAnalysis).parameter(1).toEqualTypeOf<AiAnalysisPayload>();
    expectTypeOf(hub.notify.diagnosis).parameter(1).toEqualTypeOf<DiagnosisUpdatePayload>();
    expectTypeOf(hub.notify.systemAlert).parameter(0).toEqualTypeOf<SystemAlertPayload>();
    expectTypeOf(hub.notify.labResult('dr-lee', lab)).resolves.toEqualTypeOf<NotifyResult>();
  });

  it('rejects a wrong payload for every helper', () => {
    // @ts-expect-error: a lab result is not an appointment
    void hub.notify.appointment('u1', lab);
    // @ts-expect-error: an appointment is not a lab result
    void hub.notify.labResult('u1', appointment);
    // @ts-expect-error: an alert is not an AI analysis
    void hub.notify.aiAnalysis('u1', alert);
    // @ts-expect-error: progress is not a diagnosis
    void hub.notify.diagnosis('p9', progress);
    // @ts-expect-error: an analysis is not an alert
    void hub.notify.systemAlert(analysis);
  });

  it('checks notify.custom like publish: built-in kinds typed, others not', () => {
    void hub.notify.custom(T, 'acme.discharge', { encounterId: 'e1', status: 'done' });
    void hub.notify.custom(T, 'custom', 'any JSON value');
    void hub.notify.custom(T, 'assessment_progress', progress, { priority: 'routine' });
    // @ts-expect-error: a built-in kind through custom is still checked
    void hub.notify.custom(T, 'assessment_progress', { wrong: 1 });
    const kind: string = 'assessment_progress';
    void hub.notify.custom(T, kind, { wrong: 1 });
  });
});
