import type { WebSocketConstructor } from '@wardcast/client';
import type { Authenticate } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { custom, eventually, record, testAuthenticate, tokenFor, useFixtures } from './helpers/fixtures.js';

const f = useFixtures();

/** An `authenticate` that answers only when the test lets it. */
function heldAuthenticate() {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let waiting = 0;
  const authenticate: Authenticate = async (ctx) => {
    if (ctx.token === undefined) return null;
    waiting++;
    await gate;
    return testAuthenticate(ctx);
  };
  return { authenticate, release, waiting: () => waiting };
}

/**
 * A `ws` client that records the type of every frame the client sends (but the heartbeat's
 * `ping`), and what it had received by then. With `dropQuery`, it connects without the URL's
 * query, as through a proxy that loses it: the hub speaks protocol 1.
 */
function recordingSocket(dropQuery = false) {
  const sent: { type: string; received: number }[] = [];
  class Recording extends WebSocket {
    received = 0;
    constructor(url: string) {
      super(dropQuery ? (url.split('?')[0] ?? url) : url);
      this.on('message', () => this.received++);
    }
    override send(data: unknown, ...rest: unknown[]): void {
      const type = (JSON.parse(String(data)) as { type: string }).type;
      if (type !== 'ping') sent.push({ type, received: this.received });
      (super.send as (...args: unknown[]) => void)(data, ...rest);
    }
  }
  return { WebSocket: Recording as unknown as WebSocketConstructor, sent };
}

const types = (sent: readonly { type: string }[]) => sent.map((s) => s.type);

describe('protocol 2: the topics go out in the hello, with the token', () => {
  it('one frame, before the hub answered anything; the hub subscribes once the token is accepted', async () => {
    const held = heldAuthenticate();
    const server = await f.hub({ authenticate: held.authenticate, authorize: () => true });
    const socket = recordingSocket();
    const client = f.client({ url: server.url, topics: ['user:u1', 'patient:p1'], WebSocket: socket.WebSocket });
    const log = record(client);
    await eventually(() => held.waiting() === 1, 'the hub is checking the token');
    expect(socket.sent).toEqual([{ type: 'hello', received: 0 }]);
    expect(server.hub.stats().framesIn).toBe(1);
    expect(server.events.subscribe).toHaveLength(0);
    expect(client.status.state).not.toBe('open');

    held.release();
    await eventually(() => server.hub.stats().subscriptions === 2, 'the hub subscribed the hello topics');
    expect(server.events.subscribe.map((e) => e.userId)).toEqual(['u1', 'u1']);
    await eventually(() => client.status.state === 'open', 'open');
    // Subscribed once: the client did not send a subscribe on `ready`.
    expect(types(socket.sent)).toEqual(['hello']);
    await server.hub.publish('patient:p1', custom('n1'));
    await eventually(() => log.notifications.length === 1, 'the notification');
    expect(log.errors).toEqual([]);
  });

  it('is dropped with the connection when the token is refused: nothing subscribed, 4401', async () => {
    const server = await f.hub();
    const client = f.client({ url: server.url, token: 'wrong', topics: ['user:u1'] });
    await eventually(() => client.status.state === 'closed', 'the client stopped');
    expect(client.status).toMatchObject({ state: 'closed', reason: { code: 4401 } });
    expect(server.events.subscribe).toHaveLength(0);
  });

  it('carries no topics when they need more than one frame: they follow ready, 100 a frame', async () => {
    const held = heldAuthenticate();
    const server = await f.hub({ authenticate: held.authenticate, authorize: () => true, maxSubscriptions: 200 });
    const socket = recordingSocket();
    const topics = Array.from({ length: 101 }, (_, i) => `patient:p${i}`);
    const client = f.client({ url: server.url, token: tokenFor('u1'), topics, WebSocket: socket.WebSocket });
    await eventually(() => held.waiting() === 1, 'the hub is checking the token');
    expect(types(socket.sent)).toEqual(['hello']);
    held.release();
    await eventually(() => server.hub.stats().subscriptions === 101, 'every topic subscribed after ready');
    expect(types(socket.sent)).toEqual(['hello', 'subscribe', 'subscribe']);
    expect(client.topics).toHaveLength(101);
  });
});

describe('protocol 1 (the hub did not get protocol=2): the subscribe goes right behind the auth', () => {
  it('before the hub answered the auth; the hub handles it after the auth, in order', async () => {
    const held = heldAuthenticate();
    const server = await f.hub({ authenticate: held.authenticate, authorize: () => true });
    const socket = recordingSocket(true);
    const client = f.client({ url: server.url, topics: ['user:u1', 'patient:p1'], WebSocket: socket.WebSocket });
    const log = record(client);
    await eventually(() => held.waiting() === 1, 'the hub is checking the token');
    // After `welcome` (and the hub's refusal of the `hello`, when the client sent one before the
    // `welcome` came), together: the client did not wait for `authenticated`.
    const v1 = socket.sent.filter((s) => s.type !== 'hello');
    expect(types(v1)).toEqual(['auth', 'subscribe']);
    expect(v1[1]?.received).toBeLessThanOrEqual(2);
    expect(server.events.subscribe).toHaveLength(0);
    expect(client.status.state).not.toBe('open');

    held.release();
    await eventually(() => server.hub.stats().subscriptions === 2, 'the hub handled the subscribe after the auth');
    expect(server.events.subscribe.map((e) => e.userId)).toEqual(['u1', 'u1']);
    await eventually(() => client.status.state === 'open', 'open');
    expect(client.status).toMatchObject({ sessionId: server.events.connection[0]?.sessionId });
    // Subscribed once: the client did not repeat it on `authenticated`.
    expect(socket.sent.filter((s) => s.type === 'subscribe')).toHaveLength(1);
    await server.hub.publish('patient:p1', custom('n1'));
    await eventually(() => log.notifications.length === 1, 'the notification');
    // The hub's answer to a `hello` is not reported.
    expect(log.errors).toEqual([]);
  });

  it('waits for `authenticated` when the topics need more than one frame', async () => {
    const held = heldAuthenticate();
    const server = await f.hub({ authenticate: held.authenticate, authorize: () => true, maxSubscriptions: 200 });
    const socket = recordingSocket(true);
    const topics = Array.from({ length: 101 }, (_, i) => `patient:p${i}`);
    const client = f.client({ url: server.url, token: tokenFor('u1'), topics, WebSocket: socket.WebSocket });
    await eventually(() => held.waiting() === 1, 'the hub is checking the token');
    expect(types(socket.sent.filter((s) => s.type !== 'hello'))).toEqual(['auth']);
    held.release();
    await eventually(() => server.hub.stats().subscriptions === 101, 'every topic subscribed after authenticated');
    expect(types(socket.sent.filter((s) => s.type !== 'hello'))).toEqual(['auth', 'subscribe', 'subscribe']);
    expect(client.topics).toHaveLength(101);
  });
});
