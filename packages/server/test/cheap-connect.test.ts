import { PROTOCOL_VERSION, parseServerFrame, type SubscriptionResult } from '@wardcast/protocol';
import { DEFAULT_LIMITS } from '@wardcast/server';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeAuthenticated, encodeSubscribed, encodeWelcome } from '../src/core/connect-frames.js';
import { TimerQueue } from '../src/core/timers.js';
import { bearer, principalOf, tokenFor, useHarness } from './helpers/harness.js';

/**
 * Issue 12, target 3 ("cheap connects"): the frames of a connect are written from templates. These
 * tests hold each template to what it replaces, `JSON.stringify` of the frame object, byte for byte.
 */

const RUNS = 300;
const text = fc.string({ maxLength: 12, unit: 'binary' });

describe('connect frames', () => {
  it('writes welcome as JSON.stringify of the frame object does', () => {
    fc.assert(
      fc.property(
        text,
        fc.boolean(),
        fc.record({
          heartbeatIntervalMs: fc.integer({ min: 1, max: 10 ** 9 }),
          maxFrameBytes: fc.integer({ min: 1, max: 10 ** 9 }),
          maxFramesPerSecond: fc.double({ min: 0.001, max: 10 ** 6, noNaN: true }),
          maxSubscriptions: fc.integer({ min: 1, max: 10 ** 6 }),
          authTimeoutMs: fc.integer({ min: 1, max: 10 ** 9 }),
        }),
        (sessionId, authenticated, overrides) => {
          const limits = { ...DEFAULT_LIMITS, ...overrides };
          const expected = JSON.stringify({
            type: 'welcome',
            protocol: PROTOCOL_VERSION,
            sessionId,
            heartbeatMs: limits.heartbeatIntervalMs,
            authenticated,
            limits: {
              maxFrameBytes: limits.maxFrameBytes,
              maxFramesPerSecond: limits.maxFramesPerSecond,
              maxSubscriptions: limits.maxSubscriptions,
              authTimeoutMs: limits.authTimeoutMs,
            },
          });
          expect(encodeWelcome(limits, sessionId, authenticated)).toBe(expected);
          // The template is kept per limits object: a second session of the same hub gets the same text.
          expect(encodeWelcome(limits, sessionId, authenticated)).toBe(expected);
        },
      ),
      { numRuns: RUNS },
    );
    expect(parseServerFrame(encodeWelcome(DEFAULT_LIMITS, 's1', false)).ok).toBe(true);
  });

  it('writes authenticated as JSON.stringify of the frame object does', () => {
    fc.assert(
      fc.property(
        text,
        fc.option(fc.oneof(fc.integer(), fc.double()), { nil: undefined }),
        fc.option(text, { nil: undefined }),
        (userId, expiresAt, ref) => {
          const expected = JSON.stringify({
            type: 'authenticated',
            userId,
            ...(expiresAt === undefined ? {} : { expiresAt }),
            ...(ref === undefined ? {} : { ref }),
          });
          expect(encodeAuthenticated(userId, expiresAt, ref)).toBe(expected);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('writes subscribed as JSON.stringify of the frame object does, for granted and denied topics', () => {
    const granted: fc.Arbitrary<SubscriptionResult> = fc
      .tuple(
        text,
        fc.boolean(),
        text,
        fc.nat(),
        fc.option(fc.constantFrom('id-only' as const, 'empty' as const), { nil: undefined }),
      )
      .map(([topic, recovered, epoch, seq, phi]) => ({
        topic,
        status: 'ok',
        recovered,
        position: { epoch, seq },
        ...(phi === undefined ? {} : { phi }),
      }));
    const denied: fc.Arbitrary<SubscriptionResult> = fc
      .tuple(text, text)
      .map(([topic, code]) => ({ topic, status: 'denied', recovered: false, code }));
    fc.assert(
      fc.property(
        fc.array(fc.oneof(granted, denied), { maxLength: 5 }),
        fc.option(text, { nil: undefined }),
        (results, ref) => {
          const expected = JSON.stringify({
            type: 'subscribed',
            topics: results,
            ...(ref === undefined ? {} : { ref }),
          });
          expect(encodeSubscribed(results, ref)).toBe(expected);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('timer queue', () => {
  it('fires an entry added after the queue emptied, though the shared timer stayed armed for a cancelled one', async () => {
    const queue = new TimerQueue();
    const fired: string[] = [];
    queue.cancel(queue.add(60_000, 'cancelled', (t) => fired.push(t)));
    expect(queue.size).toBe(0);
    await new Promise<void>((resolve) =>
      queue.add(0, 'later', (t) => {
        fired.push(t);
        resolve();
      }),
    );
    expect(fired).toEqual(['later']);
    queue.clear();
  });

  it('counts a delay from the time the caller read, when it passes one', async () => {
    const queue = new TimerQueue();
    const read = Date.now();
    // Read a minute ago: due at once, though the delay alone (30 s) would not be.
    const entry = queue.add(30_000, 'stale', () => {}, read - 60_000);
    expect(entry.at).toBe(read - 30_000);
    expect(queue.add(30_000, 'fresh', () => {}).at).toBeGreaterThanOrEqual(read + 30_000);
    queue.clear();
  });
});

/**
 * The connect path answers a synchronous `authenticate`, `authorize` or `phiLevel` without
 * waiting for the microtask queue and waits for a promise only when it gets one: both forms of
 * each hook must give the same outcome, for an answer and for a failure.
 */
describe('policy hooks, synchronous or async', () => {
  const harness = useHarness();
  const forms = [
    { form: 'synchronous', wrap: <T>(f: () => T) => f },
    {
      form: 'async',
      wrap:
        <T>(f: () => T) =>
        async () =>
          f(),
    },
  ] as const;

  describe.each(forms)('$form hooks', ({ wrap }) => {
    it('authenticates, authorizes and grants the policy level in one auth + subscribe', async () => {
      const fx = await harness.start({
        authenticate: ({ request, token }) => wrap(() => principalOf(token ?? bearer(request.headers.authorization)))(),
        authorize: (principal, topic) => wrap(() => topic === `user:${principal.userId}` || topic === 'ward:4b')(),
        phiLevel: (_principal, topic) => wrap(() => (topic === 'ward:4b' ? ('id-only' as const) : ('full' as const)))(),
      });
      // Authenticated in-band: the `auth` frame's path, not the upgrade's.
      const client = harness.connect(fx, { label: 'alice' });
      await client.nextFrame('welcome');
      client.send({ type: 'auth', token: tokenFor('alice') });
      await client.nextFrame('authenticated');

      const results = await client.subscribe(['user:alice', 'ward:4b', 'ward:5c']);

      expect(results).toMatchObject([
        { topic: 'user:alice', status: 'ok' },
        { topic: 'ward:4b', status: 'ok', phi: 'id-only' },
        { topic: 'ward:5c', status: 'denied', code: 'topic_denied' },
      ]);
      expect(results[0]).not.toHaveProperty('phi');
    });

    it('denies a topic whose authorize fails and grants empty where phiLevel fails, keeping the connection', async () => {
      const fx = await harness.start({
        authorize: (_principal, topic) =>
          wrap(() => {
            if (topic === 'ward:down') throw new Error('policy service down');
            return true;
          })(),
        phiLevel: (_principal, topic) =>
          wrap(() => {
            if (topic === 'ward:4b') throw new Error('policy service down');
            return 'full' as const;
          })(),
      });
      const client = await harness.connectAs(fx, 'alice');

      const results = await client.subscribe(['ward:down', 'ward:4b']);
      await client.roundTrip();

      expect(results).toMatchObject([
        { topic: 'ward:down', status: 'denied', code: 'topic_denied' },
        { topic: 'ward:4b', status: 'ok', phi: 'empty' },
      ]);
      expect(client.closeInfo).toBeUndefined();
    });

    it('refuses a token whose authenticate fails with auth_failed and closes with 4401', async () => {
      const fx = await harness.start({
        authenticate: ({ token }) =>
          wrap(() => {
            if (token === 'boom') throw new Error('identity provider down');
            return principalOf(token);
          })(),
      });
      const errors = harness.record(fx, 'error');
      const client = harness.connect(fx);
      await client.nextFrame('welcome');

      client.send({ type: 'auth', token: 'boom' });
      const error = await client.nextFrame('error');
      const { code } = await client.waitClose();

      expect(error.code).toBe('auth_failed');
      expect(code).toBe(4401);
      expect(errors.map((e) => (e as { code?: string }).code)).toContain('auth_failed');
    });
  });
});
