import type { InboxItem } from './types.js';

type Row = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** A notification's headline and detail line, in plain words. */
export function describe(item: Pick<InboxItem, 'kind' | 'payload'>): { title: string; detail: string } {
  const p = (typeof item.payload === 'object' && item.payload !== null ? item.payload : {}) as Row;
  switch (item.kind) {
    case 'lab_result': {
      const value = [str(p.value), str(p.unit)].filter(Boolean).join(' ');
      const range = str(p.referenceRange) ? ` (ref ${str(p.referenceRange)})` : '';
      return {
        title: `${p.critical ? 'Critical result' : 'Lab result'}: ${str(p.testName)}`,
        detail: `${value}${range}`,
      };
    }
    case 'appointment':
      return {
        title: `Appointment ${str(p.status).replace('_', ' ')}`,
        detail: [formatWhen(str(p.startsAt)), str(p.location), str(p.message)].filter(Boolean).join(' · '),
      };
    case 'diagnosis_update':
      return { title: `Diagnosis ${str(p.status)}`, detail: str(p.summary) };
    case 'system_alert':
      return { title: 'System alert', detail: str(p.message) };
    case 'ai_analysis':
      return { title: `Analysis ${str(p.status)}`, detail: str(p.summary) };
    default:
      return { title: str(p.title) || item.kind, detail: str(p.message) };
  }
}

export function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function formatWhen(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return date.toLocaleString([], { weekday: 'short', hour: '2-digit', minute: '2-digit' });
}

/** `m:ss` for a countdown. */
export function formatCountdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}
