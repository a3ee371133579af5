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

/** A `ws` client that records the type of every frame the client sends, and what it had received by then. */
function recordingSocket() {
  const sent: { type: string; received: number }[] = [];
  class Recording extends WebSocket {
    received = 0;
    constructor(url: string) {
      super(url);
      this.on('message', () => this.received++);
    }
    override send(data: unknown, ...rest: unknown[]): void {
      sent.push({ type: (JSON.parse(String(data)) as { type: string }).type, received: this.received });
      (super.send as (...args: unknown[]) => void)(data, ...rest);
    }
  }
  return { WebSocket: Recording as unknown as WebSocketConstructor, sent };
}

describe('the subscribe frame goes out right behind the auth frame', () => {
  it('before the hub answered the auth; the hub handles it after the auth, in order', async () => {
    const held = heldAuthenticate();
    const server = await f.hub({ authenticate: held.authenticate, authorize: () => true });
    const socket = recordingSocket();
    const client = f.client({ url: server.url, topics: ['user:u1', 'patient:p1'], WebSocket: socket.WebSocket });
    const log = record(client);
    await eventually(() => held.waiting() === 1, 'the hub is checking the token');
    // Sent together, with only `welcome` received: the client did not wait for `authenticated`.
    expect(socket.sent.map((s) => s.type)).toEqual(['auth', 'subscribe']);
    expect(socket.sent[1]?.received).toBeLessThanOrEqual(1);
    await eventually(() => server.hub.stats().framesIn === 2, 'both frames reached the hub');
    expect(server.events.subscribe).toHaveLength(0);
    expect(client.status.state).not.toBe('open');

    held.release();
    await eventually(() => server.hub.stats().subscriptions === 2, 'the hub handled the subscribe after the auth');
    expect(server.events.subscribe.map((e) => e.userId)).toEqual(['u1', 'u1']);
    await eventually(() => client.status.state === 'open', 'open');
    // Subscribed once: the client did not repeat it on `authenticated`.
    expect(socket.sent.filter((s) => s.type === 'subscribe')).toHaveLength(1);
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

  it('waits for `authenticated` when the topics need more than one frame', async () => {
    const held = heldAuthenticate();
    const server = await f.hub({ authenticate: held.authenticate, authorize: () => true, maxSubscriptions: 200 });
    const socket = recordingSocket();
    const topics = Array.from({ length: 101 }, (_, i) => `patient:p${i}`);
    const client = f.client({ url: server.url, token: tokenFor('u1'), topics, WebSocket: socket.WebSocket });
    await eventually(() => held.waiting() === 1, 'the hub is checking the token');
    expect(socket.sent.map((s) => s.type)).toEqual(['auth']);
    held.release();
    await eventually(() => server.hub.stats().subscriptions === 101, 'every topic subscribed after authenticated');
    expect(socket.sent.map((s) => s.type).slice(0, 3)).toEqual(['auth', 'subscribe', 'subscribe']);
    expect(client.topics).toHaveLength(101);
  });
});
