import { currentToken } from './session.js';
import type { InboxItem } from './types.js';

/** An API call as the signed-in user; resolves the envelope's `data`, rejects with its message. */
export async function api<T>(userId: string, path: string, body?: unknown): Promise<T> {
  const token = await currentToken(userId);
  const res = await fetch(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const envelope = (await res.json()) as { success: boolean; data: T; error?: { message: string } };
  if (!envelope.success) throw new Error(envelope.error?.message ?? `request failed (${res.status})`);
  return envelope.data;
}

interface InboxRow {
  id: string;
  topic: string;
  kind: string;
  priority: InboxItem['priority'];
  created_at: string;
  payload: unknown;
  read_at: string | null;
  acknowledged_at: string | null;
}

/** The newest page of the user's inbox (`GET /v1/notifications`), read state included. */
export async function fetchInbox(userId: string): Promise<InboxItem[]> {
  const data = await api<{ items: InboxRow[] }>(userId, '/v1/notifications?limit=100');
  return data.items.map((row) => ({
    id: row.id,
    topic: row.topic,
    kind: row.kind,
    priority: row.priority,
    createdAt: row.created_at,
    payload: row.payload,
    read: row.read_at !== null || row.acknowledged_at !== null,
    acknowledged: row.acknowledged_at !== null,
  }));
}

/** Where a critical result's escalation stands (`GET /api/demo/escalations/:id`). */
export interface EscalationState {
  readonly status: 'pending' | 'acknowledged' | 'unacknowledged';
  readonly step: number;
  readonly deadline: string;
  readonly current_user: string | null;
  readonly next_user: string | null;
  readonly acknowledged_by: string | null;
}

export function fetchEscalation(userId: string, id: string): Promise<EscalationState> {
  return api<EscalationState>(userId, `/api/demo/escalations/${encodeURIComponent(id)}`);
}

/** An assessment as `GET /api/assess/:id` returns it (the fields the page shows). */
export interface AssessmentView {
  readonly assessment_id: string;
  readonly status: string;
  readonly risk?: { readonly total: number; readonly band: string };
  readonly result?: {
    readonly summary: string;
    readonly differential: readonly { readonly condition: string; readonly likelihood: number }[];
    readonly recommendations: readonly string[];
  };
  readonly reviewed_by?: string;
}
