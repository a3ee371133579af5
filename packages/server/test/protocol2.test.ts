import { LATEST_PROTOCOL_VERSION, parseServerFrame } from '@wardcast/protocol';
import {
  type AuthContext,
  type Authenticate,
  DEFAULT_LIMITS,
  MemoryHistoryStore,
  MemoryInbox,
  type Principal,
} from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { bearer, principalOf, tokenFor, useHarness } from './helpers/harness.js';
import { withReads } from './helpers/history.js';
import { connect2, errorsOf, hello, ready2 } from './helpers/protocol2.js';

/**
 * Protocol 2 on the hub (docs/protocol.md, "Protocol 2"): a connection opened with `?protocol=2` is sent nothing until
 * its `hello`, which authenticates and subscribes in one frame and is answered by one `ready`
 * (after the notifications its resume points replay). Real hubs, real `ws` clients.
 */

const harness = useHarness();

/** The limits a `welcome` or `ready` advertises, for hub limits `limits`. */
function advertised(limits: typeof DEFAULT_LIMITS) {
  return {
    maxFrameBytes: limits.maxFrameBytes,
    maxFramesPerSecond: limits.maxFramesPerSecond,
    maxSubscriptions: limits.maxSubscriptions,
    authTimeoutMs: limits.authTimeoutMs,
  };
}

describe('the protocol 2 handshake', () => {
  it('sends nothing before hello: a ping gets only its pong', async () => {
    const fx = await harness.start();
    const client = connect2(harness, fx);
    await client.opened;
    await client.roundTrip();
    await client.roundTrip();

    expect(client.frames.map((f) => f.type)).toEqual(['pong', 'pong']);
    expect(fx.hub.stats().connections).toBe(1);
    expect(fx.hub.stats().authenticatedConnections).toBe(0);
  });

  it('answers hello with exactly one ready, byte for byte JSON.stringify of its fields in the protocol order', async () => {
    const expiresAt = Date.now() + 3_600_000;
    const fx = await harness.start({
      authorize: () => true,
      authTimeoutMs: 7_000,
      authenticate: ({ token }) => {
        const principal = principalOf(token);
        return principal && { ...principal, expiresAt };
      },
    });
    const first = await fx.hub.publish('ward:4b', { kind: 'custom', id: 'before' });
    const client = connect2(harness, fx);
    await client.opened;
    await client.roundTrip();
    client.send({
      type: 'hello',
      token: tokenFor('alice'),
      topics: [{ topic: 'ward:4b' }, { topic: 'user:alice' }],
      ref: 'h1',
    });
    const ready = await client.nextFrame('ready');
    await client.roundTrip();

    const sessionId = fx.hub.connections()[0]?.sessionId;
    const expected = JSON.stringify({
      type: 'ready',
      protocol: 2,
      sessionId,
      heartbeatMs: DEFAULT_LIMITS.heartbeatIntervalMs,
      limits: advertised({ ...DEFAULT_LIMITS, authTimeoutMs: 7_000 }),
      userId: 'alice',
      expiresAt,
      topics: [
        { topic: 'ward:4b', status: 'ok', recovered: false, position: { epoch: first.epoch, seq: 1 } },
        {
          topic: 'user:alice',
          status: 'ok',
          recovered: false,
          position: { epoch: ready.topics[1]?.position?.epoch, seq: 0 },
        },
      ],
      ref: 'h1',
    });
    expect(typeof sessionId).toBe('string');
    expect(client.raw[1]).toBe(expected);
    expect(parseServerFrame(client.raw[1])).toEqual({ ok: true, frame: JSON.parse(expected) });
    expect(ready.protocol).toBe(LATEST_PROTOCOL_VERSION);
    // One ready in place of welcome, authenticated and subscribed.
    expect(client.frames.map((f) => f.type)).toEqual(['pong', 'ready', 'pong']);
    expect(client.invalid).toEqual([]);
    expect(fx.hub.stats().subscriptions).toBe(2);
  });

  it('writes a ready without expiresAt and ref, and with topics: [], for a bare hello', async () => {
    const fx = await harness.start();
    const client = connect2(harness, fx);
    await client.opened;
    client.send({ type: 'hello', token: tokenFor('bob') });
    await client.nextFrame('ready');

    expect(client.raw).toEqual([
      JSON.stringify({
        type: 'ready',
        protocol: 2,
        sessionId: fx.hub.connections()[0]?.sessionId,
        heartbeatMs: DEFAULT_LIMITS.heartbeatIntervalMs,
        limits: advertised(DEFAULT_LIMITS),
        userId: 'bob',
        topics: [],
      }),
    ]);
    expect(fx.hub.connections().map((c) => c.userId)).toEqual(['bob']);
  });

  it('writes userId and ref as JSON.stringify would, whatever their characters', async () => {
    const odd = ['a"b', 'back\\slash', 'tab\tnew\nline', '\u0000\u001f\u007f', 'café 患者 🚑', '\u2028', '\ud800'];
    const fx = await harness.start({ authenticate: ({ token }) => (token ? { userId: token } : null) });
    for (const text of odd) {
      const client = connect2(harness, fx, { label: JSON.stringify(text) });
      const ready = await hello(client, { token: text, ref: text });

      expect(client.raw).toEqual([
        JSON.stringify({
          type: 'ready',
          protocol: 2,
          sessionId: ready.sessionId,
          heartbeatMs: DEFAULT_LIMITS.heartbeatIntervalMs,
          limits: advertised(DEFAULT_LIMITS),
          userId: text,
          topics: [],
          ref: text,
        }),
      ]);
      client.terminate();
    }
  });

  it('advertises the same session limits as a protocol 1 welcome', async () => {
    const fx = await harness.start({ heartbeatIntervalMs: 12_000, maxFramesPerSecond: 7, maxSubscriptions: 9 });
    const v1 = harness.connect(fx);
    const welcome = await v1.nextFrame('welcome');
    const { ready } = await ready2(harness, fx, 'alice');

    expect(ready.limits).toEqual(welcome.limits);
    expect(ready.heartbeatMs).toBe(welcome.heartbeatMs);
    expect(ready.heartbeatMs).toBe(12_000);
    expect(ready.sessionId).not.toBe(welcome.sessionId);
  });
});

describe('hello replays before ready', () => {
  it('replays what was published after since, then ready with recovered: true', async () => {
    const fx = await harness.start({ authorize: () => true });
    const first = await fx.hub.publish('ward:4b', { kind: 'custom', id: 'n1' });
    await fx.hub.publish('ward:4b', { kind: 'custom', id: 'n2' });
    await fx.hub.publish('ward:4b', { kind: 'custom', id: 'n3' });
    const client = connect2(harness, fx);
    const ready = await hello(client, {
      token: tokenFor('alice'),
      topics: [{ topic: 'ward:4b', since: { epoch: first.epoch, seq: first.seq } }],
    });

    expect(client.frames.map((f) => f.type)).toEqual(['notification', 'notification', 'ready']);
    expect(client.framesOf('notification').map((n) => [n.id, n.seq])).toEqual([
      ['n2', 2],
      ['n3', 3],
    ]);
    expect(ready.topics).toEqual([
      { topic: 'ward:4b', status: 'ok', recovered: true, position: { epoch: first.epoch, seq: 3 } },
    ]);
    // Live from there on.
    await fx.hub.publish('ward:4b', { kind: 'custom', id: 'n4' });
    expect((await client.notification('n4')).seq).toBe(4);
  });

  it('replays the unread inbox of the user’s own topic (unread: true), then ready', async () => {
    const inbox = new MemoryInbox();
    const fx = await harness.start({ inbox });
    for (let i = 1; i <= 4; i++) await fx.hub.publish('user:u1', { kind: 'custom', id: `n-${i}` });
    inbox.markRead('u1', 'n-2');
    const client = connect2(harness, fx);
    const ready = await hello(client, { token: tokenFor('u1'), topics: [{ topic: 'user:u1', unread: true }] });

    expect(client.frames.map((f) => f.type)).toEqual(['notification', 'notification', 'notification', 'ready']);
    expect(client.framesOf('notification').map((n) => n.id)).toEqual(['n-1', 'n-3', 'n-4']);
    expect(ready.topics).toEqual([
      { topic: 'user:u1', status: 'ok', recovered: false, position: { epoch: expect.any(String), seq: 4 } },
    ]);
  });

  it('replays from an async history store after an async authenticate, then ready, then the frames sent after hello', async () => {
    const store = new MemoryHistoryStore();
    const history = withReads(store, {
      read: (topic, since) => Promise.resolve(store.read(topic, since)),
      position: (topic) => Promise.resolve(store.position(topic)),
    });
    const authenticate: Authenticate = async ({ token }) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return principalOf(token);
    };
    const fx = await harness.start({ history, authenticate, authorize: () => true });
    const first = await fx.hub.publish('ward:4b', { kind: 'custom', id: 'n1' });
    await fx.hub.publish('ward:4b', { kind: 'custom', id: 'n2' });
    await fx.hub.publish('ward:4b', { kind: 'custom', id: 'n3' });
    const client = connect2(harness, fx);
    await client.opened;
    // Sent together: the subscribe waits for the hello (no not_authenticated), and comes after ready.
    client.send({
      type: 'hello',
      token: tokenFor('alice'),
      topics: [{ topic: 'ward:4b', since: { epoch: first.epoch, seq: 1 } }],
      ref: 'h',
    });
    client.send({ type: 'subscribe', ref: 's', topics: [{ topic: 'ward:5c' }] });
    const subscribed = await client.nextFrame('subscribed');
    const ready = client.framesOf('ready')[0];

    expect(client.frames.map((f) => f.type)).toEqual(['notification', 'notification', 'ready', 'subscribed']);
    expect(client.framesOf('notification').map((n) => n.id)).toEqual(['n2', 'n3']);
    expect(ready).toMatchObject({ ref: 'h', userId: 'alice', topics: [{ recovered: true, position: { seq: 3 } }] });
    expect(subscribed).toMatchObject({ ref: 's', topics: [{ topic: 'ward:5c', status: 'ok' }] });
  });

  it('reports a topic authorize denies as denied in ready.topics, and sends presence after ready', async () => {
    const fx = await harness.start({ authorize: (_principal, topic) => topic !== 'patient:secret' });
    const client = connect2(harness, fx);
    const ready = await hello(client, {
      token: tokenFor('alice'),
      topics: [{ topic: 'patient:p9', presence: true }, { topic: 'patient:secret' }],
    });
    const presence = await client.nextFrame('presence');

    expect(ready.topics).toEqual([
      { topic: 'patient:p9', status: 'ok', recovered: false, position: { epoch: expect.any(String), seq: 0 } },
      { topic: 'patient:secret', status: 'denied', recovered: false, code: 'topic_denied' },
    ]);
    expect(presence).toEqual({ type: 'presence', topic: 'patient:p9', members: ['alice'] });
    expect(client.frames.map((f) => f.type)).toEqual(['ready', 'presence']);
    expect(fx.hub.presence('patient:p9')).toEqual(['alice']);
    expect(fx.hub.stats().subscriptions).toBe(1);
  });
});

describe('hello authentication', () => {
  /** Accepts `tok_SECRET_<user>` from the hello, the authorization header or a `session` cookie. */
  const anyCredential: Authenticate = ({ request, token }) => {
    const cookie = /(?:^|;\s*)session=([^;]+)/.exec(String(request.headers.cookie ?? ''))?.[1];
    return principalOf(token ?? bearer(request.headers.authorization) ?? cookie);
  };

  it.each([
    ['an authorization header', { authorization: `Bearer ${tokenFor('alice')}` }],
    ['a session cookie', { cookie: `theme=dark; session=${tokenFor('alice')}` }],
  ])('authenticates a hello without token by the upgrade request (%s)', async (_how, headers) => {
    const fx = await harness.start({ authenticate: anyCredential });
    const client = connect2(harness, fx, { headers });
    await client.opened;
    await client.roundTrip();
    // The credentials are only read for the hello.
    expect(fx.hub.stats().authenticatedConnections).toBe(0);
    const ready = await hello(client, { ref: 'h' });

    expect(ready).toMatchObject({ userId: 'alice', ref: 'h', topics: [] });
    expect(client.frames.map((f) => f.type)).toEqual(['pong', 'ready']);
    expect(fx.hub.connections().map((c) => c.userId)).toEqual(['alice']);
  });

  it.each([
    ['without token nor credentials', undefined],
    ['with a wrong token', 'not-a-token'],
    ['with a token authenticate throws on', 'tok_SECRET_throw'],
  ])('refuses a hello %s: auth_failed with its ref, then 4401', async (_how, token) => {
    const fx = await harness.start({
      authenticate: ({ token: given }) => {
        if (given === 'tok_SECRET_throw') throw new Error('verifier down');
        return principalOf(given);
      },
    });
    const client = connect2(harness, fx);
    await client.opened;
    client.send({ type: 'hello', ...(token === undefined ? {} : { token }), topics: [{ topic: 'user:x' }], ref: 'h7' });
    const { code } = await client.waitClose();

    expect(code).toBe(4401);
    expect(client.frames).toEqual([
      { type: 'error', code: 'auth_failed', message: 'authentication failed', ref: 'h7' },
    ]);
    expect(fx.hub.stats().subscriptions).toBe(0);
  });

  it('calls authenticate once, for the hello, with its token: not at upgrade time', async () => {
    const seen: AuthContext[] = [];
    const fx = await harness.start({
      authenticate: (ctx) => {
        seen.push(ctx);
        return principalOf(ctx.token ?? bearer(ctx.request.headers.authorization));
      },
    });
    // A header that would authenticate a protocol 1 connection at upgrade time.
    const client = connect2(harness, fx, { token: tokenFor('alice') });
    await client.opened;
    await client.roundTrip();
    expect(seen).toEqual([]);
    await hello(client, { token: tokenFor('bob') });

    expect(seen).toHaveLength(1);
    expect(seen[0]?.token).toBe(tokenFor('bob'));
    expect(seen[0]?.reauthenticate).toBe(false);
    expect(seen[0]?.request.url).toBe('/v1/ws/notifications?protocol=2');
    expect(fx.hub.connections().map((c) => c.userId)).toEqual(['bob']);
  });

  it('still authenticates a protocol 1 connection at upgrade time, with welcome first', async () => {
    const seen: AuthContext[] = [];
    const fx = await harness.start({
      authenticate: (ctx) => {
        seen.push(ctx);
        return principalOf(ctx.token ?? bearer(ctx.request.headers.authorization));
      },
    });
    const client = await harness.connectAs(fx, 'alice');

    expect(client.frames.map((f) => f.type)).toEqual(['welcome', 'authenticated']);
    expect(client.framesOf('welcome')[0]).toMatchObject({ protocol: 1, authenticated: true });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.token).toBeUndefined();
  });

  it('refreshes the token with auth after ready, subscribes, and delivers live notifications', async () => {
    const seen: AuthContext[] = [];
    const fx = await harness.start({
      authorize: () => true,
      authenticate: (ctx) => {
        seen.push(ctx);
        const principal = principalOf(ctx.token);
        return principal && ({ ...principal, expiresAt: Date.now() + 60_000 } satisfies Principal);
      },
    });
    const { client, ready } = await ready2(harness, fx, 'alice', [{ topic: 'ward:4b' }]);
    client.send({ type: 'auth', token: tokenFor('alice'), ref: 'refresh' });
    const refreshed = await client.nextFrame('authenticated');
    const [result] = await client.subscribe(['ward:5c']);
    await fx.hub.publish('ward:4b', { kind: 'custom', id: 'a' });
    await fx.hub.publish('ward:5c', { kind: 'custom', id: 'b' });
    await client.notification('b');

    expect(ready.expiresAt).toBeTypeOf('number');
    expect(refreshed).toEqual({
      type: 'authenticated',
      userId: 'alice',
      expiresAt: expect.any(Number),
      ref: 'refresh',
    });
    expect(seen.map((c) => c.reauthenticate)).toEqual([false, true]);
    expect(result).toMatchObject({ topic: 'ward:5c', status: 'ok' });
    expect(client.framesOf('notification').map((n) => n.id)).toEqual(['a', 'b']);
    expect(errorsOf(client)).toEqual([]);
  });

  it('closes with 4403 a refresh after ready with another user’s token, as in protocol 1', async () => {
    const fx = await harness.start();
    const { client } = await ready2(harness, fx, 'alice');
    client.send({ type: 'auth', token: tokenFor('mallory'), ref: 'swap' });

    expect((await client.waitClose()).code).toBe(4403);
    expect(errorsOf(client)).toEqual([
      { code: 'auth_user_mismatch', message: 'token is for another user', ref: 'swap' },
    ]);
  });
});
