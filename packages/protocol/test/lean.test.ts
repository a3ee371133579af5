import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseServerFrame } from '@wardcast/protocol';
import { decodeServerFrame } from '@wardcast/protocol/lean';
import { describe, expect, it } from 'vitest';

const src = join(dirname(fileURLToPath(import.meta.url)), '../src');

const notification = {
  type: 'notification',
  id: 'n1',
  topic: 'user:u1',
  epoch: 'e1',
  seq: 3,
  kind: 'lab_result',
  priority: 'critical',
  createdAt: '2026-01-01T00:00:00.000Z',
  payload: { labOrderId: 'L1' },
};

/** Both decoders on `input`; they must agree, and the lean result is returned. */
function both(input: unknown) {
  const zod = parseServerFrame(input);
  const lean = decodeServerFrame(input);
  expect(lean.ok).toBe(zod.ok);
  if (zod.ok && lean.ok) expect(lean.frame).toStrictEqual(zod.frame);
  if (!zod.ok && !lean.ok) {
    expect(lean.error.code).toBe(zod.error.code);
    expect(lean.error.path).toBe(zod.error.path);
    expect(lean.error.ref).toBe(zod.error.ref);
  }
  return lean;
}

describe('decodeServerFrame (lean)', () => {
  it('decodes a notification into a fresh object without unknown fields, the payload by reference', () => {
    const input = { ...notification, extra: 1 };
    const r = both(input);
    expect(r).toEqual({ ok: true, frame: notification });
    if (r.ok) {
      expect(r.frame).not.toBe(input);
      expect((r.frame as typeof notification).payload).toBe(input.payload);
    }
  });

  it('names the field, never the value, in a short message', () => {
    const r = both(JSON.stringify({ ...notification, seq: 0, ref: 'r1' }));
    expect(r).toEqual({
      ok: false,
      error: { code: 'bad_frame', message: 'notification: seq: invalid value', path: 'seq', ref: 'r1' },
    });
    const nested = both({ type: 'subscribed', topics: [{ topic: 't', status: 'ok', recovered: true, position: {} }] });
    expect(nested.ok === false && nested.error.message).toBe('subscribed: topics[0].position.epoch: invalid value');
  });

  it('refuses a missing payload but keeps a null one, as zod', () => {
    const { payload: _payload, ...without } = notification;
    expect(both(without).ok).toBe(false);
    expect(both({ ...notification, payload: null }).ok).toBe(true);
  });

  it('matches zod on values JSON cannot carry: undefined, non-finite numbers, inherited fields', () => {
    // An optional field present with `undefined` is kept; a required one is refused.
    const kept = both({ type: 'pong', ts: undefined });
    expect(kept.ok && Object.hasOwn(kept.frame, 'ts')).toBe(true);
    expect(both({ type: 'authenticated', userId: undefined }).ok).toBe(false);
    expect(both({ type: 'pong', ts: Number.NaN }).ok).toBe(false);
    expect(both('{"type":"pong","ts":1e400}').ok).toBe(false);
    // Fields read through the prototype chain count, as zod reads them.
    expect(both(Object.assign(Object.create({ userId: 'u1' }), { type: 'authenticated' })).ok).toBe(true);
    expect(both(Object.create({ type: 'pong' })).ok).toBe(true);
  });

  it('drops a __proto__ key and never changes the prototype of what it returns', () => {
    const r = both('{"type":"pong","__proto__":{"polluted":true},"ts":1}');
    expect(r.ok && Object.getPrototypeOf(r.frame)).toBe(Object.prototype);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('refuses unknown types, including names on Object.prototype', () => {
    for (const type of ['nope', 'toString', '__proto__', 'constructor']) {
      const r = both({ type });
      expect(r.ok === false && r.error.code).toBe('unknown_type');
    }
  });

  it('never throws on hostile objects', () => {
    const hostile = {
      type: 'notification',
      get id(): string {
        throw new Error('boom');
      },
    };
    const r = both(hostile);
    expect(r).toEqual({ ok: false, error: { code: 'bad_frame', message: 'frame could not be read' } });
    const proxy = new Proxy(
      { type: 'pong' },
      {
        has() {
          throw new Error('boom');
        },
      },
    );
    expect(decodeServerFrame(proxy).ok).toBe(false);
  });

  it('decodes bytes as UTF-8 text and refuses invalid UTF-8', () => {
    const bytes = new TextEncoder().encode(JSON.stringify(notification));
    expect(both(bytes).ok).toBe(true);
    expect(both(bytes.buffer).ok).toBe(true);
    const bad = both(new Uint8Array([0x7b, 0xff, 0x7d]));
    expect(bad.ok === false && bad.error.code).toBe('bad_json');
  });

  it('loads no schema library: nothing reachable from lean.ts imports zod at runtime', () => {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(join(src, file), 'utf8');
      // Statements that import or re-export values (type-only ones vanish from the build).
      for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)';/gms)) {
        const target = m[1] as string;
        expect(target, `${file} imports ${target}`).toMatch(/^\.\//);
        visit(target.replace(/\.js$/, '.ts').slice(2));
      }
    };
    visit('lean.ts');
    expect([...seen].sort()).toEqual([
      'close-codes.ts',
      'error-codes.ts',
      'frame-input.ts',
      'lean-spec.ts',
      'lean.ts',
      'names.ts',
    ]);
  });
});
