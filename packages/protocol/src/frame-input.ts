/**
 * Reading a frame before its fields are checked: bytes or text to JSON, the `type` and `ref`, and
 * the error shape. Shared by the zod parsers (`parse.ts`) and the lean decoder (`lean.ts`), and
 * free of any schema library so the browser client can use it.
 */
import type { ErrorCode } from './error-codes.js';

/**
 * Why a frame could not be parsed.
 *
 * @category Parsing
 */
export interface FrameError {
  /** `bad_json`, `bad_frame`, `unknown_type` or `binary_not_supported`. */
  readonly code:
    | typeof ErrorCode.BadJson
    | typeof ErrorCode.BadFrame
    | typeof ErrorCode.UnknownType
    | typeof ErrorCode.BinaryNotSupported;
  /**
   * Names what is wrong, e.g. `topics[0].since.seq: expected number, received string`: the field,
   * what was expected and the type received, never the value sent (nor an unknown `type`).
   */
  readonly message: string;
  /** Dotted path of the offending field, when one field is to blame. */
  readonly path?: string;
  /** The frame's `ref`, when it had a readable one, so a reply can point at it. */
  readonly ref?: string;
}

/**
 * The result of parsing a frame: never thrown, always returned.
 *
 * @category Parsing
 */
export type ParseResult<F> =
  | { readonly ok: true; readonly frame: F }
  | { readonly ok: false; readonly error: FrameError };

/**
 * What a frame's field check found: the checked frame (returned to the caller as it is), or the
 * first bad field and what is wrong with it.
 */
export type Checked =
  | { readonly ok: true; readonly frame: unknown }
  | { readonly ok: false; readonly path: string; readonly detail: string };

let decoder: TextDecoder | undefined;

export function fail(
  code: FrameError['code'],
  message: string,
  extra?: { path?: string; ref?: string },
): ParseResult<never> {
  const error: { code: FrameError['code']; message: string; path?: string; ref?: string } = { code, message };
  if (extra?.path !== undefined) error.path = extra.path;
  if (extra?.ref !== undefined) error.ref = extra.ref;
  return { ok: false, error };
}

export function toJson(data: unknown): ParseResult<unknown> {
  if (typeof data === 'string') {
    try {
      return { ok: true, frame: JSON.parse(data) as unknown };
    } catch {
      return fail('bad_json', 'frame is not valid JSON');
    }
  }
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
    let text: string;
    try {
      const view =
        data instanceof ArrayBuffer
          ? new Uint8Array(data)
          : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      decoder ??= new TextDecoder('utf-8', { fatal: true });
      text = decoder.decode(view);
    } catch {
      return fail('bad_json', 'frame is not valid UTF-8');
    }
    return toJson(text);
  }
  if (typeof data === 'object' && data !== null) return { ok: true, frame: data };
  return fail('bad_frame', `frame must be a JSON object, received ${data === null ? 'null' : typeof data}`);
}

/** `['topics', 0, 'since']` as `topics[0].since`. */
export function pathOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/**
 * Runs `parse(input, arg)`, turning anything it throws (a getter or proxy trap on a hostile
 * object) into `bad_frame`. (Arguments rather than a closure: nothing allocated per frame.)
 */
export function guarded<F, A>(
  parse: (input: unknown, arg: A) => ParseResult<F>,
  input: unknown,
  arg: A,
): ParseResult<F> {
  try {
    return parse(input, arg);
  } catch {
    return fail('bad_frame', 'frame could not be read');
  }
}

/**
 * Decodes `data` to a JSON object, reads its `type` and `ref`, and hands it to `check`
 * (`undefined`: a `type` this side does not know). Does not catch: wrap it in {@link guarded}.
 */
export function parseObject<F>(
  data: unknown,
  check: (type: string, value: object) => Checked | undefined,
): ParseResult<F> {
  const json = toJson(data);
  if (!json.ok) return json;
  const value = json.frame;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('bad_frame', 'frame must be a JSON object');
  }
  const record = value as Record<string, unknown>;
  const ref =
    typeof record.ref === 'string' && record.ref.length >= 1 && record.ref.length <= 64 ? record.ref : undefined;
  const refPart = ref === undefined ? undefined : { ref };
  const type = record.type;
  if (typeof type !== 'string') return fail('bad_frame', 'frame has no string "type"', { path: 'type', ...refPart });
  const checked = check(type, value);
  // The type is not named: it is whatever the sender wrote (errors.md: fields, never values).
  if (!checked) return fail('unknown_type', 'unknown frame type', { path: 'type', ...refPart });
  if (checked.ok) return checked as ParseResult<F>;
  const { path, detail } = checked;
  return fail('bad_frame', `${type}: ${path === '' ? '' : `${path}: `}${detail}`, { path, ...refPart });
}
