import { ErrorCode, isValidTopic, WardcastError } from '@wardcast/protocol';
import { codePointLength } from '../kinds/fast-check.js';
import type { KindRegistry } from '../kinds/kind-registry.js';
import { copyJson, NOT_COPIED } from './json-copy.js';
import type { NotificationDraft, PublishInput } from './types.js';

/**
 * The envelope rules of `@wardcast/protocol` (`kindSchema`, `prioritySchema`,
 * `notificationIdSchema`), checked by hand: they run on every publish, and a zod parse of a
 * string costs more than the test itself. A property test holds them equal to the schemas.
 */
const KIND_PATTERN = /^[a-z][a-z0-9_.:-]{0,63}$/;
const MAX_ID_LENGTH = 128;

/** Whether `kind` passes `kindSchema`. */
export const isValidKind = (kind: unknown): kind is string => typeof kind === 'string' && KIND_PATTERN.test(kind);

/** Whether `priority` passes `prioritySchema`. */
export const isValidPriority = (priority: unknown): boolean =>
  priority === 'routine' || priority === 'urgent' || priority === 'critical';

/** Whether `id` passes `notificationIdSchema`: 1-128 code points, as zod counts string lengths. */
export const isValidNotificationId = (id: unknown): id is string =>
  typeof id === 'string' && id.length >= 1 && (id.length <= MAX_ID_LENGTH || codePointLength(id) <= MAX_ID_LENGTH);

/** A checked publish: the draft, and the payload's JSON text when it is exactly what the draft carries. */
export interface CheckedPublish {
  readonly draft: NotificationDraft;
  /**
   * `JSON.stringify(draft.payload)`, from the one serialisation the size check made; `undefined`
   * when the kind's schema changed the payload (stripped a field, transformed a value), so the
   * text no longer matches it.
   */
  readonly payloadJson: string | undefined;
}

/**
 * Checks a publish call and builds the draft notification: the envelope by hand, the payload
 * detached from the caller's objects (copied, see {@link copyJson}) and serialised once (for the
 * size limit and the frame), then parsed by its kind's schema once. Throws a {@link WardcastError} (`invalid_topic`,
 * `invalid_notification`, `payload_too_large`, `unknown_kind`, `invalid_payload`) and touches
 * nothing when the input is bad.
 */
export function checkPublish(
  topic: string,
  input: PublishInput,
  maxPayloadBytes: number,
  generateId: () => string,
  kinds: KindRegistry,
): CheckedPublish {
  if (!isValidTopic(topic)) {
    throw new WardcastError(ErrorCode.InvalidTopic, 'topic must match [A-Za-z0-9_.:-]{1,128}');
  }
  if (typeof input !== 'object' || input === null) {
    throw new WardcastError(ErrorCode.InvalidNotification, 'publish input must be an object');
  }
  const { kind, id } = input;
  if (!isValidKind(kind)) {
    throw new WardcastError(ErrorCode.InvalidNotification, 'kind must match [a-z][a-z0-9_.:-]{0,63}');
  }
  const priority = input.priority ?? 'routine';
  if (!isValidPriority(priority)) {
    throw new WardcastError(ErrorCode.InvalidNotification, 'priority must be routine, urgent or critical');
  }
  if (id !== undefined && !isValidNotificationId(id)) {
    throw new WardcastError(ErrorCode.InvalidNotification, 'id must be a string of 1-128 characters');
  }
  // The payload is detached from the caller's objects, and what JSON cannot carry dropped: by a
  // copy of the plain JSON data (the usual case), else by a JSON round trip.
  let copied: unknown;
  let json: string | undefined;
  try {
    const payload = input.payload ?? null;
    copied = copyJson(payload);
    json = JSON.stringify(copied === NOT_COPIED ? payload : copied);
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
  // The kind's schema then validates the detached payload and strips undeclared fields.
  const parsed = copied === NOT_COPIED ? (JSON.parse(json) as unknown) : copied;
  const validated = kinds.validate(kind, parsed);
  // Nothing to strip or transform (the usual case): keep the parsed value (built compactly by
  // JSON.parse; the same data as the schema's result, keys in the caller's order) and its text
  // for the frame.
  const unchanged = sameJson(parsed, validated);
  return {
    draft: {
      id: id ?? generateId(),
      topic,
      kind,
      priority,
      createdAt: isoNow(),
      payload: unchanged ? parsed : validated,
    },
    payloadJson: unchanged ? json : undefined,
  };
}

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
  return checkPublish(topic, input, maxPayloadBytes, generateId, kinds).draft;
}

let isoAt = Number.NaN;
let iso = '';

/** `new Date().toISOString()`, formatted once per millisecond (formatting costs more than a publish's validation). */
export function isoNow(): string {
  const at = Date.now();
  if (at !== isoAt) {
    iso = new Date(at).toISOString();
    isoAt = at;
  }
  return iso;
}

const { hasOwn } = Object;
const OBJECT_PROTO = Object.prototype;

/**
 * Whether `value` is the same JSON data as `parsed`, a value `JSON.parse` returned: the same
 * keys (in any order), the same primitives, plain objects and arrays only. What a schema returns
 * for a payload it had nothing to change; anything else (a stripped or added key, a transformed
 * value, a class instance) answers `false`. Allocates nothing.
 */
export function sameJson(parsed: unknown, value: unknown): boolean {
  if (parsed === value) return true;
  if (typeof parsed !== 'object' || typeof value !== 'object' || parsed === null || value === null) return false;
  if (Array.isArray(parsed)) {
    if (!Array.isArray(value) || value.length !== parsed.length) return false;
    for (let i = 0; i < parsed.length; i++) if (!sameJson(parsed[i], value[i])) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if ((proto !== OBJECT_PROTO && proto !== null) || Array.isArray(value)) return false;
  const source = parsed as Record<string, unknown>;
  const target = value as Record<string, unknown>;
  let keys = 0;
  for (const key in target) {
    if (!hasOwn(target, key)) continue;
    if (!hasOwn(source, key) || !sameJson(source[key], target[key])) return false;
    keys++;
  }
  for (const key in source) if (hasOwn(source, key)) keys--;
  return keys === 0;
}
