import { kindSchema, notificationIdSchema, type PhiLevel, prioritySchema } from '@wardcast/protocol';
import { CLINICAL_KIND_SCHEMAS, type ClinicalKinds, type LabResultPayload } from '@wardcast/protocol/kinds';
import {
  type AppendResult,
  type EncodedFrame,
  HubCore,
  type HubOptions,
  MemoryHistoryStore,
  type NotificationDraft,
  type PublishStage,
  type SocketHandlers,
  type StoredNotification,
  type TransportSocket,
} from '@wardcast/server';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { encodeNotification, notificationFrame } from '../src/core/frames.js';
import { isValidKind, isValidNotificationId, isValidPriority, sameJson } from '../src/core/publish-input.js';
import { compileFastCheck } from '../src/kinds/fast-check.js';

/**
 * Issue 12, target 4 ("cheap publishes"): the envelope is checked by hand, the payload is
 * serialised once and validated once, and the frame reuses that serialisation. These tests hold
 * the shortcuts to what they replace: the protocol schemas, and `JSON.stringify` of the frame.
 */

const hubs: HubCore[] = [];
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((hub) => hub.close()));
});

/** A socket that records what it is sent and reports its close to the hub at once. */
function fakeSocket(frames: string[]): { socket: TransportSocket; bind(handlers: SocketHandlers): void } {
  let handlers: SocketHandlers | undefined;
  return {
    socket: {
      bufferedAmount: 0,
      send: (text) => void frames.push(text),
      sendEncoded: (frame: EncodedFrame) => void frames.push(frame.text),
      close: (code, reason) => handlers?.closed(code, reason),
      terminate: () => handlers?.closed(1006, ''),
      ping() {},
    },
    bind: (h) => {
      handlers = h;
    },
  };
}

/** Opens a fake connection for `userId` and subscribes it to `user:<userId>`; its frames land in `frames`. */
async function subscribed(hub: HubCore, userId: string, frames: string[]): Promise<void> {
  const { socket, bind } = fakeSocket(frames);
  const handlers = hub.open(socket, { headers: { 'x-user': userId }, remoteAddress: '127.0.0.1' });
  bind(handlers);
  await until(() => frames.length > 0);
  handlers.message(JSON.stringify({ type: 'subscribe', topics: [{ topic: `user:${userId}` }] }), false);
  await until(() => frames.some((f) => f.includes('"subscribed"')));
  frames.length = 0;
}

/** A hub with `users` fake connections, `u<i>` subscribed to `user:u<i>`; their frames land in `frames[i]`. */
async function hubWithUsers(
  users: number,
  options: Partial<HubOptions> = {},
): Promise<{ hub: HubCore; frames: string[][] }> {
  const hub = new HubCore({
    authenticate: ({ request }) => ({ userId: String(request.headers['x-user']) }),
    ...options,
  });
  hubs.push(hub);
  const frames = Array.from({ length: users }, () => [] as string[]);
  await Promise.all(frames.map((mine, i) => subscribed(hub, `u${i}`, mine)));
  return { hub, frames };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !check(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(check()).toBe(true);
}

/**
 * The notification frame as `JSON.stringify` of the whole frame object writes it (what the hub
 * sent before), with `payload` and, below the full level, `phi` for a reduced frame.
 */
function reference(n: Record<string, unknown>, payload: unknown = n.payload, level: PhiLevel = 'full'): string {
  return JSON.stringify({
    type: 'notification',
    id: n.id,
    topic: n.topic,
    epoch: n.epoch,
    seq: n.seq,
    kind: n.kind,
    priority: n.priority,
    createdAt: n.createdAt,
    payload,
    ...(level === 'full' ? {} : { phi: level }),
  });
}

const LAB: LabResultPayload = {
  labOrderId: 'L1',
  testName: 'Potassium',
  status: 'final',
  abnormal: true,
  critical: true,
  resultAt: '2026-11-23T06:50:00.000Z',
  value: '6.1',
};

describe('envelope checks by hand', () => {
  const candidates = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.stringMatching(/^[a-z][a-z0-9_.:-]{0,70}$/),
    // Long ids around the 128 limit, with astral characters and lone surrogates.
    fc.string({
      unit: fc.oneof(fc.constantFrom('a', '😀', '\ud800', '\udc00'), fc.string({ unit: 'binary', maxLength: 1 })),
      minLength: 60,
      maxLength: 260,
    }),
    fc.constantFrom('routine', 'urgent', 'critical', 'Routine', 'critical ', '', 'a', 'a\n'),
    fc.anything(),
  );

  it('accept exactly what the protocol schemas accept', () => {
    fc.assert(
      fc.property(candidates, (value) => {
        expect(isValidKind(value)).toBe(kindSchema.safeParse(value).success);
        expect(isValidPriority(value)).toBe(prioritySchema.safeParse(value).success);
        expect(isValidNotificationId(value)).toBe(notificationIdSchema.safeParse(value).success);
      }),
      { numRuns: 2000 },
    );
  });

  it('count id length in code points, as zod does', () => {
    const astral = '😀'.repeat(128); // 256 UTF-16 units, 128 code points
    for (const id of [astral, `${astral}x`, '\ud800'.repeat(128), '\ud800'.repeat(129), `${'😀'.repeat(127)}\ud800`]) {
      expect(isValidNotificationId(id), id).toBe(notificationIdSchema.safeParse(id).success);
    }
    expect(isValidNotificationId(astral)).toBe(true);
    expect(isValidNotificationId(`${astral}x`)).toBe(false);
  });
});

describe('sameJson', () => {
  it('is true for the same JSON data, whatever the key order', () => {
    expect(sameJson(JSON.parse('{"a":1,"b":[1,{"c":null}]}'), { b: [1, { c: null }], a: 1 })).toBe(true);
    expect(sameJson(JSON.parse('[]'), [])).toBe(true);
    expect(sameJson(JSON.parse('"x"'), 'x')).toBe(true);
  });

  it('is false for anything a schema changed', () => {
    const parsed = JSON.parse('{"a":1,"b":{"c":2},"d":"2026-01-01T00:00:00.000Z"}');
    expect(sameJson(parsed, { a: 1, b: { c: 2 } })).toBe(false); // stripped
    expect(sameJson(parsed, { ...parsed, e: 1 })).toBe(false); // added
    expect(sameJson(parsed, { ...parsed, e: undefined })).toBe(false); // added, even undefined
    expect(sameJson(parsed, { ...parsed, b: { c: '2' } })).toBe(false); // transformed
    expect(sameJson(parsed, { ...parsed, d: new Date(parsed.d) })).toBe(false); // class instance
    expect(sameJson(JSON.parse('{}'), new Date(0))).toBe(false);
    expect(sameJson(JSON.parse('{}'), [])).toBe(false);
    expect(sameJson(JSON.parse('[1,2]'), [1])).toBe(false);
    expect(sameJson(JSON.parse('{"0":1}'), [1])).toBe(false);
  });

  it('agrees with JSON text equality on arbitrary JSON (keys sorted)', () => {
    const sorted = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(sorted)
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(
              Object.keys(v)
                .sort()
                .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
            )
          : v;
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        const parsed = JSON.parse(JSON.stringify(a));
        const other = JSON.parse(JSON.stringify(b));
        expect(sameJson(parsed, other)).toBe(JSON.stringify(sorted(parsed)) === JSON.stringify(sorted(other)));
        expect(sameJson(parsed, JSON.parse(JSON.stringify(a)))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

const DATE = '2026-11-23T06:50:41Z';
/** One valid payload per built-in kind, every optional field present. */
const VALID: { readonly [K in keyof ClinicalKinds]: ClinicalKinds[K] } = {
  appointment: { appointmentId: 'a1', status: 'scheduled', startsAt: DATE, location: 'Ward 3', message: 'm' },
  lab_result: { ...LAB, testCode: '2823-3', unit: 'mmol/L', referenceRange: '3.5-5.0' },
  ai_analysis: { analysisId: 'an-1', analysisType: 'ecg', status: 'running', summary: 's' },
  diagnosis_update: {
    assessmentId: 'as-1',
    patientId: 'p9',
    status: 'preliminary',
    summary: 's',
    differential: [{ condition: 'c', likelihood: 0.5 }],
    riskScore: 3,
    model: { name: 'm', version: '1' },
    reviewedBy: 'dr-lee',
  },
  assessment_progress: { assessmentId: 'as-1', stage: 'scoring', percent: 50, partialText: 't', reason: 'r' },
  system_alert: { severity: 'warning', message: 'm', until: DATE },
};
const KINDS = Object.keys(CLINICAL_KIND_SCHEMAS) as (keyof ClinicalKinds)[];

describe('compiled payload checks', () => {
  /** Strings around the kinds' length limits (1, 64, 128, 200...), with astral characters and lone surrogates. */
  const edgeString = fc
    .tuple(
      fc.constantFrom(0, 1, 31, 32, 33, 63, 64, 65, 99, 100, 101, 127, 128, 129, 199, 200, 201, 2000, 2001),
      fc.constantFrom('a', '😀', '\ud800', 'é'),
      fc.string({ maxLength: 3 }),
    )
    .map(([n, unit, tail]) => unit.repeat(n) + tail);
  const dates = fc.oneof(
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    fc.constantFrom(
      '2026-02-29T00:00:00Z',
      '2028-02-29T00:00:00Z',
      '2026-11-23T06:50:41+01:00',
      '2026-11-23 06:50:41Z',
    ),
  );
  const value = fc.oneof(
    fc.jsonValue(),
    edgeString,
    dates,
    fc.double(),
    fc.constantFrom(0, 1, -1, 0.5, 100, 100.5, -0.5, true, false, null),
  );
  const mutation = fc.oneof(
    fc.record({ op: fc.constant('set' as const), value }),
    fc.record({ op: fc.constant('delete' as const) }),
    fc.record({ op: fc.constant('add' as const), key: fc.string({ maxLength: 8 }), value }),
  );

  it.each(KINDS)('for %s: true only when the schema returns the payload unchanged', (kind) => {
    const schema = CLINICAL_KIND_SCHEMAS[kind];
    const fast = compileFastCheck(schema);
    expect(fast, 'every built-in kind compiles').toBeDefined();
    expect(fast?.(JSON.parse(JSON.stringify(VALID[kind])))).toBe(true);
    const fields = Object.keys(VALID[kind]);
    let hits = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...fields), mutation), { maxLength: 3 }), (changes) => {
        const payload: Record<string, unknown> = { ...VALID[kind] };
        for (const [field, change] of changes) {
          if (change.op === 'set') payload[field] = change.value;
          else if (change.op === 'delete') delete payload[field];
          else payload[change.key] = change.value;
        }
        const json = JSON.parse(JSON.stringify(payload));
        const result = (schema as { safeParse(v: unknown): { success: boolean; data?: unknown } }).safeParse(json);
        if (fast?.(json)) {
          hits++;
          expect(result.success).toBe(true);
          expect(sameJson(json, result.data)).toBe(true);
        } else if (result.success) {
          // Rejected by the predicate but accepted by the schema: only when the schema changed it.
          expect(sameJson(json, result.data)).toBe(false);
        }
      }),
      { numRuns: 1500 },
    );
    expect(hits).toBeGreaterThan(50);
  });

  it('declines what it does not know: refinements, transforms, strict objects, other formats', () => {
    expect(compileFastCheck(z.object({ a: z.string().refine((s) => s !== 'x') }))).toBeUndefined();
    expect(compileFastCheck(z.object({ a: z.string().transform((s) => s.trim()) }))).toBeUndefined();
    expect(compileFastCheck(z.strictObject({ a: z.string() }))).toBeUndefined();
    expect(compileFastCheck(z.object({ a: z.string().email() }))).toBeUndefined();
    expect(compileFastCheck(z.object({ a: z.number().int() }))).toBeUndefined();
    expect(compileFastCheck(z.object({ a: z.string().default('x') }))).toBeUndefined();
    expect(compileFastCheck({ safeParse: () => ({ success: true, data: 1 }) })).toBeUndefined();
    const plain = compileFastCheck(z.object({ a: z.string().max(2), b: z.optional(z.number().positive()) }));
    expect(plain?.({ a: 'ok' })).toBe(true);
    expect(plain?.({ a: 'ok', b: 0 })).toBe(false);
    expect(plain?.({ a: 'toolong' })).toBe(false);
    expect(plain?.({ a: 'ok', c: 1 })).toBe(false);
  });
});

describe('publish validates once and serialises once', () => {
  it('runs the kind schema once and the payload toJSON once per publish', async () => {
    const { hub, frames } = await hubWithUsers(1);
    let parses = 0;
    const schema = z.object({ n: z.number() });
    hub.defineKind('acme.count', {
      schema: {
        safeParse: (value: unknown) => {
          parses++;
          return schema.safeParse(value);
        },
      },
    });
    let toJsonCalls = 0;
    const payload = {
      toJSON() {
        toJsonCalls++;
        return { n: 1 };
      },
    };

    await hub.publish('user:u0', { kind: 'acme.count', payload });

    expect(parses).toBe(1);
    expect(toJsonCalls).toBe(1);
    expect(JSON.parse(frames[0]?.[0] ?? '{}').payload).toEqual({ n: 1 });
  });

  it('sends the same bytes as stringifying the whole frame, for arbitrary custom payloads', async () => {
    const { hub, frames } = await hubWithUsers(1);
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (payload) => {
        (frames[0] as string[]).length = 0;
        const { seq, epoch, id } = await hub.publish('user:u0', { kind: 'custom', payload });
        const text = frames[0]?.[0] ?? '';
        const frame = JSON.parse(text);
        expect({ id: frame.id, seq: frame.seq, epoch: frame.epoch }).toEqual({ id, seq, epoch });
        expect(text).toBe(reference(frame));
        expect(JSON.stringify(frame.payload)).toBe(JSON.stringify(payload ?? null));
      }),
      { numRuns: 300 },
    );
  });

  it('strips undeclared fields of a built-in kind, in the live frame and in history', async () => {
    const { hub, frames } = await hubWithUsers(1);

    await hub.publish('user:u0', { kind: 'lab_result', payload: { ...LAB, patientName: 'Jane Doe' } as never });
    await hub.publish('user:u0', { kind: 'lab_result', payload: LAB });

    const [stripped, plain] = (frames[0] ?? []).map((f) => JSON.parse(f));
    expect(stripped.payload).toEqual(LAB);
    expect(frames[0]?.[0]).not.toContain('Jane');
    expect(frames[0]?.[0]).toBe(reference(stripped));
    expect(plain.payload).toEqual(LAB);
    expect(frames[0]?.[1]).toBe(reference(plain));
  });

  it('serialises what a transforming schema returned, not what the caller passed', async () => {
    const { hub, frames } = await hubWithUsers(1);
    hub.defineKind('acme.upper', { schema: z.object({ s: z.string().transform((s) => s.toUpperCase()) }) });

    await hub.publish('user:u0', { kind: 'acme.upper', payload: { s: 'abc' } });

    expect(JSON.parse(frames[0]?.[0] ?? '{}').payload).toEqual({ s: 'ABC' });
  });

  it('keeps the payload detached from the caller object', async () => {
    const { hub, frames } = await hubWithUsers(1);
    const payload = { nested: { value: 1 } };

    await hub.publish('user:u0', { kind: 'custom', payload });
    payload.nested.value = 2;
    await hub.publish('user:u0', { kind: 'custom', payload });

    expect((frames[0] ?? []).map((f) => JSON.parse(f).payload.nested.value)).toEqual([1, 2]);
  });

  it('delivers each publish to its user only, at 1,000 users', async () => {
    const { hub, frames } = await hubWithUsers(1000);
    const targets = Array.from({ length: 3000 }, (_, i) => (i * 7919) % 1000);

    for (const [i, u] of targets.entries()) await hub.publish(`user:u${u}`, { kind: 'custom', payload: { i } });

    const expected = Array.from({ length: 1000 }, () => [] as number[]);
    for (const [i, u] of targets.entries()) expected[u]?.push(i);
    expect(frames.map((mine) => mine.map((f) => JSON.parse(f).payload.i))).toEqual(expected);
    expect(frames.every((mine, u) => mine.every((f) => JSON.parse(f).topic === `user:u${u}`))).toBe(true);
  });

  it('keeps publish order on a topic when an async stage makes publishes interleave', async () => {
    // The first publish waits longest in the stage, the last not at all.
    const delays = [20, 10, 0];
    const slow: PublishStage = {
      name: 'slow',
      run: () => new Promise((resolve) => setTimeout(resolve, delays.shift() ?? 0)),
    };
    const { hub, frames: all } = await hubWithUsers(1, { publishStages: [slow] });
    const frames = all[0] as string[];

    const results = await Promise.all([1, 2, 3].map((i) => hub.publish('user:u0', { kind: 'custom', payload: { i } })));

    expect(results.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(frames.map((f) => JSON.parse(f).payload.i)).toEqual([1, 2, 3]);
    expect(frames.map((f) => JSON.parse(f).seq)).toEqual([1, 2, 3]);
  });

  it('keeps the error codes', async () => {
    const { hub } = await hubWithUsers(0);
    const code = (topic: string, input: unknown) =>
      hub.publish(topic, input as never).then(
        () => 'ok',
        (e: { code: string }) => e.code,
      );

    expect(await code('bad topic', { kind: 'custom' })).toBe('invalid_topic');
    expect(await code('t', null)).toBe('invalid_notification');
    expect(await code('t', { kind: 'Bad' })).toBe('invalid_notification');
    expect(await code('t', { kind: 'custom', priority: 'high' })).toBe('invalid_notification');
    expect(await code('t', { kind: 'custom', id: '' })).toBe('invalid_notification');
    expect(await code('t', { kind: 'custom', payload: 1n })).toBe('invalid_notification');
    expect(await code('t', { kind: 'custom', payload: 'x'.repeat(70_000) })).toBe('payload_too_large');
    expect(await code('t', { kind: 'acme.nope' })).toBe('unknown_kind');
    expect(await code('t', { kind: 'lab_result', payload: { ...LAB, abnormal: 'yes' } })).toBe('invalid_payload');
    expect(await code('t', { kind: 'lab_result', payload: LAB })).toBe('ok');
  });
});

describe('MemoryHistoryStore bookkeeping', () => {
  let counter = 0;
  const draft = (topic: string, id = `n${++counter}`): NotificationDraft => ({
    id,
    topic,
    kind: 'custom',
    priority: 'routine',
    createdAt: new Date(0).toISOString(),
    payload: { id },
  });

  it('forgets the least recently published topic, however it was touched', () => {
    const store = new MemoryHistoryStore({ maxTopics: 3 });
    const put = (topic: string) => store.commit((store.append(draft(topic)) as AppendResult).notification);
    const epochs: Record<string, string> = {};
    for (const t of ['a', 'b', 'c']) {
      put(t);
      epochs[t] = store.position(t).epoch;
    }

    put('a');
    put('c');
    put('b');
    put('a');
    put('d'); // order was c, b, a: forgets c, published to least recently

    expect(store.topicCount).toBe(3);
    expect(store.position('a').epoch).toBe(epochs.a);
    expect(store.position('b').epoch).toBe(epochs.b);
    expect(store.position('c').epoch).not.toBe(epochs.c); // a new stream
  });

  it('handles many reservations at once: duplicates wait, aborts give seqs back, commits show in seq order', async () => {
    const store = new MemoryHistoryStore();
    const reserved = Array.from({ length: 40 }, (_, i) => {
      const r = store.append(draft('t', `id${i}`)) as AppendResult;
      expect(r.notification.seq).toBe(i + 1);
      return r.notification;
    });

    const first = reserved[0] as NotificationDraft & { epoch: string; seq: number };
    // A duplicate of a pending reservation waits for it, then answers duplicate.
    const dup = store.append(draft('t', 'id5'));
    expect(dup).toBeInstanceOf(Promise);

    // The last ten are abandoned: their seqs are taken back.
    for (const n of reserved.slice(30).reverse()) expect(store.abort(n)).toBe(true);
    expect((store.append(draft('t', 'id35')) as AppendResult).notification.seq).toBe(31);

    // Commit the first thirty newest first: nothing is visible until seq 1 is.
    for (const n of reserved.slice(1, 30).reverse()) store.commit(n);
    expect(store.read('t', { epoch: first.epoch, seq: 0 }).notifications).toEqual([]);
    store.commit(first);
    expect(store.read('t', { epoch: first.epoch, seq: 0 }).notifications.map((n) => n.id)).toEqual(
      reserved.slice(0, 30).map((n) => n.id),
    );

    await expect(dup).resolves.toMatchObject({ duplicate: true, notification: { id: 'id5', seq: 6 } });
  });
});

describe('encodeNotification', () => {
  const text = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.constantFrom('"', '\\', '\u0000', '\ud800', 'é'),
  );
  const stored = fc.record({
    id: text,
    topic: text,
    epoch: text,
    seq: fc.oneof(fc.nat(), fc.double()),
    kind: text,
    priority: text,
    createdAt: text,
    payload: fc.jsonValue(),
  });

  it('writes the text JSON.stringify writes for the whole frame, at every PHI level', () => {
    fc.assert(
      fc.property(stored, fc.constantFrom('full', 'id-only', 'empty') as fc.Arbitrary<PhiLevel>, (n, level) => {
        const payload = level === 'full' ? n.payload : null;
        const expected = reference(n, payload, level);
        expect(encodeNotification(n as unknown as StoredNotification, payload, level)).toBe(expected);
      }),
    );
  });

  it('builds the same text as an EncodedFrame, with its exact UTF-8 length whenever it gives one', () => {
    fc.assert(
      fc.property(stored, fc.constantFrom('full', 'id-only', 'empty') as fc.Arbitrary<PhiLevel>, (n, level) => {
        const stored = n as unknown as StoredNotification;
        const payload = level === 'full' ? n.payload : null;
        const frame = notificationFrame(stored, payload, level);
        expect(frame.text).toBe(encodeNotification(stored, payload, level));
        if (frame.byteLength !== undefined) expect(frame.byteLength).toBe(Buffer.byteLength(frame.text));
      }),
    );
  });

  it('gives the UTF-8 length of a plain envelope around any payload, non-ASCII and lone surrogates included', () => {
    const plain = { id: 'n1', topic: 'user:u1', epoch: 'e1', seq: 1, kind: 'custom', priority: 'routine' };
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: 'binary' }), (payload, note) => {
        const n = { ...plain, createdAt: '2026-12-06T10:00:00.000Z', payload: { payload, note } };
        const frame = notificationFrame(n as StoredNotification);
        expect(frame.byteLength).toBe(Buffer.byteLength(frame.text));
      }),
    );
  });
});
