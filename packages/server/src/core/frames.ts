import { type PhiLevel, PROTOCOL_VERSION, type ServerFrame } from '@wardcast/protocol';
import type { StoredNotification } from './types.js';

/** Serialises a server frame. */
export function encodeFrame(frame: ServerFrame): string {
  return JSON.stringify(frame);
}

/**
 * Serialises a notification frame; called once per publish and PHI level, not once per
 * subscriber. `payload` is the (possibly reduced) payload for `level`.
 */
export function encodeNotification(
  n: StoredNotification,
  payload: unknown = n.payload,
  level: PhiLevel = 'full',
): string {
  const frame = {
    type: 'notification',
    id: n.id,
    topic: n.topic,
    epoch: n.epoch,
    seq: n.seq,
    kind: n.kind,
    priority: n.priority,
    createdAt: n.createdAt,
    payload,
    ...(level === 'full' ? {} : { phi: level }),
  };
  return JSON.stringify(frame);
}

export { PROTOCOL_VERSION };
