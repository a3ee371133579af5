import {
  CLIENT_FRAME_TYPES,
  type ClientFrame,
  type ClientFrameType,
  describeIssue,
  type FrameError,
  type ParseResult,
  parseClientFrame,
  parseFrame,
  parseServerFrame,
  SERVER_FRAME_TYPES,
  type ServerFrame,
  type ServerFrameType,
} from '@wardcast/protocol';
import { describe, expect, it } from 'vitest';

type Parser = (data: unknown) => ParseResult<unknown>;
const parsers: [string, Parser][] = [
  ['parseClientFrame', parseClientFrame],
  ['parseServerFrame', parseServerFrame],
  ['parseFrame', parseFrame],
];

/** The error of a failed parse; fails the test if the parse succeeded. */
function errorOf(result: ParseResult<unknown>): FrameError {
  if (result.ok) throw new Error(`expected a parse error, got ${JSON.stringify(result.frame)}`);
  return result.error;
}

/** Calls `parse` and fails the test with a clear message if it throws. */
function safely(parse: Parser, data: unknown): ParseResult<unknown> {
  try {
    return parse(data);
  } catch (error) {
    throw new Error(`parser threw on ${describeValue(data)}: ${String(error)}`);
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return `string(${value.length}) ${JSON.stringify(value.slice(0, 40))}`;
  if (typeof value === 'bigint' || typeof value === 'symbol' || typeof value === 'function') return typeof value;
  try {
    return JSON.stringify(value)?.slice(0, 60) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

const deepArray = '['.repeat(100_000);
const deepObject = `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`;
const cyclic: Record<string, unknown> = { type: 'subscribe' };
cyclic.topics = [cyclic];
const throwingGetter = {
  get type(): string {
    throw new Error('getter exploded');
  },
};
const hostileProxy = new Proxy(
  {},
  {
    get() {
      throw new Error('trap');
    },
    has() {
      throw new Error('trap');
    },
    ownKeys() {
      throw new Error('trap');
    },
    getOwnPropertyDescriptor() {
      throw new Error('trap');
    },
    getPrototypeOf() {
      throw new Error('trap');
    },
  },
);

const garbage: [string, unknown][] = [
  ['an empty string', ''],
  ['whitespace', '  \n\t '],
  ['truncated JSON', '{"type":'],
  ['JSON with a trailing comma', '{"type":"ping",}'],
  ['the string "undefined"', 'undefined'],
  ['the string "null"', 'null'],
  ['the string "42"', '42'],
  ['a JSON string literal', '"ping"'],
  ['a JSON array', '[{"type":"ping"}]'],
  ['a 5 MB string', 'x'.repeat(5_000_000)],
  ['a frame with a 1 MB type', `{"type":"${'a'.repeat(1_000_000)}"}`],
  ['100k nested arrays', deepArray],
  ['50k nested objects', deepObject],
  ['a lone surrogate as the type', '{"type":"\ud800"}'],
  ['zero', 0],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['a bigint', 10n],
  ['null', null],
  ['undefined', undefined],
  ['true', true],
  ['a symbol', Symbol('frame')],
  ['a function', () => ({ type: 'ping' })],
  ['an empty array', []],
  ['an array of frames', [{ type: 'ping' }]],
  ['a Date', new Date(0)],
  ['a Map', new Map([['type', 'ping']])],
  ['a RegExp', /ping/],
  ['an empty object', {}],
  ['an object without prototype', Object.create(null) as object],
  ['a numeric type', { type: 1 }],
  ['a null type', { type: null }],
  ['an object type', { type: { toString: () => 'ping' } }],
  ['type __proto__', { type: '__proto__' }],
  ['type constructor', { type: 'constructor' }],
  ['type toString', { type: 'toString' }],
  ['type hasOwnProperty', { type: 'hasOwnProperty' }],
  ['a JSON __proto__ key', '{"__proto__":{"type":"ping"}}'],
  ['subscribe with null topics', { type: 'subscribe', topics: null }],
  ['subscribe with a null topic entry', { type: 'subscribe', topics: [null] }],
  ['subscribe with an object topic name', { type: 'subscribe', topics: [{ topic: {} }] }],
  ['subscribe with 10k topics', { type: 'subscribe', topics: Array.from({ length: 10_000 }, () => ({ topic: 'a' })) }],
  ['a cyclic object', cyclic],
  ['an object whose type getter throws', throwingGetter],
  ['a proxy that throws on every access', hostileProxy],
  ['invalid UTF-8 bytes', new Uint8Array([0xff, 0xfe, 0xfd])],
  ['a truncated UTF-8 sequence', Buffer.from([0x7b, 0xc3])],
  ['an empty byte array', new Uint8Array(0)],
  ['an ArrayBuffer of invalid UTF-8', new Uint8Array([0xc3, 0x28]).buffer],
  ['a DataView of invalid UTF-8', new DataView(new Uint8Array([0xe2, 0x28, 0xa1]).buffer)],
  ['a Float64Array', new Float64Array([1, 2, 3])],
  ['a SharedArrayBuffer', new SharedArrayBuffer(8)],
  ['a notification with a negative seq', { type: 'notification', seq: -1 }],
];

describe.each(parsers)('%s on garbage', (_name, parse) => {
  it.each(garbage)('returns an error for %s without throwing', (_label, value) => {
    const result = safely(parse, value);

    expect(result.ok).toBe(false);
    const error = errorOf(result);
    expect(['bad_json', 'bad_frame', 'unknown_type']).toContain(error.code);
    expect(error.message.length).toBeGreaterThan(0);
    expect(error.message.length).toBeLessThan(500);
  });
});

describe('error codes', () => {
  it.each(parsers)('%s returns bad_json for text that is not JSON', (_name, parse) => {
    expect(errorOf(parse('{nope')).code).toBe('bad_json');
  });

  it.each(parsers)('%s returns bad_json for bytes that are not UTF-8', (_name, parse) => {
    expect(errorOf(parse(new Uint8Array([0x7b, 0xff, 0x7d]))).code).toBe('bad_json');
  });

  it.each(parsers)('%s returns bad_frame for a JSON value that is not an object', (_name, parse) => {
    for (const text of ['null', '42', '"x"', 'true', '[]']) expect(errorOf(parse(text)).code).toBe('bad_frame');
  });

  it.each(parsers)('%s does not decode a JSON string holding a frame a second time', (_name, parse) => {
    expect(errorOf(parse(JSON.stringify(JSON.stringify({ type: 'ping' })))).code).toBe('bad_frame');
  });

  it.each(parsers)('%s returns bad_frame naming "type" for a frame without a string type', (_name, parse) => {
    const error = errorOf(parse('{"ref":"r1"}'));

    expect(error).toMatchObject({ code: 'bad_frame', path: 'type', ref: 'r1' });
  });

  it.each(parsers)('%s returns unknown_type for a type nobody sends', (_name, parse) => {
    expect(errorOf(parse({ type: 'teleport' })).code).toBe('unknown_type');
  });

  it('parseServerFrame returns unknown_type for a client frame', () => {
    expect(errorOf(parseServerFrame({ type: 'auth', token: 't' })).code).toBe('unknown_type');
  });

  it('parseClientFrame returns unknown_type for a server frame', () => {
    expect(errorOf(parseClientFrame({ type: 'pong' })).code).toBe('unknown_type');
  });

  it('keeps the message short for a huge unknown type', () => {
    const error = errorOf(parseFrame({ type: 't'.repeat(100_000) }));

    expect(error.code).toBe('unknown_type');
    expect(error.message.length).toBeLessThan(100);
  });

  it('does not repeat an unknown type in the message; the path names the field', () => {
    const error = errorOf(parseClientFrame({ type: 'Jane Doe', ref: 'r1' }));

    expect(error).toEqual({ code: 'unknown_type', message: 'unknown frame type', path: 'type', ref: 'r1' });
  });
});

describe('field paths', () => {
  const cases: [string, unknown, string][] = [
    [
      'a string seq in a resume point',
      { type: 'subscribe', topics: [{ topic: 'a', since: { epoch: 'e', seq: 'x' } }] },
      'topics[0].since.seq',
    ],
    [
      'a fractional seq',
      { type: 'subscribe', topics: [{ topic: 'a', since: { epoch: 'e', seq: 1.5 } }] },
      'topics[0].since.seq',
    ],
    [
      'a negative seq',
      { type: 'subscribe', topics: [{ topic: 'a', since: { epoch: 'e', seq: -1 } }] },
      'topics[0].since.seq',
    ],
    [
      'an empty epoch',
      { type: 'subscribe', topics: [{ topic: 'a', since: { epoch: '', seq: 1 } }] },
      'topics[0].since.epoch',
    ],
    ['a bad second topic', { type: 'subscribe', topics: [{ topic: 'a' }, { topic: 'b c' }] }, 'topics[1].topic'],
    ['an empty topic list', { type: 'subscribe', topics: [] }, 'topics'],
    ['too many topics', { type: 'subscribe', topics: Array.from({ length: 101 }, () => ({ topic: 'a' })) }, 'topics'],
    ['a missing token', { type: 'auth' }, 'token'],
    ['an empty token', { type: 'auth', token: '' }, 'token'],
    ['a numeric unsubscribe topic', { type: 'unsubscribe', topics: ['a', 7] }, 'topics[1]'],
    ['a missing ack id', { type: 'ack' }, 'id'],
    ['a 129-character ack id', { type: 'ack', id: 'i'.repeat(129) }, 'id'],
    ['a string ping ts', { type: 'ping', ts: 'now' }, 'ts'],
  ];

  it.each(cases)('names the field for %s', (_label, frame, path) => {
    const error = errorOf(parseClientFrame(frame));

    expect(error.code).toBe('bad_frame');
    expect(error.path).toBe(path);
    expect(error.message).toContain(path);
  });

  it('names the nested field of a server frame', () => {
    const error = errorOf(
      parseServerFrame({
        type: 'welcome',
        protocol: 1,
        sessionId: 's',
        heartbeatMs: 1,
        authenticated: true,
        limits: { maxFrameBytes: 'big', maxFramesPerSecond: 1, maxSubscriptions: 1, authTimeoutMs: 1 },
      }),
    );

    expect(error.path).toBe('limits.maxFrameBytes');
  });

  it('starts the message with the frame type', () => {
    expect(errorOf(parseClientFrame({ type: 'auth' })).message).toMatch(/^auth: token: /);
  });
});

describe('ref', () => {
  it('keeps the ref of a frame with a bad field', () => {
    expect(errorOf(parseClientFrame({ type: 'auth', ref: 'login' })).ref).toBe('login');
  });

  it('keeps the ref of a frame of unknown type', () => {
    expect(errorOf(parseClientFrame({ type: 'teleport', ref: 'x' })).ref).toBe('x');
  });

  it('keeps the ref of a frame read from bytes', () => {
    const bytes = new TextEncoder().encode('{"type":"ack","ref":"b1"}');

    expect(errorOf(parseClientFrame(bytes)).ref).toBe('b1');
  });

  it('drops a ref longer than 64 characters', () => {
    const error = errorOf(parseClientFrame({ type: 'auth', ref: 'r'.repeat(65) }));

    expect(error.ref).toBeUndefined();
    expect('ref' in error).toBe(false);
  });

  it('drops a ref that is not a string', () => {
    expect(errorOf(parseClientFrame({ type: 'auth', ref: 12 })).ref).toBeUndefined();
  });

  it('has no ref for text that is not JSON', () => {
    expect(errorOf(parseClientFrame('{"ref":"r1", oops')).ref).toBeUndefined();
  });
});

const now = '2026-01-01T00:00:00.000Z';
const validClient: { [T in ClientFrameType]: Extract<ClientFrame, { type: T }> } = {
  auth: { type: 'auth', token: 'eyJhbGciOi.x.y', ref: 'a1' },
  hello: {
    type: 'hello',
    token: 'eyJhbGciOi.x.y',
    topics: [{ topic: 'user:u1', since: { epoch: 'e1', seq: 4 }, unread: true }, { topic: 'patient:p9' }],
    ref: 'h',
  },
  subscribe: {
    type: 'subscribe',
    topics: [
      { topic: 'user:u1', since: { epoch: 'e1', seq: 4 } },
      { topic: 'patient:p9', presence: true },
      { topic: 'broadcast' },
    ],
    ref: 's1',
  },
  unsubscribe: { type: 'unsubscribe', topics: ['patient:p9'] },
  ack: { type: 'ack', id: 'n1', ref: 'k1' },
  read: { type: 'read', id: 'n1' },
  ping: { type: 'ping', ts: 1_700_000_000_000 },
  telemetry: { type: 'telemetry', enabled: true, ref: 't1' },
};
const validServer: { [T in ServerFrameType]: Extract<ServerFrame, { type: T }> } = {
  welcome: {
    type: 'welcome',
    protocol: 1,
    sessionId: 'sess-1',
    heartbeatMs: 30_000,
    authenticated: false,
    limits: { maxFrameBytes: 65_536, maxFramesPerSecond: 20, maxSubscriptions: 100, authTimeoutMs: 10_000 },
  },
  authenticated: { type: 'authenticated', userId: 'u1', expiresAt: 1_800_000_000_000, ref: 'a1' },
  subscribed: {
    type: 'subscribed',
    topics: [
      { topic: 'user:u1', status: 'ok', recovered: true, position: { epoch: 'e1', seq: 9 } },
      { topic: 'patient:p9', status: 'denied', recovered: false, code: 'topic_denied' },
    ],
    ref: 's1',
  },
  ready: {
    type: 'ready',
    protocol: 2,
    sessionId: 'sess-1',
    heartbeatMs: 30_000,
    limits: { maxFrameBytes: 65_536, maxFramesPerSecond: 20, maxSubscriptions: 100, authTimeoutMs: 10_000 },
    userId: 'u1',
    expiresAt: 1_800_000_000_000,
    topics: [{ topic: 'user:u1', status: 'ok', recovered: true, position: { epoch: 'e1', seq: 9 } }],
    ref: 'h',
  },
  unsubscribed: { type: 'unsubscribed', topics: ['patient:p9'] },
  notification: {
    type: 'notification',
    id: 'n1',
    topic: 'patient:p9',
    epoch: 'e1',
    seq: 10,
    kind: 'lab_result',
    priority: 'critical',
    createdAt: now,
    payload: { labOrderId: 'L1', flags: ['critical'], value: 7.2 },
  },
  receipt: { type: 'receipt', id: 'n1', action: 'ack', ref: 'k1' },
  error: { type: 'error', code: 'bad_frame', message: 'subscribe: topics: too small', ref: 's1' },
  pong: { type: 'pong', ts: 1_700_000_000_000 },
  presence: { type: 'presence', topic: 'patient:p9', members: ['dr-lee', 'nurse-kim'] },
  telemetry: {
    type: 'telemetry',
    rttMs: 12,
    connections: 42,
    eventLoopLagMs: 1.5,
    broker: 'ok',
    at: 1_700_000_000_000,
  },
};

describe('valid frames', () => {
  it('has a sample for every client frame type', () => {
    expect(Object.keys(validClient).sort()).toEqual([...CLIENT_FRAME_TYPES].sort());
  });

  it('has a sample for every server frame type', () => {
    expect(Object.keys(validServer).sort()).toEqual([...SERVER_FRAME_TYPES].sort());
  });

  it.each(Object.values(validClient).map((f) => [f.type, f] as const))(
    'round-trips a %s client frame through JSON with parseClientFrame and parseFrame',
    (_type, frame) => {
      const text = JSON.stringify(frame);

      expect(parseClientFrame(text)).toEqual({ ok: true, frame });
      expect(parseFrame(text)).toEqual({ ok: true, frame });
      expect(parseClientFrame(new TextEncoder().encode(text))).toEqual({ ok: true, frame });
    },
  );

  it.each(Object.values(validServer).map((f) => [f.type, f] as const))(
    'round-trips a %s server frame through JSON with parseServerFrame and parseFrame',
    (_type, frame) => {
      const text = JSON.stringify(frame);

      expect(parseServerFrame(text)).toEqual({ ok: true, frame });
      expect(parseFrame(text)).toEqual({ ok: true, frame });
      expect(parseServerFrame(Buffer.from(text))).toEqual({ ok: true, frame });
    },
  );

  it('accepts an already-decoded object', () => {
    expect(parseClientFrame({ type: 'ping' })).toEqual({ ok: true, frame: { type: 'ping' } });
  });

  it('accepts an ArrayBuffer holding a frame', () => {
    const bytes = new TextEncoder().encode('{"type":"ack","id":"n1"}');

    expect(parseClientFrame(bytes.buffer)).toEqual({ ok: true, frame: { type: 'ack', id: 'n1' } });
  });

  it('accepts a byte view into the middle of a larger buffer', () => {
    const all = new TextEncoder().encode('xxx{"type":"ping"}yyy');

    expect(parseClientFrame(all.subarray(3, all.length - 3))).toEqual({ ok: true, frame: { type: 'ping' } });
  });

  it('drops fields a frame type does not define', () => {
    const result = parseClientFrame({ type: 'ping', ts: 1, extra: 'ignored' });

    expect(result).toEqual({ ok: true, frame: { type: 'ping', ts: 1 } });
  });

  it('keeps the retryAfterMs hint of an error frame', () => {
    const frame = { type: 'error', code: 'too_many_connections', message: 'too many connections', retryAfterMs: 9_000 };

    expect(parseServerFrame(JSON.stringify(frame))).toEqual({ ok: true, frame });
  });

  it.each([-1, 1.5, '9000'])('rejects an error frame whose retryAfterMs is %j', (retryAfterMs) => {
    const frame = { type: 'error', code: 'too_many_connections', message: 'x', retryAfterMs };

    expect(errorOf(parseServerFrame(frame)).path).toBe('retryAfterMs');
  });

  it('accepts topics of every documented shape', () => {
    const topics = ['user:u-1', 'patient:p.9', 'broadcast', 'ward_3:bed-12', 'a'.repeat(128)];

    const result = parseClientFrame({ type: 'unsubscribe', topics });

    expect(result.ok).toBe(true);
  });

  it('rejects a topic of 129 characters', () => {
    expect(errorOf(parseClientFrame({ type: 'unsubscribe', topics: ['a'.repeat(129)] })).path).toBe('topics[0]');
  });
});

describe('describeIssue never repeats the value it describes', () => {
  it('names the type, not the value, of an invalid field', () => {
    const issue = { code: 'invalid_type', expected: 'number', message: 'Invalid input', path: ['seq'] };

    expect(describeIssue(issue, { seq: 'Jane Doe' })).toBe('expected number, received string');
  });

  it('counts unknown fields instead of naming them', () => {
    const issue = {
      code: 'unrecognized_keys',
      keys: ['Jane Doe', 'mrn'],
      message: 'Unrecognized keys: "Jane Doe"',
      path: [],
    };

    expect(describeIssue(issue, { 'Jane Doe': 1, mrn: 2 })).toBe('2 unknown fields');
  });

  it("uses a schema's own message only when it does not quote the input", () => {
    const quoting = { code: 'custom', message: 'no patient called Jane Doe', path: ['name'] };
    const plain = { code: 'custom', message: 'must be a ward in this hospital', path: ['ward'] };

    expect(describeIssue(quoting, { name: 'Jane Doe' })).toBe('invalid string');
    expect(describeIssue(plain, { ward: 'W9' })).toBe('must be a ward in this hospital');
  });

  it('describes a regex issue by its pattern when the schema gave no message of its own', () => {
    const issue = {
      code: 'invalid_format',
      format: 'regex',
      pattern: '/^[a-z]+$/',
      message: 'Invalid input',
      path: ['k'],
    };

    expect(describeIssue(issue, { k: 'Jane Doe' })).toBe('expected a string matching /^[a-z]+$/');
  });

  it('does not throw on a hostile value', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
      },
    );

    expect(describeIssue({ code: 'custom', message: 'bad', path: ['a'] }, hostile)).toBe('invalid value');
  });
});
