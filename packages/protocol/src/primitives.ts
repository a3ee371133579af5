import * as z from 'zod/mini';
import { KIND_PATTERN, PHI_LEVELS, PRIORITIES, TOPIC_PATTERN } from './names.js';

export { isValidTopic, KIND_PATTERN, TOPIC_PATTERN } from './names.js';

/**
 * A topic name.
 *
 * @category Primitives
 */
export const topicSchema = /* @__PURE__ */ z
  .string()
  .check(z.regex(TOPIC_PATTERN, 'topic must match [A-Za-z0-9_.:-]{1,128}'));

/**
 * A client-chosen correlation string, echoed in the reply to the frame that carried it.
 *
 * @category Primitives
 */
export const refSchema = /* @__PURE__ */ z.string().check(z.minLength(1), z.maxLength(64));

/**
 * A notification id: any 1–128 character string, unique per topic.
 *
 * @category Primitives
 */
export const notificationIdSchema = /* @__PURE__ */ z.string().check(z.minLength(1), z.maxLength(128));

/**
 * Notification kinds: lower-case, `[a-z][a-z0-9_.:-]{0,63}` (namespaced custom kinds use `.` or `:`).
 *
 * @category Primitives
 */
export const kindSchema = /* @__PURE__ */ z
  .string()
  .check(z.regex(KIND_PATTERN, 'kind must match [a-z][a-z0-9_.:-]{0,63}'));

/**
 * How urgent a notification is. `critical` notifications ask for an explicit acknowledgement.
 *
 * @category Primitives
 */
export const prioritySchema = /* @__PURE__ */ z.enum(PRIORITIES);
/**
 * How urgent a notification is.
 *
 * @category Primitives
 */
export type Priority = z.infer<typeof prioritySchema>;

/**
 * A point in a topic's stream. `epoch` names the stream (it changes when history is lost);
 * `seq` is the sequence number of the last notification seen (`0`: none yet).
 *
 * @category Primitives
 */
export const streamPositionSchema = /* @__PURE__ */ z.object({
  epoch: z.string().check(z.minLength(1), z.maxLength(64)),
  seq: z.int().check(z.gte(0)),
});
/**
 * A point in a topic's stream: `{ epoch, seq }`.
 *
 * @category Primitives
 */
export type StreamPosition = z.infer<typeof streamPositionSchema>;

/**
 * How much of a payload a subscriber receives, as FHIR Subscriptions' payload content:
 * `full`; `id-only` (ids and statuses; no names, values, dates or free text); `empty` (kind and
 * priority only, `payload: null`).
 *
 * @category Primitives
 */
export const phiLevelSchema = /* @__PURE__ */ z.enum(PHI_LEVELS);
/**
 * @see {@link phiLevelSchema}
 *
 * @category Primitives
 */
export type PhiLevel = z.infer<typeof phiLevelSchema>;
