/**
 * The demo's people: who can sign in, what they are called, and what they may see. A real app
 * gets this from its identity provider and its care-team records.
 */

/** A clinician (`dr-*` may sign off diagnoses) or a patient (who sees only their own inbox). */
export interface DemoUser {
  readonly id: string;
  readonly name: string;
  readonly role: 'clinician' | 'patient';
  /** Job title for clinicians, ward and bed for patients. */
  readonly detail: string;
}

/** A patient record clinicians can open (the patient's user id is the record id). */
export interface DemoPatient {
  readonly id: string;
  readonly name: string;
  readonly age: number;
  readonly sex: 'female' | 'male';
  readonly bed: string;
  readonly complaint: string;
}

export const CLINICIANS: readonly DemoUser[] = [
  { id: 'dr-ada', name: 'Dr Ada Okafor', role: 'clinician', detail: 'Acute medicine registrar' },
  { id: 'dr-grace', name: 'Dr Grace Lindqvist', role: 'clinician', detail: 'Consultant physician' },
  { id: 'nurse-sam', name: 'Sam Patel', role: 'clinician', detail: 'Charge nurse, Ward 7' },
];

export const PATIENTS: readonly DemoPatient[] = [
  { id: 'p9', name: 'Maria Lopez', age: 71, sex: 'female', bed: 'Ward 7, bed 4', complaint: 'fever and new confusion' },
  {
    id: 'p12',
    name: 'Tom Becker',
    age: 58,
    sex: 'male',
    bed: 'Ward 7, bed 11',
    complaint: 'chest tightness on exertion',
  },
];

const PATIENT_USERS: readonly DemoUser[] = PATIENTS.map((p) => ({
  id: p.id,
  name: p.name,
  role: 'patient',
  detail: p.bed,
}));

/** Everyone who can sign in. */
export const USERS: readonly DemoUser[] = [...CLINICIANS, ...PATIENT_USERS];

export function findUser(id: string): DemoUser | undefined {
  return USERS.find((u) => u.id === id);
}

export function isClinician(userId: string): boolean {
  return findUser(userId)?.role === 'clinician';
}

/** Doctors sign off AI-assisted diagnoses; nurses may request assessments but not finalize them. */
export function maySignOff(userId: string): boolean {
  return isClinician(userId) && userId.startsWith('dr-');
}

export function isPatientRecord(patientId: string): boolean {
  return PATIENTS.some((p) => p.id === patientId);
}

/**
 * Who a critical result for `userId` escalates to if they do not acknowledge it: the other
 * clinicians, doctors first, then the charge nurse.
 */
export function escalationChain(userId: string, stepMs: number): { userId: string; deadlineMs: number }[] {
  const others = CLINICIANS.filter((c) => c.id !== userId).map((c) => c.id);
  return [userId, ...others].map((id) => ({ userId: id, deadlineMs: stepMs }));
}
