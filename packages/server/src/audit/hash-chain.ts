import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { AuditEvent } from '../core/events.js';

/**
 * The `prevHash` of the first record of a chain, unless `initialHash` says otherwise: 64 zeros.
 *
 * @category Audit
 */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * An audit event linked into a chain: its position, the previous record's hash, and its own.
 *
 * @category Audit
 */
export type ChainedAuditRecord<E extends object = AuditEvent> = E & {
  /** Position in the chain: `initialSeq + 1`, `+ 2`, ... */
  readonly seq: number;
  /** `hash` of the previous record (or `initialHash` for the first). */
  readonly prevHash: string;
  /** Hex SHA-256 (HMAC-SHA-256 with a secret) of the canonical JSON of everything else in the record. */
  readonly hash: string;
};

/**
 * Options of {@link createAuditChain} and {@link verifyAuditChain}.
 *
 * @category Audit
 */
export interface AuditChainOptions {
  /**
   * Key for HMAC-SHA-256. Without it, anyone who can write the store can recompute a consistent
   * chain; with it (kept outside the database), they cannot.
   */
  readonly secret?: string | Uint8Array | undefined;
  /** `prevHash` of the first record: the last stored hash when continuing a chain. @default GENESIS_HASH */
  readonly initialHash?: string;
  /** `seq` of the record before the first one: the last stored seq when continuing a chain. @default 0 */
  readonly initialSeq?: number;
}

/**
 * An append-only hash chain over audit events.
 *
 * @category Audit
 */
export interface AuditChain {
  /** Links `event` after the previous record and returns the record to store. */
  append<E extends object = AuditEvent>(event: E): ChainedAuditRecord<E>;
  /** `seq` and `hash` of the last record appended (store them elsewhere to detect a truncated tail). */
  readonly head: { readonly seq: number; readonly hash: string };
}

/**
 * Why {@link verifyAuditChain} rejected a chain.
 *
 * @category Audit
 */
export type AuditChainFailure = 'seq' | 'prevHash' | 'hash';

/**
 * The result of {@link verifyAuditChain}.
 *
 * @category Audit
 */
export type AuditChainVerification =
  | { readonly ok: true }
  | { readonly ok: false; readonly index: number; readonly reason: AuditChainFailure };

/**
 * Turns the hub's audit stream into tamper-evident records: each one carries `seq`, the previous
 * record's hash and its own hash, so editing, reordering or deleting a stored record breaks the
 * chain at that point (see {@link verifyAuditChain}). Use one chain per writer (hub instance).
 *
 * @example
 * ```ts
 * const chain = createAuditChain({ secret: process.env.AUDIT_HMAC_KEY });
 * hub.on('audit', (e) => db.insert('audit_log', chain.append(e)));
 * ```
 *
 * @category Audit
 */
export function createAuditChain(options: AuditChainOptions = {}): AuditChain {
  let seq = options.initialSeq ?? 0;
  let prevHash = options.initialHash ?? GENESIS_HASH;
  return {
    append<E extends object>(event: E): ChainedAuditRecord<E> {
      const { seq: _s, prevHash: _p, hash: _h, ...fields } = event as E & Record<'seq' | 'prevHash' | 'hash', unknown>;
      const body = { ...fields, seq: seq + 1, prevHash };
      const record = { ...body, hash: digest(body, options.secret) } as unknown as ChainedAuditRecord<E>;
      seq = record.seq;
      prevHash = record.hash;
      return record;
    },
    get head() {
      return { seq, hash: prevHash };
    },
  };
}

/**
 * Checks stored records in order: consecutive `seq`s, each `prevHash` equal to the previous
 * record's `hash`, and each `hash` matching the record's content. Pass the options the chain
 * was created with (the same `secret`; `initialHash`/`initialSeq` to check a later segment).
 * A deleted tail is only detectable against a head kept elsewhere.
 *
 * @example
 * ```ts
 * const result = verifyAuditChain(await db.select('audit_log').orderBy('seq'), { secret });
 * if (!result.ok) alert(`audit log broken at row ${result.index}: ${result.reason}`);
 * ```
 *
 * @category Audit
 */
export function verifyAuditChain(
  records: readonly ChainedAuditRecord<object>[],
  options: AuditChainOptions = {},
): AuditChainVerification {
  let seq = options.initialSeq ?? 0;
  let prevHash = options.initialHash ?? GENESIS_HASH;
  for (const [index, record] of records.entries()) {
    const { hash, ...body } = record;
    if (body.seq !== seq + 1) return { ok: false, index, reason: 'seq' };
    if (body.prevHash !== prevHash) return { ok: false, index, reason: 'prevHash' };
    if (typeof hash !== 'string' || !sameHex(hash, digest(body, options.secret))) {
      return { ok: false, index, reason: 'hash' };
    }
    seq = body.seq;
    prevHash = hash;
  }
  return { ok: true };
}

function digest(body: object, secret: string | Uint8Array | undefined): string {
  const text = canonicalJson(body);
  return (secret === undefined ? createHash('sha256') : createHmac('sha256', secret)).update(text).digest('hex');
}

function sameHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/**
 * JSON with object keys sorted at every level and `undefined` properties left out.
 *
 * @category Audit
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return canonicalJson(toJSON.call(value));
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
