import type { SubscriptionResult } from '@wardcast/protocol';
import { DEFAULT_LIMITS, type HistoryStore, MemoryHistoryStore } from '@wardcast/server';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Admission } from '../src/core/admission.js';
import { encodeAuthenticated, encodeReady, encodeSubscribed, encodeWelcome } from '../src/core/connect-frames.js';
import { eventually, tokenFor, useHarness } from './helpers/harness.js';
import { withReads } from './helpers/history.js';

/**
 * Issue 12, target 3 ("cheap connects"): a frame is handled at once when nothing is queued before
 * it, and a `subscribe` whose hooks and history store answer synchronously is answered in the
 * same turn (no promise, no microtask). These tests hold the fast path to what the async path does:
 * same replies, same order, same errors.
 */

/**
 * A memory history store whose reads answer `position` and `read` with promises (as a
 * database-backed store does), or fail: `throw` synchronously, or `reject`.
 */
function historyStore(reads: 'async' | 'throw' | 'reject'): HistoryStore {
  const store = new MemoryHistoryStore();
  const failed = (topic: string) => new Error(`history down for ${topic}`);
  return withReads(store, {
    read: (topic, since) => Promise.resolve(store.read(topic, since)),
    position: (topic) => {
      if (reads === 'async') return Promise.resolve(store.position(topic));
      if (reads === 'throw') throw failed(topic);
      return Promise.reject(failed(topic));
    },
  });
}

describe('frames handled at once', () => {
  const harness = useHarness();

  it('answers auth and subscribe sent together with welcome, authenticated, subscribed, in order', async () => {
    const fx = await harness.start();
    const client = harness.connect(fx, { label: 'alice' });
    await client.opened;
    client.send({ type: 'auth', token: tokenFor('alice') });
    client.send({ type: 'subscribe', ref: 's1', topics: [{ topic: 'user:alice' }] });
    const reply = await client.nextFrame('subscribed');

    expect(client.frames.map((f) => f.type)).toEqual(['welcome', 'authenticated', 'subscribed']);
    expect(reply).toMatchObject({ ref: 's1', topics: [{ topic: 'user:alice', status: 'ok', recovered: false }] });
    expect(fx.hub.stats().subscriptions).toBe(1);
  });

  it('keeps the order of frames when a subscribe waits for a promise and the next one would not', async () => {
    let release: (ok: boolean) => void = () => {};
    const asked: string[] = [];
    const fx = await harness.start({
      authorize: (_principal, topic) => {
        asked.push(topic);
        if (topic !== 'ward:slow') return true;
        return new Promise<boolean>((resolve) => {
          release = resolve;
        });
      },
    });
    const client = await harness.connectAs(fx, 'alice');
    client.send({ type: 'subscribe', ref: 'slow', topics: [{ topic: 'ward:slow' }] });
    client.send({ type: 'subscribe', ref: 'fast', topics: [{ topic: 'ward:fast' }] });
    client.send({ type: 'unsubscribe', ref: 'gone', topics: ['ward:slow'] });
    await eventually(() => asked.includes('ward:slow'), 'authorize was asked about ward:slow');
    await client.roundTrip(); // a ping is answered at once; the queued frames still wait
    expect(asked).toEqual(['ward:slow']);
    expect(client.framesOf('subscribed')).toEqual([]);

    release(true);
    await client.nextFrame('unsubscribed', (f) => f.ref === 'gone');

    const replies = client.frames.filter((f) => f.type === 'subscribed' || f.type === 'unsubscribed');
    expect(replies.map((f) => (f as { ref?: string }).ref)).toEqual(['slow', 'fast', 'gone']);
    expect(client.framesOf('subscribed').map((f) => f.topics[0]?.status)).toEqual(['ok', 'ok']);
    expect(fx.hub.stats().subscriptions).toBe(1);
  });

  it('subscribes as before with a history store that answers with promises', async () => {
    const fx = await harness.start({ history: historyStore('async'), authorize: () => true });
    const first = await fx.hub.publish('ward:4b', { kind: 'custom', id: 'n1' });
    await fx.hub.publish('ward:4b', { kind: 'custom', id: 'n2' });
    const client = await harness.connectAs(fx, 'alice');
    const since = { epoch: first.epoch, seq: first.seq };
    client.send({ type: 'subscribe', ref: 'a', topics: [{ topic: 'ward:4b', since }] });
    client.send({ type: 'subscribe', ref: 'b', topics: [{ topic: 'ward:5c' }] });
    const a = await client.nextFrame('subscribed', (f) => f.ref === 'a');
    const b = await client.nextFrame('subscribed', (f) => f.ref === 'b');

    expect(a.topics[0]).toMatchObject({ topic: 'ward:4b', status: 'ok', recovered: true, position: { seq: 2 } });
    expect(b.topics[0]).toMatchObject({ topic: 'ward:5c', status: 'ok', recovered: false, position: { seq: 0 } });
    expect(client.framesOf('notification').map((n) => n.id)).toEqual(['n2']);
    expect(client.frames.map((f) => f.type).slice(2)).toEqual(['notification', 'subscribed', 'subscribed']);
  });

  it.each(['throw', 'reject'] as const)(
    'denies with store_unavailable when the history store fails (%s), keeping the connection',
    async (mode) => {
      const fx = await harness.start({ history: historyStore(mode), authorize: () => true });
      const errors = harness.record(fx, 'error');
      const client = await harness.connectAs(fx, 'alice');

      const results = await client.subscribe(['ward:4b']);
      await client.roundTrip();

      expect(results).toEqual([{ topic: 'ward:4b', status: 'denied', recovered: false, code: 'store_unavailable' }]);
      expect(client.closeInfo).toBeUndefined();
      expect(fx.hub.stats().subscriptions).toBe(0);
      expect(errors).toEqual([]);
    },
  );

  it('counts the session before an upgrade-time authenticate answers, and sends welcome first', async () => {
    const seen: number[] = [];
    const fx = await harness.start();
    fx.hub.on('authenticated', () => seen.push(fx.hub.stats().connections));
    const client = await harness.connectAs(fx, 'alice');

    expect(seen).toEqual([1]);
    expect(client.frames.map((f) => f.type)).toEqual(['welcome', 'authenticated']);
  });

  it('closes with 4401 and not_authenticated for a subscribe before auth, handled at once', async () => {
    const fx = await harness.start();
    const client = harness.connect(fx);
    await client.nextFrame('welcome');
    client.send({ type: 'subscribe', ref: 'early', topics: [{ topic: 'ward:4b' }] });
    const error = await client.nextFrame('error');
    const { code } = await client.waitClose();

    expect(error).toMatchObject({ code: 'not_authenticated', ref: 'early' });
    expect(code).toBe(4401);
  });

  it('arms no authentication timeout for a session the upgrade authenticated, and keeps it open past it', async () => {
    const fx = await harness.start({ authTimeoutMs: 300 });
    const client = await harness.connectAs(fx, 'alice');
    const late = harness.connect(fx, { label: 'unauthenticated' });

    // Opened after the authenticated one: once it is gone, the other's timeout would have passed.
    expect((await late.waitClose()).code).toBe(4408);
    await client.roundTrip();

    expect(client.closeInfo).toBeUndefined();
  });

  it('still closes with 4408 when an upgrade-time authenticate never answers', async () => {
    const fx = await harness.start({ authTimeoutMs: 200, authenticate: () => new Promise(() => {}) });
    const client = harness.connect(fx, { token: tokenFor('alice') });

    const { code } = await client.waitClose();

    expect(code).toBe(4408);
    expect(client.framesOf('welcome')).toEqual([]);
  });
});

/**
 * The upgrade-rate buckets skip moving a key that is already the most recently used one (every
 * upgrade from one busy address): the eviction order and the refill must stay as before.
 */
describe('per-address upgrade rate, repeated keys', () => {
  const limits = { ...DEFAULT_LIMITS, maxUpgradesPerSecondPerAddress: 1, maxTrackedAddresses: 2 };
  const refused = (admission: Admission, key: string) => admission.throttle(key) !== undefined;

  it('evicts the least recently used address, not one used again since', () => {
    const admission = new Admission(limits, () => 0);
    expect([refused(admission, 'a'), refused(admission, 'a'), refused(admission, 'a')]).toEqual([false, false, true]);
    expect(refused(admission, 'b')).toBe(false);
    expect(refused(admission, 'a')).toBe(true); // a is the most recent again: b is the oldest
    expect(refused(admission, 'c')).toBe(false); // evicts b

    expect(admission.trackedAddresses).toBe(2);
    expect(refused(admission, 'a')).toBe(true); // a kept its empty bucket
    expect(refused(admission, 'b')).toBe(false); // b starts over with a full one
  });

  it('tracks an address again after its refilled bucket was dropped', () => {
    let now = 0;
    const admission = new Admission(limits, () => now);
    expect(refused(admission, 'a')).toBe(false);
    now = 10_000; // a's bucket refilled: dropped at the next upgrade, then made anew
    expect([refused(admission, 'a'), refused(admission, 'a'), refused(admission, 'a')]).toEqual([false, false, true]);
    expect(admission.trackedAddresses).toBe(1);
  });

  it('drops the refilled buckets of other addresses once another address comes, not during a run from one', () => {
    let now = 0;
    const admission = new Admission(limits, () => now);
    expect([refused(admission, 'a'), refused(admission, 'b')]).toEqual([false, false]);
    now = 10_000; // both refilled
    expect([refused(admission, 'b'), refused(admission, 'b'), refused(admission, 'b')]).toEqual([false, false, true]);
    expect(admission.trackedAddresses).toBe(2); // a's refilled bucket waits for another address
    expect(refused(admission, 'c')).toBe(false); // drops a (refilled), keeps b (empty)
    expect(admission.trackedAddresses).toBe(2);
    expect(refused(admission, 'b')).toBe(true);
    expect([refused(admission, 'a'), refused(admission, 'a'), refused(admission, 'a')]).toEqual([false, false, true]);
  });
});

/** The connect frames quote plain strings themselves; anything else still goes through JSON.stringify. */
describe('connect frames, strings and positions JSON.stringify would escape or order otherwise', () => {
  const odd = [
    '',
    'a"b',
    'back\\slash',
    'tab\tnew\nline',
    '\u0000\u001f',
    '\u007f',
    'caf\u00e9',
    '\u2028',
    '\ud800',
    '\ud83d\ude00',
  ];

  it('writes the same text as JSON.stringify', () => {
    for (const text of odd) {
      expect(encodeWelcome(DEFAULT_LIMITS, text, true)).toBe(
        JSON.stringify({
          type: 'welcome',
          protocol: JSON.parse(encodeWelcome(DEFAULT_LIMITS, 's', true)).protocol,
          sessionId: text,
          heartbeatMs: DEFAULT_LIMITS.heartbeatIntervalMs,
          authenticated: true,
          limits: JSON.parse(encodeWelcome(DEFAULT_LIMITS, 's', true)).limits,
        }),
      );
      expect(encodeAuthenticated(text, undefined, text)).toBe(
        JSON.stringify({ type: 'authenticated', userId: text, ref: text }),
      );
      const results = [{ topic: text, status: 'ok' as const, recovered: false, position: { epoch: text, seq: 3 } }];
      expect(encodeSubscribed(results, text)).toBe(JSON.stringify({ type: 'subscribed', topics: results, ref: text }));
    }
  });

  it('leaves a position with other fields, another order or an odd seq to JSON.stringify', () => {
    const positions = [
      { epoch: 'e1', seq: 1, extra: true },
      { seq: 2, epoch: 'e1' },
      { epoch: 'e1', seq: 1.5 },
      { epoch: 'e1', seq: -0 },
      { epoch: 'e1', seq: Number.NaN },
    ];
    for (const position of positions) {
      const results = [{ topic: 't', status: 'ok' as const, recovered: true, position }];
      expect(encodeSubscribed(results as never, undefined)).toBe(
        JSON.stringify({ type: 'subscribed', topics: results }),
      );
    }
  });
});

/**
 * `ready` has a template of its own for the usual connect (one topic subscribed at a position, no
 * expiry, no ref, plain strings) next to the general path: both write what JSON.stringify writes.
 */
describe('the ready frame, usual or not', () => {
  const { limits, protocol } = JSON.parse(encodeReady(DEFAULT_LIMITS, 's', 'u', undefined, [], undefined));
  /** `JSON.stringify` of a `ready` frame's fields, in protocol order. */
  const expected = (
    sessionId: string,
    userId: string,
    expiresAt: number | undefined,
    topics: readonly SubscriptionResult[],
    ref: string | undefined,
  ) =>
    JSON.stringify({
      type: 'ready',
      protocol,
      sessionId,
      heartbeatMs: DEFAULT_LIMITS.heartbeatIntervalMs,
      limits,
      userId,
      expiresAt,
      topics,
      ref,
    });
  const text = fc.oneof(fc.constantFrom('patient:p1', 'e1', 'u1', ''), fc.string(), fc.string({ unit: 'binary' }));
  const position = fc.oneof(
    fc.record({ epoch: text, seq: fc.oneof(fc.nat(), fc.constantFrom(-1, 1.5, -0, 2 ** 53)) }),
    fc.constant({ seq: 1, epoch: 'e1' }),
    fc.constant({ epoch: 'e1', seq: 1, extra: true }),
  );
  const result: fc.Arbitrary<SubscriptionResult> = fc.oneof(
    fc.record({ topic: text, status: fc.constant('ok' as const), recovered: fc.boolean(), position }),
    fc.record({
      topic: text,
      status: fc.constant('ok' as const),
      recovered: fc.boolean(),
      position,
      phi: fc.constant('id-only' as const),
    }),
    fc.record({ topic: text, status: fc.constant('denied' as const), recovered: fc.constant(false), code: text }),
  );

  it('writes the same text as JSON.stringify of its fields in protocol order', () => {
    fc.assert(
      fc.property(
        text,
        text,
        fc.option(fc.nat(), { nil: undefined }),
        fc.oneof(
          fc.array(result, { maxLength: 3 }),
          result.map((r) => [r]),
        ),
        fc.option(text, { nil: undefined }),
        (sessionId, userId, expiresAt, results, ref) => {
          expect(encodeReady(DEFAULT_LIMITS, sessionId, userId, expiresAt, results, ref)).toBe(
            expected(sessionId, userId, expiresAt, results, ref),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('writes the usual shape (one topic at a position, no expiry, no ref) as JSON.stringify does, whatever its strings', () => {
    const usual = fc.record({
      topic: text,
      status: fc.constant('ok' as const),
      recovered: fc.boolean(),
      position: fc.record({ epoch: text, seq: fc.nat() }),
    });
    fc.assert(
      fc.property(text, text, usual, (sessionId, userId, r) => {
        expect(encodeReady(DEFAULT_LIMITS, sessionId, userId, undefined, [r], undefined)).toBe(
          expected(sessionId, userId, undefined, [r], undefined),
        );
      }),
      { numRuns: 2000 },
    );
  });
});
