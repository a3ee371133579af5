import type * as z from 'zod/mini';
import { CLIENT_FRAME_TYPES, type ClientFrame, clientFrameSchema } from './client-frames.js';
import { ErrorCode } from './error-codes.js';
import { SERVER_FRAME_TYPES, type ServerFrame, serverFrameSchema } from './server-frames.js';

/** Why a frame could not be parsed. */
export interface FrameError {
  /** `bad_json`, `bad_frame`, `unknown_type` or `binary_not_supported`. */
  readonly code:
    | typeof ErrorCode.BadJson
    | typeof ErrorCode.BadFrame
    | typeof ErrorCode.UnknownType
    | typeof ErrorCode.BinaryNotSupported;
  /** Names what is wrong, e.g. `topics[0].since.seq: expected int, received string`. */
  readonly message: string;
  /** Dotted path of the offending field, when one field is to blame. */
  readonly path?: string;
  /** The frame's `ref`, when it had a readable one, so a reply can point at it. */
  readonly ref?: string;
}

/** The result of parsing a frame: never thrown, always returned. */
export type ParseResult<F> =
  | { readonly ok: true; readonly frame: F }
  | { readonly ok: false; readonly error: FrameError };

const decoder = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true });

function fail(code: FrameError['code'], message: string, extra?: { path?: string; ref?: string }): ParseResult<never> {
  const error: { code: FrameError['code']; message: string; path?: string; ref?: string } = { code, message };
  if (extra?.path !== undefined) error.path = extra.path;
  if (extra?.ref !== undefined) error.ref = extra.ref;
  return { ok: false, error };
}

function toJson(data: unknown): ParseResult<unknown> {
  if (typeof data === 'string') {
    try {
      return { ok: true, frame: JSON.parse(data) as unknown };
    } catch {
      return fail(ErrorCode.BadJson, 'frame is not valid JSON');
    }
  }
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
    let text: string;
    try {
      const view =
        data instanceof ArrayBuffer
          ? new Uint8Array(data)
          : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      text = decoder.decode(view);
    } catch {
      return fail(ErrorCode.BadJson, 'frame is not valid UTF-8');
    }
    return toJson(text);
  }
  if (typeof data === 'object' && data !== null) return { ok: true, frame: data };
  return fail(ErrorCode.BadFrame, `frame must be a JSON object, received ${data === null ? 'null' : typeof data}`);
}

function pathOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

function parseWith<F>(data: unknown, schema: z.ZodMiniType<F>, types: readonly string[]): ParseResult<F> {
  const json = toJson(data);
  if (!json.ok) return json;
  const value = json.frame;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(ErrorCode.BadFrame, 'frame must be a JSON object');
  }
  const record = value as Record<string, unknown>;
  const ref = typeof record.ref === 'string' && record.ref.length <= 64 ? record.ref : undefined;
  const refPart = ref === undefined ? undefined : { ref };
  const type = record.type;
  if (typeof type !== 'string')
    return fail(ErrorCode.BadFrame, 'frame has no string "type"', { path: 'type', ...refPart });
  if (!types.includes(type)) return fail(ErrorCode.UnknownType, `unknown frame type "${type.slice(0, 32)}"`, refPart);
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, frame: result.data };
  const issue = result.error.issues[0];
  const path = issue ? pathOf(issue.path) : '';
  const message = issue ? `${type}: ${path === '' ? '' : `${path}: `}${issue.message}` : `${type}: invalid frame`;
  return fail(ErrorCode.BadFrame, message, { path, ...refPart });
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
 */
export function parseClientFrame(data: unknown): ParseResult<ClientFrame> {
  return parseWith(data, clientFrameSchema, CLIENT_FRAME_TYPES);
}

/**
 * Parses a frame sent by the hub (what a client receives). Never throws.
 *
 * @example
 * ```ts
 * const r = parseServerFrame(event.data);
 * if (r.ok && r.frame.type === 'notification') show(r.frame);
 * ```
 */
export function parseServerFrame(data: unknown): ParseResult<ServerFrame> {
  return parseWith(data, serverFrameSchema, SERVER_FRAME_TYPES);
}

const ANY_TYPES: readonly string[] = [...CLIENT_FRAME_TYPES, ...SERVER_FRAME_TYPES];

/**
 * Parses any Wardcast frame, in either direction. Never throws: bad input gives
 * `{ ok: false, error }` whose `code` and `message` name what is wrong.
 *
 * @example
 * ```ts
 * parseFrame('{"type":"ack"}');
 * // { ok: false, error: { code: 'bad_frame', message: 'ack: id: Invalid input: expected string, received undefined', path: 'id' } }
 * ```
 */
export function parseFrame(data: unknown): ParseResult<ClientFrame | ServerFrame> {
  const json = toJson(data);
  if (!json.ok) return json;
  const type = (json.frame as { type?: unknown }).type;
  if (typeof type === 'string' && (SERVER_FRAME_TYPES as readonly string[]).includes(type)) {
    return parseWith(json.frame, serverFrameSchema, ANY_TYPES);
  }
  return parseWith(json.frame, clientFrameSchema, ANY_TYPES);
}
