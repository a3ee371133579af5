import {
  ErrorCode,
  isValidTopic,
  kindSchema,
  notificationIdSchema,
  prioritySchema,
  WardcastError,
} from '@wardcast/protocol';
import type { KindRegistry } from '../kinds/kind-registry.js';
import type { NotificationDraft, PublishInput } from './types.js';

/**
 * Checks a publish call and builds the draft notification. Throws a {@link WardcastError}
 * (`invalid_notification` or `payload_too_large`) and touches nothing when the input is bad.
 */
export function toDraft(
  topic: string,
  input: PublishInput,
  maxPayloadBytes: number,
  generateId: () => string,
  kinds: KindRegistry,
): NotificationDraft {
  if (!isValidTopic(topic)) {
    throw new WardcastError(ErrorCode.InvalidTopic, 'topic must match [A-Za-z0-9_.:-]{1,128}');
  }
  if (typeof input !== 'object' || input === null) {
    throw new WardcastError(ErrorCode.InvalidNotification, 'publish input must be an object');
  }
  if (!kindSchema.safeParse(input.kind).success) {
    throw new WardcastError(ErrorCode.InvalidNotification, 'kind must match [a-z][a-z0-9_.:-]{0,63}');
  }
  const priority = input.priority ?? 'routine';
  if (!prioritySchema.safeParse(priority).success) {
    throw new WardcastError(ErrorCode.InvalidNotification, 'priority must be routine, urgent or critical');
  }
  if (input.id !== undefined && !notificationIdSchema.safeParse(input.id).success) {
    throw new WardcastError(ErrorCode.InvalidNotification, 'id must be a string of 1-128 characters');
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(input.payload ?? null);
  } catch (cause) {
    throw new WardcastError(ErrorCode.InvalidNotification, 'payload must be JSON-serialisable', { cause });
  }
  if (json === undefined) throw new WardcastError(ErrorCode.InvalidNotification, 'payload must be JSON-serialisable');
  // Length in UTF-16 units is a lower bound of UTF-8 bytes; only measure exactly near the limit.
  if (
    json.length > maxPayloadBytes ||
    (json.length * 3 > maxPayloadBytes && Buffer.byteLength(json) > maxPayloadBytes)
  ) {
    throw new WardcastError(ErrorCode.PayloadTooLarge, `payload is larger than ${maxPayloadBytes} bytes`);
  }
  return {
    id: input.id ?? generateId(),
    topic,
    kind: input.kind,
    priority,
    createdAt: new Date().toISOString(),
    // A JSON round trip detaches the payload from the caller's object and drops what JSON cannot
    // carry; the kind's schema then validates it and strips undeclared fields.
    payload: kinds.validate(input.kind, JSON.parse(json) as unknown),
  };
}
