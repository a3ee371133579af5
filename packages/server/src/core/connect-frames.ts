import { LATEST_PROTOCOL_VERSION, PROTOCOL_VERSION, type SubscriptionResult } from '@wardcast/protocol';
import { isPlain, quote } from './frames.js';
import type { HubLimits } from './options.js';

/**
 * The frames every connection is sent as it connects (`welcome`, `authenticated`, `subscribed`,
 * or in protocol 2 `ready`), serialised
 * from templates instead of through `JSON.stringify` of a new object: the text is the same, byte
 * for byte, as `JSON.stringify` of the frame object with its fields in the order the protocol
 * lists them (the tests compare them). Internal to the hub.
 */

/** The parts of a hub's `welcome` frame around `sessionId` and `authenticated`, and of its `ready` frame. */
interface WelcomeTemplate {
  readonly head: string;
  readonly middle: string;
  readonly tail: string;
  /** `ready` up to `sessionId`. */
  readonly readyHead: string;
  /** `ready` from after `sessionId` up to `userId`. */
  readonly readyMiddle: string;
}

/** One template per hub (its resolved limits object), built on its first connection. */
const welcomeTemplates = new WeakMap<object, WelcomeTemplate>();

function welcomeTemplate(limits: Readonly<Required<HubLimits>>): WelcomeTemplate {
  let template = welcomeTemplates.get(limits);
  if (template === undefined) {
    const advertised = {
      maxFrameBytes: limits.maxFrameBytes,
      maxFramesPerSecond: limits.maxFramesPerSecond,
      maxSubscriptions: limits.maxSubscriptions,
      authTimeoutMs: limits.authTimeoutMs,
    };
    const heartbeat = JSON.stringify(limits.heartbeatIntervalMs);
    template = {
      head: `{"type":"welcome","protocol":${JSON.stringify(PROTOCOL_VERSION)},"sessionId":`,
      middle: `,"heartbeatMs":${heartbeat},"authenticated":`,
      tail: `,"limits":${JSON.stringify(advertised)}}`,
      readyHead: `{"type":"ready","protocol":${JSON.stringify(LATEST_PROTOCOL_VERSION)},"sessionId":`,
      readyMiddle: `,"heartbeatMs":${heartbeat},"limits":${JSON.stringify(advertised)},"userId":`,
    };
    welcomeTemplates.set(limits, template);
  }
  return template;
}

/**
 * The `welcome` frame of a session of the hub with these `limits`: protocol version, session id,
 * heartbeat interval, whether the upgrade request authenticated it, and the limits a client must
 * respect.
 */
export function encodeWelcome(
  limits: Readonly<Required<HubLimits>>,
  sessionId: string,
  authenticated: boolean,
): string {
  const { head, middle, tail } = welcomeTemplate(limits);
  return `${head}${quote(sessionId)}${middle}${authenticated ? 'true' : 'false'}${tail}`;
}

/** The `authenticated` frame: `userId`, then `expiresAt` and `ref` when set. */
export function encodeAuthenticated(userId: string, expiresAt: number | undefined, ref: string | undefined): string {
  const expires = expiresAt === undefined ? '' : `,"expiresAt":${JSON.stringify(expiresAt)}`;
  const refPart = ref === undefined ? '' : `,"ref":${quote(ref)}`;
  return `{"type":"authenticated","userId":${quote(userId)}${expires}${refPart}}`;
}

/** A member of an object, `"key":value`, after a comma; nothing when `value` is `undefined`. */
function member(key: string, value: unknown): string {
  if (value === undefined) return '';
  return `,"${key}":${typeof value === 'string' ? quote(value) : JSON.stringify(value)}`;
}

/**
 * Whether `position` is just `epoch` (a string) then `seq` (a safe integer), the keys in that order:
 * what a template writes as `JSON.stringify` would. Reads the keys without making an array of them.
 */
function isEpochSeq(position: NonNullable<SubscriptionResult['position']>): boolean {
  let keys = 0;
  let first: string | undefined;
  for (const key in position) if (keys++ === 0) first = key;
  return keys === 2 && first === 'epoch' && typeof position.epoch === 'string' && Number.isSafeInteger(position.seq);
}

/** `"position":{...}` after a comma, for a position of just `epoch` and `seq` without `JSON.stringify`. */
function positionMember(position: SubscriptionResult['position']): string {
  if (position === undefined) return '';
  // Anything else (another field or order, a seq that is not a safe integer) is left to JSON.stringify.
  if (isEpochSeq(position)) return `,"position":{"epoch":${quote(position.epoch)},"seq":${position.seq}}`;
  return member('position', position);
}

/**
 * The `subscribed` frame: one result per topic (`topic`, `status`, `recovered`, then `position`,
 * `code` and `phi` when set: the order `subscribeTopics` builds them in), then `ref` when set.
 */
export function encodeSubscribed(results: readonly SubscriptionResult[], ref: string | undefined): string {
  return `{"type":"subscribed","topics":${encodeResults(results)}${member('ref', ref)}}`;
}

/**
 * The `ready` frame (protocol 2), the reply to `hello`: what `welcome`, `authenticated` and
 * `subscribed` say, in one frame (`protocol`, `sessionId`, `heartbeatMs`, `limits`, `userId`,
 * then `expiresAt` when set, `topics`, then `ref` when set).
 */
export function encodeReady(
  limits: Readonly<Required<HubLimits>>,
  sessionId: string,
  userId: string,
  expiresAt: number | undefined,
  results: readonly SubscriptionResult[],
  ref: string | undefined,
): string {
  const { readyHead, readyMiddle } = welcomeTemplate(limits);
  const fast =
    results.length === 1 && expiresAt === undefined && ref === undefined ? usualTopic(results[0]) : undefined;
  if (fast !== undefined && isPlain(sessionId) && isPlain(userId)) {
    // The usual connect's `ready`: one template, without the pieces the general path joins.
    return `${readyHead}"${sessionId}"${readyMiddle}"${userId}","topics":[${fast}]}`;
  }
  return (
    `${readyHead}${quote(sessionId)}${readyMiddle}${quote(userId)}${member('expiresAt', expiresAt)}` +
    `,"topics":${encodeResults(results)}${member('ref', ref)}}`
  );
}

/**
 * The result of a subscribed topic at a position, nothing else set, every string plain (a connect's
 * usual one), written as one template; `undefined` for any other result.
 */
function usualTopic(r: SubscriptionResult | undefined): string | undefined {
  const position = r?.position;
  if (r === undefined || position === undefined || r.status !== 'ok' || r.code !== undefined || r.phi !== undefined) {
    return undefined;
  }
  const { topic } = r;
  if (!isEpochSeq(position) || !isPlain(topic) || !isPlain(position.epoch)) return undefined;
  return (
    `{"topic":"${topic}","status":"ok","recovered":${r.recovered ? 'true' : 'false'},` +
    `"position":{"epoch":"${position.epoch}","seq":${position.seq}}}`
  );
}

/** The `topics` array of `subscribed` and `ready`, one result per topic, in the order `subscribeTopics` builds them. */
function encodeResults(results: readonly SubscriptionResult[]): string {
  let topics = '';
  for (const r of results) {
    // `status` (`ok` or `denied`) and `recovered` (a boolean) are always there: written as they are.
    const status = r.status === 'ok' ? ',"status":"ok"' : ',"status":"denied"';
    const recovered = r.recovered ? ',"recovered":true' : ',"recovered":false';
    topics +=
      `${topics === '' ? '' : ','}{"topic":${quote(r.topic)}${status}${recovered}` +
      `${positionMember(r.position)}${member('code', r.code)}${member('phi', r.phi)}}`;
  }
  return `[${topics}]`;
}
