import { PROTOCOL_VERSION, type ServerFrame } from '@wardcast/protocol';
import type { StoredNotification } from './types.js';

/** Serialises a server frame. */
export function encodeFrame(frame: ServerFrame): string {
  return JSON.stringify(frame);
}

/** Serialises a notification frame; called once per publish, not once per subscriber. */
export function encodeNotification(n: StoredNotification): string {
  return JSON.stringify({
    type: 'notification',
    id: n.id,
    topic: n.topic,
    epoch: n.epoch,
    seq: n.seq,
    kind: n.kind,
    priority: n.priority,
    createdAt: n.createdAt,
    payload: n.payload,
  });
}

export { PROTOCOL_VERSION };
