import { type FrameError, type ParseResult, parseClientFrame, parseFrame, parseServerFrame } from '@wardcast/protocol';
import { describe, expect, it } from 'vitest';

function errorOf(result: ParseResult<unknown>): FrameError {
  if (result.ok) throw new Error(`expected a parse error, got ${JSON.stringify(result.frame)}`);
  return result.error;
}

const telemetry = {
  type: 'telemetry',
  connections: 3,
  eventLoopLagMs: 0,
  broker: 'degraded',
  at: 1_700_000_000_000,
} as const;

describe('presence frames', () => {
  it.each([
    ['a member list', { type: 'presence', topic: 'patient:p9', members: [] }],
    ['a join', { type: 'presence', topic: 'patient:p9', joined: ['dr-lee'] }],
    ['a leave', { type: 'presence', topic: 'patient:p9', left: ['dr-lee', 'nurse-kim'] }],
  ])('parses %s', (_label, frame) => {
    expect(parseServerFrame(JSON.stringify(frame))).toEqual({ ok: true, frame });
    expect(parseFrame(frame)).toEqual({ ok: true, frame });
  });

  it.each([
    ['a missing topic', { type: 'presence', members: [] }, 'topic'],
    ['members that is not a list', { type: 'presence', topic: 't', members: 'dr-lee' }, 'members'],
    ['a numeric user id in joined', { type: 'presence', topic: 't', joined: ['a', 7] }, 'joined[1]'],
    ['a null left', { type: 'presence', topic: 't', left: null }, 'left'],
  ])('rejects %s', (_label, frame, path) => {
    const error = errorOf(parseServerFrame(frame));

    expect(error.code).toBe('bad_frame');
    expect(error.path).toBe(path);
  });

  it('is not a frame a client may send', () => {
    expect(errorOf(parseClientFrame({ type: 'presence', topic: 't', members: [] })).code).toBe('unknown_type');
  });
});

describe('subscribe with presence', () => {
  it('accepts a boolean presence flag per topic', () => {
    const frame = { type: 'subscribe', topics: [{ topic: 'patient:p9', presence: true }, { topic: 'user:u1' }] };

    expect(parseClientFrame(frame)).toEqual({ ok: true, frame });
  });

  it('rejects a presence flag that is not a boolean', () => {
    const error = errorOf(parseClientFrame({ type: 'subscribe', topics: [{ topic: 'a', presence: 'yes' }] }));

    expect(error.path).toBe('topics[0].presence');
  });
});

describe('telemetry frames', () => {
  it('parses a server telemetry frame without an rtt (none measured yet)', () => {
    expect(parseServerFrame(telemetry)).toEqual({ ok: true, frame: telemetry });
  });

  it.each([
    ['a null rttMs', { ...telemetry, rttMs: null }, 'rttMs'],
    ['a string rttMs', { ...telemetry, rttMs: '12' }, 'rttMs'],
    ['a fractional connection count', { ...telemetry, connections: 1.5 }, 'connections'],
    ['an unknown broker state', { ...telemetry, broker: 'down' }, 'broker'],
    ['a missing eventLoopLagMs', { ...telemetry, eventLoopLagMs: undefined }, 'eventLoopLagMs'],
    ['an ISO string at', { ...telemetry, at: '2026-01-01T00:00:00Z' }, 'at'],
  ])('rejects a server frame with %s', (_label, frame, path) => {
    expect(errorOf(parseServerFrame(frame)).path).toBe(path);
  });

  it('parses the client opt-in and opt-out', () => {
    for (const enabled of [true, false]) {
      const frame = { type: 'telemetry', enabled, ref: 't1' };
      expect(parseClientFrame(JSON.stringify(frame))).toEqual({ ok: true, frame });
    }
  });

  it.each([
    ['a missing enabled', { type: 'telemetry' }, 'enabled'],
    ['a string enabled', { type: 'telemetry', enabled: 'true' }, 'enabled'],
  ])('rejects a client frame with %s', (_label, frame, path) => {
    const error = errorOf(parseClientFrame(frame));

    expect(error.code).toBe('bad_frame');
    expect(error.path).toBe(path);
  });

  it('lets parseFrame read either direction of the shared type by its fields', () => {
    const optIn = { type: 'telemetry', enabled: false };

    expect(parseFrame(optIn)).toEqual({ ok: true, frame: optIn });
    expect(parseFrame(telemetry)).toEqual({ ok: true, frame: telemetry });
  });

  it('makes parseFrame report the closer of the two shapes when neither fits', () => {
    expect(errorOf(parseFrame({ type: 'telemetry', enabled: 'yes' })).path).toBe('enabled');
    expect(errorOf(parseFrame({ ...telemetry, broker: 'down' })).path).toBe('broker');
  });
});
