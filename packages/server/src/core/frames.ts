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
  const head = JSON.stringify({
    type: 'notification',
    id: n.id,
    topic: n.topic,
    epoch: n.epoch,
    seq: n.seq,
    kind: n.kind,
    priority: n.priority,
    createdAt: n.createdAt,
  });
  const body = payloadJson === undefined ? '' : `,"payload":${payloadJson}`;
  const phi = level === 'full' ? '' : `,"phi":${JSON.stringify(level)}`;
  return `${head.slice(0, -1)}${body}${phi}}`;
}

export { PROTOCOL_VERSION };
