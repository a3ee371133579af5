import { type PhiLevel, PROTOCOL_VERSION, type ServerFrame } from '@wardcast/protocol';
import type { StoredNotification } from './types.js';

/** Serialises a server frame. */
export function encodeFrame(frame: ServerFrame): string {
  return JSON.stringify(frame);
}

/**
 * Serialises a notification frame; called once per publish and PHI level, not once per
 * subscriber. `payload` is the (possibly reduced) payload for `level`. `payloadJson`, when given,
 * must be `JSON.stringify(payload)`: the payload is then not serialised again (a publish already
 * did it to measure the payload).
 */
export function encodeNotification(
  n: StoredNotification,
  payload: unknown = n.payload,
  level: PhiLevel = 'full',
  payloadJson: string | undefined = JSON.stringify(payload),
): string {
  // One envelope for every level: `payload` (left out when undefined, as JSON.stringify does) and
  // then `phi` (reduced levels only) follow the envelope's last member.
  const body = payloadJson === undefined ? '' : `,"payload":${payloadJson}`;
  const phi = level === 'full' ? '' : `,"phi":${JSON.stringify(level)}`;
  const { id, topic, epoch, seq, kind, priority, createdAt } = n;
  if (
    typeof seq === 'number' &&
    Number.isFinite(seq) &&
    isPlain(id) &&
    isPlain(topic) &&
    isPlain(epoch) &&
    isPlain(kind) &&
    (priority === 'routine' || priority === 'urgent' || priority === 'critical' || isPlain(priority)) &&
    isPlain(createdAt)
  ) {
    // Every member is a string JSON writes as is, between quotes (the usual case): one
    // concatenation, no envelope object. The same text as the JSON.stringify below.
    return `{"type":"notification","id":"${id}","topic":"${topic}","epoch":"${epoch}","seq":${seq},"kind":"${kind}","priority":"${priority}","createdAt":"${createdAt}"${body}${phi}}`;
  }
  const head = JSON.stringify({ type: 'notification', id, topic, epoch, seq, kind, priority, createdAt });
  return `${head.slice(0, -1)}${body}${phi}}`;
}

/** Printable ASCII but `"` and `\\`: what JSON.stringify writes unescaped. */
const PLAIN = /^[ !#-[\]-~]*$/;

/** Whether `value` is a string that JSON.stringify writes as is, between quotes. */
const isPlain = (value: unknown): value is string => typeof value === 'string' && PLAIN.test(value);

export { PROTOCOL_VERSION };
