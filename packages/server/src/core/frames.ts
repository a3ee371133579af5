import { type PhiLevel, PROTOCOL_VERSION, type ServerFrame } from '@wardcast/protocol';
import { EncodedFrame } from './transport.js';
import type { StoredNotification } from './types.js';
import { utf8Length } from './utf8.js';

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
  return isPlainEnvelope(n) ? plainText(n, payloadJson, level) : generalText(n, payloadJson, level);
}

/**
 * The notification frame of {@link encodeNotification} as an {@link EncodedFrame} for a fan-out,
 * with its UTF-8 length at the full level when the envelope is plain ASCII (the usual case): the
 * envelope's length plus the payload's, measured on the payload text alone, so a transport need
 * not scan the frame.
 */
export function notificationFrame(
  n: StoredNotification,
  payload: unknown = n.payload,
  level: PhiLevel = 'full',
  payloadJson: string | undefined = JSON.stringify(payload),
): EncodedFrame {
  if (!isPlainEnvelope(n)) return new EncodedFrame(generalText(n, payloadJson, level));
  const text = plainText(n, payloadJson, level);
  if (level !== 'full') return new EncodedFrame(text);
  const bytes = payloadJson === undefined ? text.length : text.length - payloadJson.length + utf8Length(payloadJson);
  return new EncodedFrame(text, bytes);
}

/**
 * Whether every envelope member is a string JSON writes as is, between quotes, and `seq` a finite
 * number (the usual case): the frame is then one concatenation of ASCII around the payload.
 */
function isPlainEnvelope(n: StoredNotification): boolean {
  const { id, topic, epoch, seq, kind, priority, createdAt } = n;
  return (
    typeof seq === 'number' &&
    Number.isFinite(seq) &&
    isPlain(id) &&
    isPlain(topic) &&
    isPlain(epoch) &&
    isPlain(kind) &&
    (priority === 'routine' || priority === 'urgent' || priority === 'critical' || isPlain(priority)) &&
    isPlain(createdAt)
  );
}

/**
 * The frame of a plain envelope: one concatenation, no envelope object; the same text as
 * {@link generalText}. `payload` (left out when undefined, as JSON.stringify does) and then `phi`
 * (reduced levels only) follow the envelope's last member.
 */
function plainText(n: StoredNotification, payloadJson: string | undefined, level: PhiLevel): string {
  const body = payloadJson === undefined ? '' : `,"payload":${payloadJson}`;
  const phi = level === 'full' ? '' : `,"phi":${JSON.stringify(level)}`;
  const { id, topic, epoch, seq, kind, priority, createdAt } = n;
  return `{"type":"notification","id":"${id}","topic":"${topic}","epoch":"${epoch}","seq":${seq},"kind":"${kind}","priority":"${priority}","createdAt":"${createdAt}"${body}${phi}}`;
}

/** The frame of any envelope, by JSON.stringify. */
function generalText(n: StoredNotification, payloadJson: string | undefined, level: PhiLevel): string {
  const body = payloadJson === undefined ? '' : `,"payload":${payloadJson}`;
  const phi = level === 'full' ? '' : `,"phi":${JSON.stringify(level)}`;
  const { id, topic, epoch, seq, kind, priority, createdAt } = n;
  const head = JSON.stringify({ type: 'notification', id, topic, epoch, seq, kind, priority, createdAt });
  return `${head.slice(0, -1)}${body}${phi}}`;
}

/** Printable ASCII but `"` and `\\`: what JSON.stringify writes unescaped. */
const PLAIN = /^[ !#-[\]-~]*$/;

/** Whether `value` is a string that JSON.stringify writes as is, between quotes. */
export const isPlain = (value: unknown): value is string => typeof value === 'string' && PLAIN.test(value);

/** `JSON.stringify(text)`, without calling it for a plain string (see {@link isPlain}). */
export const quote = (text: string): string => (PLAIN.test(text) ? `"${text}"` : JSON.stringify(text));

export { PROTOCOL_VERSION };
