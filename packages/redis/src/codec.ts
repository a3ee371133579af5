import type { NotificationDraft, StoredNotification } from '@wardcast/server';

/** The JSON a notification is stored and published as: the draft, without epoch and seq. */
export function encodeDraft(draft: NotificationDraft): string {
  const { id, topic, kind, priority, createdAt, payload } = draft;
  return JSON.stringify({ id, topic, kind, priority, createdAt, payload });
}

function withPosition(json: string, epoch: string, seq: number): StoredNotification {
  const draft = JSON.parse(json) as NotificationDraft;
  return { ...draft, epoch, seq };
}

/** A pub/sub message `epoch \n seq \n json`, as the append script publishes it. */
export function decodeMessage(message: string): StoredNotification | undefined {
  const a = message.indexOf('\n');
  const b = a < 0 ? -1 : message.indexOf('\n', a + 1);
  if (b < 0) return undefined;
  const seq = Number(message.slice(a + 1, b));
  if (!Number.isSafeInteger(seq) || seq < 1) return undefined;
  try {
    return withPosition(message.slice(b + 1), message.slice(0, a), seq);
  } catch {
    return undefined;
  }
}

/** Stream entries as XREVRANGE returns them (newest first), oldest first. */
export function decodeEntries(epoch: string, raw: unknown): StoredNotification[] {
  const out: StoredNotification[] = [];
  if (!Array.isArray(raw)) return out;
  for (let i = raw.length - 1; i >= 0; i--) {
    const fields = (raw[i] as [string, string[]])[1];
    let seq = 0;
    let json: string | undefined;
    for (let f = 0; f + 1 < fields.length; f += 2) {
      if (fields[f] === 's') seq = Number(fields[f + 1]);
      else if (fields[f] === 'n') json = fields[f + 1];
    }
    if (json !== undefined && seq > 0) out.push(withPosition(json, epoch, seq));
  }
  return out;
}
