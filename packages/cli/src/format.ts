import type { ClientNotification } from '@wardcast/client';

/** Longest payload summary in a text line, characters. */
const SUMMARY_MAX = 120;

/** Replaces control characters (ANSI escapes, newlines) so a payload cannot rewrite the terminal. */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point.
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
}

function clip(text: string, max: number): string {
  const clean = printable(text).trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

type Fields = Readonly<Record<string, unknown>>;

const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;

/** The payload fields shown, in order, for each built-in kind (ids first: they survive `id-only`). */
const SUMMARIES: Readonly<Record<string, (p: Fields) => readonly unknown[]>> = {
  custom: (p) => [
    p.title === undefined ? undefined : `${str(p.title)}${p.message === undefined ? '' : ':'}`,
    p.message,
  ],
  appointment: (p) => [p.appointmentId, p.status, p.startsAt, p.location, p.message],
  lab_result: (p) => [
    p.labOrderId,
    p.testName,
    [str(p.value), str(p.unit)].filter(Boolean).join(' ') || undefined,
    p.status,
    p.critical === true ? 'CRITICAL' : p.abnormal === true ? 'abnormal' : undefined,
  ],
  ai_analysis: (p) => [p.analysisId, p.analysisType, p.status, p.summary],
  diagnosis_update: (p) => [
    p.assessmentId,
    p.status,
    p.riskScore === undefined ? undefined : `risk ${str(p.riskScore)}`,
    p.summary,
  ],
  assessment_progress: (p) => [
    p.assessmentId,
    p.stage,
    p.percent === undefined ? undefined : `${str(p.percent)}%`,
    p.reason,
  ],
  system_alert: (p) => [p.severity, p.message],
};

/**
 * A short, one-line summary of a payload: the telling fields of a built-in kind, otherwise compact
 * JSON; `(no payload)` for `null` (the `empty` PHI level).
 */
export function summarize(kind: string, payload: unknown): string {
  if (payload === null || payload === undefined) return '(no payload)';
  const pick = SUMMARIES[kind];
  if (pick && typeof payload === 'object' && !Array.isArray(payload)) {
    const parts = pick(payload as Fields)
      .map(str)
      .filter((s): s is string => s !== undefined && s !== '');
    if (parts.length > 0) return clip(parts.join(' '), SUMMARY_MAX);
  }
  return clip(JSON.stringify(payload) ?? String(payload), SUMMARY_MAX);
}

function clock(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return clip(iso, 30);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/**
 * One notification as a readable line: local time of publication, topic, `#seq`, kind, priority
 * (upper case when critical), the payload summary, and the PHI level when reduced.
 *
 * @example
 * ```
 * 14:02:11.512  user:dr-lee  #7  lab_result  CRITICAL  L-1 Potassium 6.9 mmol/L final CRITICAL
 * ```
 */
export function formatLine(n: ClientNotification): string {
  const priority = n.priority === 'critical' ? 'CRITICAL' : n.priority;
  const phi = (n as { phi?: unknown }).phi;
  const parts = [
    clock(n.createdAt),
    printable(n.topic),
    `#${n.seq}`,
    printable(n.kind),
    printable(String(priority)),
    summarize(n.kind, n.payload),
  ];
  if (typeof phi === 'string') parts.push(`[phi: ${printable(phi)}]`);
  return parts.join('  ');
}
