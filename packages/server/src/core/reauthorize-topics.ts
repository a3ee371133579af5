import { ErrorCode, WardcastError } from '@wardcast/protocol';
import { leaveTopic } from './presence.js';
import type { Session } from './session.js';
import type { SessionHost } from './session-host.js';
import { authorizes, policyLevel, RANK } from './topic-policy.js';
import type { Principal } from './types.js';

/**
 * Re-authorization of a session's subscriptions (after an in-band token refresh, or every
 * `reauthorizeIntervalMs`), with `principal` as it is now. For each topic, in turn:
 *
 * - `authorize` says no: the subscription is removed (registry, presence, broker interest), with
 *   a `revoked` event and a `subscription.revoked` audit record. The caller tells the client.
 * - allowed: `phiLevel` is asked again and the granted level lowered when policy now allows less
 *   (never raised: the client may have asked for less; a new `subscribe` re-grants).
 * - `authorize` or `phiLevel` throws: the subscription is kept as it is until the next re-check
 *   (logged at `warn`, `error` event). A revocation is final on the client, and a transient
 *   failure of the policy's backend must not unsubscribe a whole ward; to revoke, return `false`.
 *
 * Returns the removed topics, or `undefined` when the session closed meanwhile.
 */
export async function reauthorizeTopics(
  host: SessionHost<Session>,
  session: Session,
  principal: Principal,
): Promise<string[] | undefined> {
  const revoked: string[] = [];
  for (const [topic, level] of [...session.topics]) {
    const verdict = await authorizes(host, principal, topic, 'subscription kept');
    if (!session.isOpen) return undefined;
    // Changed meanwhile (only frames on the session's own chain change it; defensive).
    if (session.topics.get(topic) !== level) continue;
    if (verdict === undefined) {
      reauthorizationFailed(host);
      continue;
    }
    if (!verdict) {
      session.topics.delete(topic);
      leaveTopic(host, session, topic);
      revoked.push(topic);
      host.emit('revoked', { ...session.info(), topic, code: ErrorCode.TopicDenied });
      host.audit('subscription.revoked', session, { topic, code: ErrorCode.TopicDenied });
      continue;
    }
    const policy = await policyLevel(host, principal, topic, 'level kept');
    if (!session.isOpen) return undefined;
    if (session.topics.get(topic) !== level) continue;
    if (policy === undefined) {
      reauthorizationFailed(host);
      continue;
    }
    if (RANK[policy] < RANK[level] && host.registry.setLevel(topic, session, policy)) {
      session.topics.set(topic, policy);
      host.logger.debug({ sessionId: session.id, topic, phi: policy }, 'wardcast: PHI level lowered');
    }
  }
  return revoked;
}

/** Reported once per failed check (the cause was logged with the topic). */
function reauthorizationFailed(host: SessionHost<Session>): void {
  host.emit('error', new WardcastError(ErrorCode.Internal, 'authorize or phiLevel threw during re-authorization'));
}
