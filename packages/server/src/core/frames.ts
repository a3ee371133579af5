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
  payloadJson?: string,
): string {
  if (level !== 'full') {
    return JSON.stringify({
      type: 'notification',
      id: n.id,
      topic: n.topic,
      epoch: n.epoch,
      seq: n.seq,
      kind: n.kind,
      priority: n.priority,
      createdAt: n.createdAt,
      payload,
      phi: level,
    });
  }
  if (payloadJson === undefined) {
    return JSON.stringify({
      type: 'notification',
      id: n.id,
      topic: n.topic,
      epoch: n.epoch,
      seq: n.seq,
      kind: n.kind,
      priority: n.priority,
      createdAt: n.createdAt,
      payload,
    });
  }
  // The same text as above: `payload` is the last member, so the envelope's closing brace
  // gives way to it.
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
  return `${head.slice(0, -1)},"payload":${payloadJson}}`;
}

export { PROTOCOL_VERSION };
