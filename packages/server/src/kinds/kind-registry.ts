import { describeIssue, ErrorCode, type PhiLevel, WardcastError } from '@wardcast/protocol';
import { CLINICAL_KIND_SCHEMAS, ID_ONLY_FIELDS } from '@wardcast/protocol/kinds';
import { compileFastCheck, type FastCheck } from './fast-check.js';

/**
 * One problem a schema found, as zod reports it.
 *
 * @category Clinical kinds
 */
export interface SchemaIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly code?: string;
}

/**
 * A payload schema: anything with zod's `safeParse` (zod 3/4, `zod/mini`, or your own).
 * Unknown keys should be stripped (zod's default), so nothing undeclared reaches subscribers.
 *
 * @category Clinical kinds
 */
export interface PayloadSchema<T = unknown> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: readonly SchemaIssue[] } };
}

/**
 * How to define a custom kind with `hub.defineKind`.
 *
 * @category Clinical kinds
 */
export interface KindDefinition<T = unknown> {
  /** Validates (and may transform) the payload on every publish. */
  readonly schema: PayloadSchema<T>;
  /**
   * Top-level payload fields an `id-only` subscriber may see (ids and statuses; never names,
   * values, dates or free text). Everything else is treated as PHI.
   * @default [] (id-only subscribers get an empty object)
   */
  readonly idOnlyFields?: readonly string[];
}

interface Entry {
  readonly schema: PayloadSchema;
  readonly idOnly: readonly string[];
  /** `true` only for a payload the schema accepts unchanged (see {@link compileFastCheck}). */
  readonly fast: FastCheck | undefined;
}

/** The `custom` kind: any JSON value, unvalidated; `id-only` subscribers see none of it. */
const customSchema: PayloadSchema = { safeParse: (value) => ({ success: true, data: value }) };

const NAMESPACED = /^[a-z][a-z0-9_-]*[.:][a-z0-9_.:-]+$/;

function pathOf(path: readonly PropertyKey[]): string {
  return path
    .map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`))
    .join('')
    .replace(/^\./, '');
}

/**
 * The notification kinds a hub accepts: the built-in clinical kinds (validated against their
 * schemas in `@wardcast/protocol/kinds`), `custom` (any JSON value, unvalidated), and namespaced kinds an app
 * defines. Also reduces payloads to a PHI level.
 */
export class KindRegistry {
  readonly #kinds = new Map<string, Entry>();

  constructor() {
    for (const [kind, schema] of Object.entries(CLINICAL_KIND_SCHEMAS)) {
      this.#kinds.set(kind, {
        schema: schema as PayloadSchema,
        idOnly: ID_ONLY_FIELDS[kind as keyof typeof ID_ONLY_FIELDS] as readonly string[],
        fast: compileFastCheck(schema),
      });
    }
    this.#kinds.set('custom', { schema: customSchema, idOnly: [], fast: () => true });
  }

  /** Whether `kind` can be published. */
  has(kind: string): boolean {
    return this.#kinds.has(kind);
  }

  /** Adds a namespaced kind (`acme.discharge_summary`, `lab:panel`). */
  define<T>(kind: string, definition: KindDefinition<T>): void {
    if (!NAMESPACED.test(kind) || kind.length > 64) {
      throw new WardcastError(
        ErrorCode.InvalidOption,
        `defineKind: "${kind}" must be namespaced, e.g. "acme.discharge"`,
      );
    }
    if (this.#kinds.has(kind))
      throw new WardcastError(ErrorCode.InvalidOption, `defineKind: "${kind}" is already defined`);
    if (typeof definition?.schema?.safeParse !== 'function') {
      throw new WardcastError(ErrorCode.InvalidOption, 'defineKind: schema must have safeParse()');
    }
    this.#kinds.set(kind, {
      schema: definition.schema as PayloadSchema,
      idOnly: [...(definition.idOnlyFields ?? [])],
      fast: compileFastCheck(definition.schema),
    });
  }

  /**
   * Checks a payload against its kind and returns the parsed payload: `payload` itself when the
   * schema would return it unchanged. `payload` must be JSON data (`JSON.parse` output).
   * @throws {WardcastError} `unknown_kind` or `invalid_payload`.
   */
  validate(kind: string, payload: unknown): unknown {
    const entry = this.#kinds.get(kind);
    if (!entry) {
      throw new WardcastError(
        ErrorCode.UnknownKind,
        // The kind is named: it is the payload's type (already checked against the kind pattern).
        `unknown kind "${kind}": use a built-in kind, "custom", or hub.defineKind()`,
      );
    }
    // The schema's own constructs compiled to a plain predicate: a valid payload is not parsed.
    if (entry.fast?.(payload)) return payload;
    const result = entry.schema.safeParse(payload);
    if (result.success) return result.data;
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${pathOf(issue.path)}: ` : '';
    throw new WardcastError(
      ErrorCode.InvalidPayload,
      `${kind} payload: ${where}${issue ? describeIssue(issue, payload) : 'invalid'}`,
    );
  }

  /** The payload as a subscriber at `level` may see it. */
  redact(kind: string, payload: unknown, level: PhiLevel): unknown {
    if (level === 'full') return payload;
    // Arrays are not objects here: docs promise `null` for any non-object payload at id-only.
    if (level === 'empty' || typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null;
    const out: Record<string, unknown> = {};
    const source = payload as Record<string, unknown>;
    for (const field of this.#kinds.get(kind)?.idOnly ?? []) {
      if (field in source) out[field] = source[field];
    }
    return out;
  }
}
