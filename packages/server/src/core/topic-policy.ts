import type { PhiLevel, SubscriptionResult } from '@wardcast/protocol';
import type { Session } from './session.js';
import type { SessionHost } from './session-host.js';
import { isThenable } from './steps.js';
import type { Principal } from './types.js';

/**
 * The application's policy hooks as a subscription asks them (`authorize`, `phiLevel`), each
 * answering at once when the hook does and never throwing or rejecting: a hook that fails is
 * logged at `warn` and answered `undefined`, for the caller to decide (a subscribe denies, a
 * re-authorization keeps the subscription). Internal to the hub.
 */

/** A denied subscription's result. */
export function denied(topic: string, code: string): SubscriptionResult {
  return { topic, status: 'denied', recovered: false, code };
}

/** PHI levels from least to most shown, for comparing them. */
export const RANK: Readonly<Record<PhiLevel, number>> = { full: 2, 'id-only': 1, empty: 0 };

/** A policy hook threw (or its promise rejected): logged at `warn` with what happens then. */
function hookThrew(host: SessionHost<Session>, hook: string, topic: string, thrown: string, cause: unknown): undefined {
  host.logger.warn({ topic, err: cause }, `wardcast: ${hook} threw; ${thrown}`);
  return undefined;
}

/** `policy` as a level: `empty` for an unknown one (logged at `warn`). */
function levelOf(host: SessionHost<Session>, topic: string, policy: unknown): PhiLevel {
  if (policy === 'full' || policy === 'id-only' || policy === 'empty') return policy;
  host.logger.warn({ topic }, 'wardcast: phiLevel returned an unknown level; using empty');
  return 'empty';
}

/**
 * What `phiLevel` allows; `empty` for an unknown level, `undefined` when it threw (logged at
 * `warn` with what happens then: `thrown`). A promise only when `phiLevel` returned one.
 */
export function policyLevel(
  host: SessionHost<Session>,
  principal: Principal,
  topic: string,
  thrown: string,
): PhiLevel | undefined | Promise<PhiLevel | undefined> {
  try {
    const policy = host.phiLevel(principal, topic);
    if (!isThenable(policy)) return levelOf(host, topic, policy);
    return Promise.resolve(policy).then(
      (p) => levelOf(host, topic, p),
      (cause: unknown) => hookThrew(host, 'phiLevel', topic, thrown, cause),
    );
  } catch (cause) {
    return hookThrew(host, 'phiLevel', topic, thrown, cause);
  }
}

/** The lower of what the client asked for and what policy allows (`empty` when the policy threw). */
export function lowerLevel(allowedLevel: PhiLevel | undefined, requested: PhiLevel | undefined): PhiLevel {
  const allowed = allowedLevel ?? 'empty';
  const wanted = requested ?? 'full';
  return RANK[wanted] < RANK[allowed] ? wanted : allowed;
}

/**
 * What `authorize` says: `true`, `false`, or `undefined` when it threw (logged at `warn` with
 * what happens then: `thrown`). A promise only when `authorize` returned one.
 */
export function authorizes(
  host: SessionHost<Session>,
  principal: Principal,
  topic: string,
  thrown: string,
): boolean | undefined | Promise<boolean | undefined> {
  try {
    const verdict = host.authorize(principal, topic);
    if (!isThenable(verdict)) return verdict === true;
    return Promise.resolve(verdict).then(
      (v) => v === true,
      (cause: unknown) => hookThrew(host, 'authorize', topic, thrown, cause),
    );
  } catch (cause) {
    return hookThrew(host, 'authorize', topic, thrown, cause);
  }
}
