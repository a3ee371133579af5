import { CloseCode, type CloseCodeInfo, closeCodes, shouldReconnect } from '@wardcast/protocol';
import { describe, expect, it } from 'vitest';

const entries = Object.entries(CloseCode) as [keyof typeof CloseCode, CloseCode][];
const table = closeCodes as Readonly<Record<number, CloseCodeInfo | undefined>>;

/** Codes a client must not retry: retrying cannot succeed without a change on the client's side. */
const FATAL: readonly (keyof typeof CloseCode)[] = ['BadFrame', 'Unauthorized', 'Forbidden', 'SessionRevoked'];

describe('CloseCode', () => {
  it('uses only codes in the application range 4000-4999', () => {
    for (const [, code] of entries) {
      expect(code).toBeGreaterThanOrEqual(4000);
      expect(code).toBeLessThanOrEqual(4999);
    }
  });

  it('gives every name its own code', () => {
    expect(new Set(entries.map(([, code]) => code)).size).toBe(entries.length);
  });

  it('has an entry in closeCodes for every code, under its own name', () => {
    for (const [name, code] of entries) expect(table[code]?.name).toBe(name);
  });

  it('has no entry in closeCodes that is not a CloseCode', () => {
    const codes = new Set<number>(entries.map(([, code]) => code));

    expect(
      Object.keys(closeCodes)
        .map(Number)
        .filter((code) => !codes.has(code)),
    ).toEqual([]);
  });

  it('describes every code in one non-empty sentence', () => {
    for (const [, code] of entries) expect(table[code]?.description).toMatch(/^\S.*\.$/);
  });
});

describe('shouldReconnect', () => {
  it.each(FATAL)('returns false for %s', (name) => {
    expect(shouldReconnect(CloseCode[name])).toBe(false);
    expect(closeCodes[CloseCode[name]].retry).toBe(false);
  });

  it.each(entries.filter(([name]) => !FATAL.includes(name)))('returns true for %s (%i)', (_name, code) => {
    expect(shouldReconnect(code)).toBe(true);
  });

  it('retries TooManyConnections: a slot frees when another connection closes or a crashed instance lapses', () => {
    expect(shouldReconnect(CloseCode.TooManyConnections)).toBe(true);
    expect(closeCodes[4430]).toMatchObject({ name: 'TooManyConnections', retry: true });
  });

  it('follows the retry flag of the table for every code', () => {
    for (const [, code] of entries) expect(shouldReconnect(code)).toBe(closeCodes[code].retry);
  });

  it.each([1008, 1009])('returns false for the standard code %i', (code) => {
    expect(shouldReconnect(code)).toBe(false);
  });

  it.each([1000, 1001, 1005, 1006, 1011, 1012, 1013])('returns true for the standard code %i', (code) => {
    expect(shouldReconnect(code)).toBe(true);
  });

  it('returns true for an application code Wardcast does not define', () => {
    expect(shouldReconnect(4999)).toBe(true);
  });
});
