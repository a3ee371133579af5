import { decodeClientFrame, parseClientFrame } from '@wardcast/protocol';
import { describe, expect, it } from 'vitest';

/** Both decoders on `input`; they must agree (as the property tests require), and the lean result is returned. */
function both(input: unknown) {
  const zod = parseClientFrame(input);
  const lean = decodeClientFrame(input);
  expect(lean.ok).toBe(zod.ok);
  if (zod.ok && lean.ok) expect(lean.frame).toStrictEqual(zod.frame);
  if (!zod.ok && !lean.ok) {
    expect(lean.error.code).toBe(zod.error.code);
    expect(lean.error.path).toBe(zod.error.path);
  }
  return lean;
}

const hello = { type: 'hello', token: 't0k3n', topics: [{ topic: 'patient:p1', since: { epoch: 'e1', seq: 4 } }] };

describe('decodeClientFrame: a frame accepted as it is comes back uncopied', () => {
  it('returns the parsed object itself when it has no key the protocol does not name', () => {
    const r = both(hello);
    expect(r.ok && r.frame).toBe(hello);
    if (r.ok && r.frame.type === 'hello') expect(r.frame.topics).toBe(hello.topics);
  });

  it('drops unknown keys, at the top or nested, into a copy (as zod)', () => {
    const top = { ...hello, extra: 1 };
    const r1 = both(top);
    expect(r1.ok && r1.frame).not.toBe(top);
    expect(r1.ok && r1.frame).toStrictEqual(hello);
    const nested = { ...hello, topics: [{ topic: 'patient:p1', colour: 'red' }] };
    const r2 = both(nested);
    expect(r2.ok && r2.frame).toStrictEqual({ ...hello, topics: [{ topic: 'patient:p1' }] });
  });

  it('keeps a present optional key holding undefined, as zod does (object input only)', () => {
    const input = { type: 'ack', id: 'n1', ref: undefined };
    const r = both(input);
    expect(r.ok && Object.keys(r.frame)).toEqual(['type', 'id', 'ref']);
  });

  it('copies objects and arrays that are not plain (another prototype), with the same verdict', () => {
    const bare = Object.assign(Object.create(null), { type: 'ack', id: 'n1' });
    const r = both(bare);
    expect(r.ok && r.frame).not.toBe(bare);
    class Topics extends Array {}
    const list = Topics.from([{ topic: 'patient:p1' }]);
    both({ type: 'subscribe', topics: list });
  });

  it('refuses what zod refuses, with the same path, whatever the fast check said', () => {
    expect(both({ ...hello, topics: [{ topic: 'bad topic!' }] }).ok).toBe(false);
    expect(both({ type: 'ack' }).ok).toBe(false);
    expect(both({ type: 'ack', id: undefined }).ok).toBe(false);
    expect(both({ type: 'hello', topics: [{ topic: 'a', since: { epoch: 'e', seq: -1 } }] }).ok).toBe(false);
    expect(both(JSON.stringify({ type: 'ping', ts: 'soon' })).ok).toBe(false);
  });

  it('decodes text the same way: the parsed frame, nothing copied', () => {
    const r = both(JSON.stringify(hello));
    expect(r.ok && r.frame).toStrictEqual(hello);
  });
});
