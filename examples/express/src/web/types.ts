import type { ClinicalKinds } from '@wardcast/protocol/kinds';

/** Payloads by notification kind, as the hub validated them. */
export type Kinds = ClinicalKinds & { custom: { title?: string; message?: string } };

export interface DemoUser {
  readonly id: string;
  readonly name: string;
  readonly role: 'clinician' | 'patient';
  readonly detail: string;
}

export interface DemoPatient {
  readonly id: string;
  readonly name: string;
  readonly age: number;
  readonly sex: 'female' | 'male';
  readonly bed: string;
  readonly complaint: string;
}

export interface Directory {
  readonly users: readonly DemoUser[];
  readonly patients: readonly DemoPatient[];
}

/** One inbox row, from `GET /v1/notifications` or live from the socket. */
export interface InboxItem {
  readonly id: string;
  readonly topic: string;
  readonly kind: string;
  readonly priority: 'routine' | 'urgent' | 'critical';
  readonly createdAt: string;
  readonly payload: unknown;
  readonly read: boolean;
  readonly acknowledged: boolean;
}

export function isDoctor(user: DemoUser): boolean {
  return user.role === 'clinician' && user.id.startsWith('dr-');
}
