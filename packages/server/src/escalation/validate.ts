import { ErrorCode, isValidTopic, type Priority, WardcastError } from '@wardcast/protocol';
import type { EscalationPolicy, EscalationStep } from './types.js';

/** Longest notification id (the protocol's limit); re-sent ids `<id>~<step>` must fit in it. */
const MAX_ID_LENGTH = 128;

/** The id a notification is re-sent with at `step` (>= 1) of its escalation. */
export function escalatedId(id: string, step: number): string {
  return `${id}~${step}`;
}

/** `<id>~<step>` with a step from 1 to 999,999 (no leading zero), as {@link escalatedId} makes them. */
const ESCALATED_ID = /^(.+)~([1-9][0-9]{0,5})$/s;

/**
 * Reads an id that may be a re-sent `<id>~<step>` (see {@link escalatedId}): the original id and
 * the step, or `undefined` when `id` has no such suffix. An original id may itself end in `~<n>`,
 * so a caller that does not know which it is must try both readings.
 *
 * @example
 * ```ts
 * parseEscalatedId('lab:L-778:final~2'); // { id: 'lab:L-778:final', step: 2 }
 * parseEscalatedId('lab:L-778:final'); // undefined
 * ```
 */
export function parseEscalatedId(id: string): { readonly id: string; readonly step: number } | undefined {
  const match = ESCALATED_ID.exec(id);
  if (!match) return undefined;
  return { id: match[1] as string, step: Number(match[2]) };
}

/**
 * Checks an escalation policy against the notification it comes with and returns a frozen copy.
 * Throws `invalid_notification` when it is not allowed (not critical, empty chain, repeated
 * users, bad deadlines, or an id too long for the re-sent ids).
 */
export function checkEscalation(policy: unknown, priority: Priority, id: string): EscalationPolicy {
  const fail = (message: string): never => {
    throw new WardcastError(ErrorCode.InvalidNotification, `escalation: ${message}`);
  };
  if (priority !== 'critical') fail("only notifications with priority 'critical' can escalate");
  const chain = (policy as { chain?: unknown } | null)?.chain;
  if (!Array.isArray(chain) || chain.length === 0) fail('chain must be a non-empty array');
  const users = new Set<string>();
  const steps: EscalationStep[] = [];
  for (const [index, step] of (chain as unknown[]).entries()) {
    const { userId, deadlineMs } = (step ?? {}) as Partial<EscalationStep>;
    if (typeof userId !== 'string' || userId === '' || !isValidTopic(`user:${userId}`)) {
      fail('each step needs a userId usable in a user:<id> topic');
    }
    if (typeof deadlineMs !== 'number' || !Number.isFinite(deadlineMs) || deadlineMs <= 0) {
      fail('each deadlineMs must be a positive number');
    }
    // The position, not the user id: error messages name fields, never the values given.
    if (users.has(userId as string)) fail(`chain[${index}].userId repeats an earlier step's user`);
    users.add(userId as string);
    steps.push(Object.freeze({ userId: userId as string, deadlineMs: deadlineMs as number }));
  }
  if (escalatedId(id, steps.length - 1).length > MAX_ID_LENGTH) {
    fail(`the id is too long to add the step suffix (at most ${MAX_ID_LENGTH} characters with "~<step>")`);
  }
  return Object.freeze({ chain: Object.freeze(steps) });
}
