import { CloseCode } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { nextRef } from './helpers/client.js';
import { eventually, principalOf, tokenFor, useHarness } from './helpers/harness.js';
import { connect2, errorsOf, hello, ready2 } from './helpers/protocol2.js';
import { rawUpgrade } from './security/raw-ws.js';

/**
 * Protocol 2 on the hub (docs/protocol.md, "Protocol 2"), the rules around the handshake: which URLs ask for it, what
 * a frame before `hello` gets, a `hello` out of place, the authentication timeout, the pre-auth
 * budget and the connection limit. Real hubs, real `ws` clients (and a raw socket where a library
 * would not misbehave enough).
 */

const harness = useHarness();

const HELLO_ELSEWHERE = 'hello: only the first frame of a protocol 2 connection';

describe('asking for protocol 2 with the URL query', () => {
  it.each(['?protocol=2', '?protocol=2&x=1', '?a=b&protocol=2', '?a=b&protocol=2&c=d', '?protocol=1&protocol=2'])(
    'speaks protocol 2 for %s: no welcome, hello gets ready',
    async (query) => {
      const fx = await harness.start();
      const client = connect2(harness, fx, { query });
      await client.opened;
      await client.roundTrip();
      const ready = await hello(client, { token: tokenFor('alice') });

      expect(ready).toMatchObject({ protocol: 2, userId: 'alice' });
      expect(client.frames.map((f) => f.type)).toEqual(['pong', 'ready']);
    },
  );

  it.each([
    '',
    '?',
    '?protocol=20',
    '?protocol=1',
    '?protocol=3',
    '?protocol=02',
    '?xprotocol=2',
    '?a=protocol=2',
    '?protocol=%32',
  ])('speaks protocol 1 for "%s": welcome first, and hello is a bad frame', async (query) => {
    const fx = await harness.start();
    const client = connect2(harness, fx, { query });
    const welcome = await client.nextFrame('welcome');
    client.send({ type: 'hello', token: tokenFor('alice'), ref: 'h' });
    const error = await client.nextFrame('error');

    expect(welcome).toMatchObject({ protocol: 1, authenticated: false });
    expect(error).toEqual({ type: 'error', code: 'bad_frame', message: HELLO_ELSEWHERE, ref: 'h' });
    expect(client.framesOf('ready')).toEqual([]);
    expect(fx.hub.stats().authenticatedConnections).toBe(0);
  });

  it('sends not a byte on open to a raw protocol 2 socket, and a welcome to a protocol 1 one', async () => {
    const fx = await harness.start({ authTimeoutMs: 400 });
    const v2 = await rawUpgrade(fx.port, '/v1/ws/notifications?protocol=2');
    const v1 = await rawUpgrade(fx.port, '/v1/ws/notifications');
    try {
      expect([v2.status, v1.status]).toEqual([101, 101]);
      // Both wait for the authentication timeout: the protocol 1 socket got its welcome long before.
      expect(await v2.closeCode).toBe(4408);
      expect(await v1.closeCode).toBe(4408);
      expect(v2.opcodes).toEqual([0x8]);
      expect(v1.opcodes).toEqual([0x1, 0x8]);
    } finally {
      v2.socket.destroy();
      v1.socket.destroy();
    }
  });
});

describe('frames before hello', () => {
  it.each([
    ['auth', { type: 'auth', token: tokenFor('alice') }],
    ['subscribe', { type: 'subscribe', topics: [{ topic: 'user:alice' }] }],
    ['unsubscribe', { type: 'unsubscribe', topics: ['user:alice'] }],
    ['ack', { type: 'ack', id: 'n1' }],
    ['read', { type: 'read', id: 'n1' }],
    ['telemetry', { type: 'telemetry', enabled: true }],
  ])('closes with 4401 and not_authenticated for %s before hello', async (_type, frame) => {
    const fx = await harness.start();
    const client = connect2(harness, fx);
    await client.opened;
    await client.roundTrip();
    client.send({ ...frame, ref: 'early' });
    const { code } = await client.waitClose();

    expect(code).toBe(CloseCode.Unauthorized);
    expect(errorsOf(client)).toEqual([{ code: 'not_authenticated', message: 'authenticate first', ref: 'early' }]);
    expect(client.frames.map((f) => f.type)).toEqual(['pong', 'error']);
    expect(fx.hub.stats().authenticatedConnections).toBe(0);
  });

  it('answers a malformed hello with bad_frame and still takes a well-formed one after it', async () => {
    const fx = await harness.start();
    const client = connect2(harness, fx);
    await client.opened;
    client.send({ type: 'hello', token: '', ref: 'bad' });
    const error = await client.nextFrame('error');
    const ready = await hello(client, { token: tokenFor('alice') });

    expect(error).toMatchObject({ code: 'bad_frame', ref: 'bad' });
    expect(ready.userId).toBe('alice');
  });
});

describe('hello out of place', () => {
  it('answers a second hello with bad_frame (no path) and keeps the connection open', async () => {
    const fx = await harness.start({ authorize: () => true });
    const { client, ready } = await ready2(harness, fx, 'alice', [{ topic: 'ward:4b' }]);
    client.send({ type: 'hello', token: tokenFor('bob'), topics: [{ topic: 'ward:5c' }], ref: 'again' });
    const error = await client.nextFrame('error');
    await client.roundTrip();
    await fx.hub.publish('ward:4b', { kind: 'custom', id: 'still-here' });
    await client.notification('still-here');

    expect(error).toEqual({ type: 'error', code: 'bad_frame', message: HELLO_ELSEWHERE, ref: 'again' });
    expect(ready.userId).toBe('alice');
    expect(client.framesOf('ready')).toHaveLength(1);
    expect(client.closeInfo).toBeUndefined();
    // Neither its token nor its topics were taken.
    expect(fx.hub.connections().map((c) => c.userId)).toEqual(['alice']);
    expect(fx.hub.stats().subscriptions).toBe(1);
  });

  it('counts a hello out of place as a malformed frame (maxInvalidFrames)', async () => {
    const fx = await harness.start({ maxInvalidFrames: 2 });
    const { client } = await ready2(harness, fx, 'alice');
    client.send({ type: 'hello', ref: 'h2' });
    client.send({ type: 'hello', ref: 'h3' });

    expect((await client.waitClose()).code).toBe(CloseCode.BadFrame);
    expect(errorsOf(client).map((e) => [e.code, e.ref])).toEqual([
      ['bad_frame', 'h2'],
      ['bad_frame', 'h3'],
    ]);
  });

  it('answers hello on a protocol 1 connection with bad_frame, before and after auth, and the connection still works', async () => {
    const fx = await harness.start({ authorize: () => true });
    const client = harness.connect(fx);
    await client.nextFrame('welcome');
    client.send({ type: 'hello', token: tokenFor('alice'), topics: [{ topic: 'ward:4b' }], ref: 'h1' });
    const before = await client.nextFrame('error');
    client.send({ type: 'auth', token: tokenFor('alice'), ref: 'a' });
    const authenticated = await client.nextFrame('authenticated');
    client.send({ type: 'hello', token: tokenFor('alice'), ref: 'h2' });
    const after = await client.nextFrame('error');
    const [result] = await client.subscribe(['ward:4b']);
    await fx.hub.publish('ward:4b', { kind: 'custom', id: 'n1' });
    await client.notification('n1');

    expect(before).toEqual({ type: 'error', code: 'bad_frame', message: HELLO_ELSEWHERE, ref: 'h1' });
    expect(after).toEqual({ type: 'error', code: 'bad_frame', message: HELLO_ELSEWHERE, ref: 'h2' });
    expect(authenticated).toEqual({ type: 'authenticated', userId: 'alice', ref: 'a' });
    expect(result).toMatchObject({ topic: 'ward:4b', status: 'ok' });
    expect(client.framesOf('ready')).toEqual([]);
  });
});

describe('hello subscribes as subscribe does', () => {
  it('applies maxSubscriptions and the phi levels to the hello’s topics', async () => {
    const fx = await harness.start({ authorize: () => true, maxSubscriptions: 2, phiLevel: () => 'id-only' });
    const { ready } = await ready2(harness, fx, 'alice', [
      { topic: 'patient:p1', phi: 'empty' },
      { topic: 'patient:p2' },
      { topic: 'patient:p3' },
    ]);

    expect(ready.topics.map((t) => [t.topic, t.status, t.phi ?? t.code])).toEqual([
      ['patient:p1', 'ok', 'empty'],
      ['patient:p2', 'ok', 'id-only'],
      ['patient:p3', 'denied', 'too_many_subscriptions'],
    ]);
    expect(fx.hub.stats().subscriptions).toBe(2);
  });

  it('takes only the first of two pipelined hellos, with an async authenticate: one call, one ready', async () => {
    const tokens: (string | undefined)[] = [];
    const fx = await harness.start({
      authenticate: async ({ token }) => {
        tokens.push(token);
        await new Promise((resolve) => setTimeout(resolve, 20));
        return principalOf(token);
      },
    });
    const authenticated = harness.record(fx, 'authenticated');
    const client = connect2(harness, fx);
    await client.opened;
    client.send({ type: 'hello', token: tokenFor('alice'), ref: 'h1' });
    client.send({ type: 'hello', token: tokenFor('bob'), ref: 'h2' });
    const error = await client.nextFrame('error');

    expect(client.frames.map((f) => f.type)).toEqual(['ready', 'error']);
    expect(client.framesOf('ready')[0]).toMatchObject({ userId: 'alice', ref: 'h1' });
    expect(error).toEqual({ type: 'error', code: 'bad_frame', message: HELLO_ELSEWHERE, ref: 'h2' });
    expect(tokens).toEqual([tokenFor('alice')]);
    expect(authenticated.map((e) => [e.userId, e.refresh])).toEqual([['alice', false]]);
  });
});

describe('the authentication timeout', () => {
  it('closes with 4408 a protocol 2 connection that sends no hello within authTimeoutMs', async () => {
    const fx = await harness.start({ authTimeoutMs: 300 });
    const client = connect2(harness, fx);
    await client.opened;
    await client.roundTrip(); // a ping is no hello

    expect((await client.waitClose()).code).toBe(CloseCode.AuthTimeout);
    expect(client.frames.map((f) => f.type)).toEqual(['pong']);
  });

  it('closes with 4408 when the authenticate a hello waits for never answers', async () => {
    const fx = await harness.start({ authTimeoutMs: 300, authenticate: () => new Promise(() => {}) });
    const client = connect2(harness, fx);
    await client.opened;
    client.send({ type: 'hello', token: tokenFor('alice'), ref: 'h' });

    expect((await client.waitClose()).code).toBe(CloseCode.AuthTimeout);
    expect(client.frames).toEqual([]);
  });

  it('arms no timeout past ready', async () => {
    const fx = await harness.start({ authTimeoutMs: 1_000 });
    const { client } = await ready2(harness, fx, 'alice');
    // Opened after the ready one: once it is closed, the ready one's timeout would have passed.
    const late = connect2(harness, fx, { label: 'late' });

    expect((await late.waitClose()).code).toBe(CloseCode.AuthTimeout);
    await client.roundTrip();
    expect(client.closeInfo).toBeUndefined();
  });
});

describe('the pre-auth budget and the rate limit', () => {
  it('closes with 4429 a connection past maxPreAuthFrames before hello', async () => {
    const fx = await harness.start({ maxPreAuthFrames: 3 });
    const client = connect2(harness, fx);
    await client.opened;
    for (let i = 0; i < 4; i++) client.send({ type: 'ping', ref: nextRef() });

    expect((await client.waitClose()).code).toBe(CloseCode.RateLimited);
    expect(client.framesOf('pong')).toHaveLength(3);
    expect(client.framesOf('ready')).toEqual([]);
  });

  it('counts the hello in the budget: one at the budget’s last frame is taken, one past it is not', async () => {
    const fx = await harness.start({ maxPreAuthFrames: 3 });
    const within = connect2(harness, fx, { label: 'within' });
    await within.opened;
    within.send({ type: 'ping', ref: 'p1' });
    within.send({ type: 'ping', ref: 'p2' });
    const ready = await hello(within, { token: tokenFor('alice') });
    // Open: the budget no longer applies.
    for (let i = 0; i < 5; i++) await within.roundTrip();

    const past = connect2(harness, fx, { label: 'past' });
    await past.opened;
    for (let i = 0; i < 3; i++) past.send({ type: 'ping', ref: `q${i}` });
    past.send({ type: 'hello', token: tokenFor('bob'), ref: 'h' });

    expect(ready.userId).toBe('alice');
    expect(within.closeInfo).toBeUndefined();
    expect((await past.waitClose()).code).toBe(CloseCode.RateLimited);
    expect(past.framesOf('ready')).toEqual([]);
    await eventually(() => fx.hub.connections().length === 1, 'the refused connection is gone');
    expect(fx.hub.connections().map((c) => c.userId)).toEqual(['alice']);
  });

  it('applies the frame rate limit before hello: rate_limited, then 4429', async () => {
    const fx = await harness.start({ maxFramesPerSecond: 2, maxPreAuthFrames: 1_000 });
    const client = connect2(harness, fx);
    await client.opened;
    for (let i = 0; i < 20; i++) client.send({ type: 'ping', ref: nextRef() });

    expect((await client.waitClose()).code).toBe(CloseCode.RateLimited);
    expect(errorsOf(client)).toEqual([{ code: 'rate_limited', message: 'too many frames per second' }]);
  });
});

describe('maxConnectionsPerUser', () => {
  it('refuses the hello of a connection past the limit: too_many_connections with its ref and retryAfterMs, 4430', async () => {
    const fx = await harness.start({ maxConnectionsPerUser: 1 });
    const { client: first } = await ready2(harness, fx, 'alice');
    const second = connect2(harness, fx, { label: 'second' });
    await second.opened;
    second.send({ type: 'hello', token: tokenFor('alice'), topics: [{ topic: 'user:alice' }], ref: 'h2' });
    const { code } = await second.waitClose();

    expect(code).toBe(CloseCode.TooManyConnections);
    expect(second.frames).toEqual([
      {
        type: 'error',
        code: 'too_many_connections',
        message: 'too many connections',
        retryAfterMs: expect.any(Number),
        ref: 'h2',
      },
    ]);
    await first.roundTrip();
    await eventually(() => fx.hub.connections().length === 1, 'the refused connection is gone');
    expect(fx.hub.connections().map((c) => c.userId)).toEqual(['alice']);
    expect(fx.hub.stats().subscriptions).toBe(0);
  });

  it('counts protocol 1 and protocol 2 connections of a user together', async () => {
    const fx = await harness.start({ maxConnectionsPerUser: 1 });
    const v1 = await harness.connectAs(fx, 'alice');
    const v2 = connect2(harness, fx, { label: 'v2' });
    await v2.opened;
    v2.send({ type: 'hello', token: tokenFor('alice'), ref: 'h' });

    expect((await v2.waitClose()).code).toBe(CloseCode.TooManyConnections);
    expect(errorsOf(v2)).toMatchObject([{ code: 'too_many_connections', ref: 'h' }]);
    v1.ws.close(1000);
    await eventually(() => fx.hub.connections().length === 0, 'the first connection is gone');
    // The slot is free again once the first connection is gone.
    const { ready } = await ready2(harness, fx, 'alice');
    expect(ready.userId).toBe('alice');
  });
});

describe('protocol 2: the idle timeout after ready', () => {
  const harness = useHarness();
  const IDLE_MS = 600;

  it('closes with 4409 a connection whose hello subscribed nothing (no topics, or all denied), keeps one with a topic', async () => {
    const fx = await harness.start({
      idleTimeoutMs: IDLE_MS,
      authorize: (_principal, topic) => !topic.startsWith('ward:'),
    });
    const bare = await ready2(harness, fx, 'bare');
    const denied = await ready2(harness, fx, 'denied', [{ topic: 'ward:icu-3' }]);
    const kept = await ready2(harness, fx, 'kept', [{ topic: 'user:kept' }]);
    const openedAt = Date.now();
    const closes = await Promise.all([bare.client.waitClose(IDLE_MS * 10), denied.client.waitClose(IDLE_MS * 10)]);
    const closedAfterMs = Date.now() - openedAt;
    // The subscribed one outlives another idle period and a half, and still answers.
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS * 1.5));
    await kept.client.roundTrip();

    expect(denied.ready.topics).toMatchObject([{ topic: 'ward:icu-3', status: 'denied' }]);
    expect(closes.map((c) => c.code)).toEqual([CloseCode.IdleTimeout, CloseCode.IdleTimeout]);
    expect(closedAfterMs).toBeGreaterThanOrEqual(IDLE_MS - 50);
    expect(kept.client.closeInfo).toBeUndefined();
  });
});
