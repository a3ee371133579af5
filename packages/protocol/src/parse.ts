import type * as z from 'zod/mini';
import { CLIENT_FRAME_SCHEMAS, type ClientFrame } from './client-frames.js';
import { fail, guarded, type ParseResult, parseObject, pathOf, toJson } from './frame-input.js';
import { SERVER_FRAME_SCHEMAS, type ServerFrame } from './server-frames.js';

export type { FrameError, ParseResult } from './frame-input.js';

function kindOf(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'non-finite number';
    if (!Number.isInteger(value)) return 'non-integer number';
  }
  return typeof value;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const key of path)
    v = typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

/**
 * The fields of a zod issue that {@link describeIssue} reads.
 *
 * @category Parsing
 */
export interface IssueLike {
  readonly code?: string;
  readonly message: string;
  readonly path: readonly PropertyKey[];
  readonly expected?: unknown;
  readonly values?: readonly unknown[];
  readonly minimum?: unknown;
  readonly maximum?: unknown;
  readonly format?: unknown;
  readonly pattern?: unknown;
  readonly divisor?: unknown;
  readonly keys?: readonly unknown[];
}

/** Zod's own English messages ("Invalid input", "Too small: ...", "Unrecognized key: ..."). */
const ZOD_MESSAGE = /^(?:Invalid|Too (?:big|small)|Unrecognized)\b/;

/** Most string leaves of a value that are searched for in a schema's own message. */
const MAX_LEAVES = 64;

/** The strings and numbers inside `value` (bounded, depth-first), as they could appear in a message. */
function leavesOf(value: unknown, out: string[] = [], depth = 0): string[] {
  if (out.length >= MAX_LEAVES) return out;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') {
    out.push(String(value));
  } else if (typeof value === 'object' && value !== null && depth < 8) {
    for (const [key, child] of Object.entries(value)) {
      if (out.length >= MAX_LEAVES) break;
      out.push(key);
      leavesOf(child, out, depth + 1);
    }
  }
  return out;
}

/**
 * The schema's own message for an issue (a `refine` message, a custom regex message), when it
 * is not one of zod's defaults and does not quote the value it was given.
 */
function schemaMessage(issue: IssueLike, actual: unknown): string | undefined {
  const message = issue.message;
  if (typeof message !== 'string' || message === '' || ZOD_MESSAGE.test(message)) return undefined;
  // Two characters or more: a one-character value would match almost any message by chance.
  const quoted = leavesOf(actual).some((leaf) => leaf.length >= 2 && message.includes(leaf));
  return quoted ? undefined : message.slice(0, 200);
}

/**
 * A short English description of one zod issue (zod/mini ships no messages), e.g.
 * `expected number, received string`. `root` is the value that was parsed.
 *
 * It names types, limits and the values the schema allows, never the value it was given:
 * unknown fields are counted, not named, and a schema's own message (a `refine` or regex
 * message) is used only when it does not quote the input. Never throws.
 *
 * @example
 * ```ts
 * const r = schema.safeParse(value);
 * if (!r.success) describeIssue(r.error.issues[0]!, value);
 * ```
 *
 * @category Parsing
 */
export function describeIssue(issue: IssueLike, root: unknown): string {
  try {
    return describeSafely(issue, root);
  } catch {
    // A hostile value (a throwing getter or proxy trap) or an odd issue: still say something.
    return 'invalid value';
  }
}

function describeSafely(issue: IssueLike, root: unknown): string {
  const actual = valueAt(root, issue.path);
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${String(issue.expected)}, received ${kindOf(actual)}`;
    case 'invalid_value':
      return `expected one of ${(issue.values ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return `too small (minimum ${String(issue.minimum)})`;
    case 'too_big':
      return `too big (maximum ${String(issue.maximum)})`;
    case 'not_multiple_of':
      return `expected a multiple of ${String(issue.divisor)}`;
    case 'unrecognized_keys': {
      const count = issue.keys?.length ?? 0;
      return `${count} unknown field${count === 1 ? '' : 's'}`;
    }
    case 'invalid_format':
      if (issue.format === 'datetime') return 'expected an ISO 8601 date-time with offset';
      if (issue.format === 'regex') {
        return (
          schemaMessage(issue, actual) ??
          (typeof issue.pattern === 'string' ? `expected a string matching ${issue.pattern}` : 'invalid format')
        );
      }
      return `expected ${String(issue.format)} format`;
    default:
      return schemaMessage(issue, actual) ?? `invalid ${kindOf(actual)}`;
  }
}

const has = (o: object, key: string): boolean => Object.hasOwn(o, key);

function issueCount(schemas: Readonly<Record<string, z.ZodMiniType>>, type: string, value: unknown): number {
  const result = schemas[type]?.safeParse(value);
  return result === undefined || result.success ? 0 : result.error.issues.length;
}

function parseWith<F>(data: unknown, schemas: Readonly<Record<string, z.ZodMiniType>>): ParseResult<F> {
  return parseObject<F>(data, (type, value) => {
    const schema = has(schemas, type) ? schemas[type] : undefined;
    if (!schema) return undefined;
    const result = schema.safeParse(value);
    if (result.success) return { ok: true, frame: result.data };
    const issue = result.error.issues[0];
    return {
      ok: false,
      path: issue ? pathOf(issue.path) : '',
      detail: issue ? describeIssue(issue, value) : 'invalid frame',
    };
  });
}

/**
 * Parses a frame sent by a client (what the hub receives). Accepts a string, bytes, or an
 * already-decoded object. Never throws.
 *
 * @example
 * ```ts
 * const r = parseClientFrame('{"type":"subscribe","topics":[{"topic":"user:u1"}]}');
 * if (r.ok) r.frame.topics[0]?.topic; // 'user:u1'
 * else console.warn(r.error.code, r.error.message);
 * ```
 *
 * @category Parsing
 */
export function parseClientFrame(data: unknown): ParseResult<ClientFrame> {
  return guarded(parseWith<ClientFrame>, data, CLIENT_FRAME_SCHEMAS);
}

/**
 * Parses a frame sent by the hub (what a client receives). Never throws.
 *
 * @example
 * ```ts
 * const r = parseServerFrame(event.data);
 * if (r.ok && r.frame.type === 'notification') show(r.frame);
 * ```
 *
 * @category Parsing
 */
export function parseServerFrame(data: unknown): ParseResult<ServerFrame> {
  return guarded(parseWith<ServerFrame>, data, SERVER_FRAME_SCHEMAS);
}

/**
 * Parses any Wardcast frame, in either direction. Never throws: bad input gives
 * `{ ok: false, error }` whose `code` and `message` name what is wrong. A `type` both directions
 * use (`telemetry`) is read as whichever frame its fields fit.
 *
 * @example
 * ```ts
 * parseFrame('{"type":"ack"}');
 * // { ok: false, error: { code: 'bad_frame', message: 'ack: id: expected string, received nothing', path: 'id' } }
 * ```
 *
 * @category Parsing
 */
export function parseFrame(data: unknown): ParseResult<ClientFrame | ServerFrame> {
  return guarded(parseEither, data, undefined);
}

function parseEither(data: unknown): ParseResult<ClientFrame | ServerFrame> {
  const json = toJson(data);
  if (!json.ok) return json;
  const frame = json.frame;
  // `null`, numbers and strings are valid JSON but not frames (and a string must not be decoded twice).
  if (typeof frame !== 'object' || frame === null) return fail('bad_frame', 'frame must be a JSON object');
  const type = (frame as { type?: unknown }).type;
  if (typeof type !== 'string' || !has(SERVER_FRAME_SCHEMAS, type)) return parseWith(frame, CLIENT_FRAME_SCHEMAS);
  const server = parseWith<ServerFrame>(frame, SERVER_FRAME_SCHEMAS);
  if (server.ok || !has(CLIENT_FRAME_SCHEMAS, type)) return server;
  // A type both sides use (`telemetry`): the shape decides; if neither fits, report the closer one.
  const client = parseWith<ClientFrame>(frame, CLIENT_FRAME_SCHEMAS);
  if (client.ok) return client;
  return issueCount(CLIENT_FRAME_SCHEMAS, type, frame) < issueCount(SERVER_FRAME_SCHEMAS, type, frame)
    ? client
    : server;
}
