import { ErrorCode, isValidTopic, isWardcastError, WardcastError } from '@wardcast/protocol';
import { describe, expect, it } from 'vitest';

describe('WardcastError', () => {
  it('carries a stable code, its message and name', () => {
    const error = new WardcastError(ErrorCode.HubClosed, 'hub is closed');

    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'WardcastError', code: 'hub_closed', message: 'hub is closed' });
  });

  it('keeps the cause', () => {
    const cause = new Error('redis down');

    expect(new WardcastError(ErrorCode.StoreUnavailable, 'x', { cause }).cause).toBe(cause);
  });

  it('uses only lower-case snake_case error codes, each once', () => {
    const codes = Object.values(ErrorCode);

    for (const code of codes) expect(code).toMatch(/^[a-z]+(_[a-z0-9]+)*$/);
    expect(new Set(codes).size).toBe(codes.length);
  });
});

describe('isWardcastError', () => {
  it('recognises a WardcastError', () => {
    expect(isWardcastError(new WardcastError(ErrorCode.Internal, 'x'))).toBe(true);
  });

  it('checks the code when one is given', () => {
    const error = new WardcastError(ErrorCode.RateLimited, 'slow down');

    expect(isWardcastError(error, 'rate_limited')).toBe(true);
    expect(isWardcastError(error, 'hub_closed')).toBe(false);
  });

  it('recognises an error from another copy of the package by its shape', () => {
    const foreign = Object.assign(new Error('from another bundle'), { name: 'WardcastError', code: 'hub_closed' });

    expect(isWardcastError(foreign, 'hub_closed')).toBe(true);
  });

  it.each([
    ['a plain Error', new Error('x')],
    ['an Error with a code but another name', Object.assign(new Error('x'), { code: 'hub_closed' })],
    ['a look-alike with a numeric code', { name: 'WardcastError', code: 4401 }],
    ['null', null],
    ['undefined', undefined],
    ['a string', 'WardcastError'],
    ['a number', 42],
  ])('returns false for %s', (_label, value) => {
    expect(isWardcastError(value)).toBe(false);
  });
});

describe('isValidTopic', () => {
  it.each(['user:u1', 'patient:p-9', 'broadcast', 'a.b_c:d-e', 'x'.repeat(128)])('accepts %s', (topic) => {
    expect(isValidTopic(topic)).toBe(true);
  });

  it.each(['', 'user u1', 'user/u1', 'é', 'x'.repeat(129), 'user:u1\n', 42, null])('rejects %s', (topic) => {
    expect(isValidTopic(topic)).toBe(false);
  });
});
