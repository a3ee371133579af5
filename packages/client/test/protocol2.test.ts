import type { AddressInfo } from 'node:net';
import {
  type ClientOptions,
  createNotificationClient,
  type NotificationClient,
  type WardcastError,
  type WebSocketConstructor,
} from '@wardcast/client';
import type { ClientFrame, HelloFrame, ServerFrame, SubscriptionResult } from '@wardcast/protocol';
import { describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { eventually, FAST, record, sleep, useFixtures, WS } from './helpers/fixtures.js';

const f = useFixtures();

const LIMITS = { maxFrameBytes: 65_536, maxFramesPerSecond: 20, maxSubscriptions: 100, authTimeoutMs: 10_000 };

/** One connection to a {@link ScriptedHub}: its upgrade URL and the frames the client sent on it. */
interface Connection {
  readonly socket: WebSocket;
  /** The upgrade request's path and query. */
  readonly url: string;
  readonly received: ClientFrame[];
  send(frame: ServerFrame): void;
}

/** The frames a client sent, but the heartbeat's `ping`. */
const frames = (c: Connection | undefined) => c?.received.filter((x) => x.type !== 'ping') ?? [];
const types = (c: Connection | undefined) => frames(c).map((x) => x.type);

/**
 * A bare `ws` server playing the hub: `onConnection` and `onFrame` script it. Nothing is sent
 * unless the script sends it (no `pong` either).
 */
async function scriptedHub(script: {
  onConnection?(c: Connection): void;
  onFrame(c: Connection, frame: ClientFrame): void;
}): Promise<{ url: string; connections: Connection[] }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const connections: Connection[] = [];
  wss.on('connection', (socket, request) => {
    const c: Connection = {
      socket,
      url: request.url ?? '',
      received: [],
      send: (frame) => {
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(frame));
      },
    };
    connections.push(c);
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ClientFrame;
      c.received.push(frame);
      script.onFrame(c, frame);
    });
    script.onConnection?.(c);
  });
  f.defer(
    () =>
      new Promise<void>((resolve) => {
        for (const c of connections) c.socket.terminate();
        wss.close(() => resolve());
      }),
  );
  const { port } = wss.address() as AddressInfo;
  return { url: `ws://127.0.0.1:${port}/v1/ws/notifications`, connections };
}

/** `ok`, from the start of a stream (`e1`), for each subscribe item; `denied` for the topics in `deny`. */
function results(items: readonly { topic: string }[] = [], deny: readonly string[] = []): SubscriptionResult[] {
  return items.map(({ topic }) =>
    deny.includes(topic)
      ? { topic, status: 'denied', recovered: false, code: 'topic_denied' }
      : { topic, status: 'ok', recovered: true, position: { epoch: 'e1', seq: 0 } },
  );
}

/** The `ready` a protocol 2 hub answers a `hello` with. */
function ready(
  c: Connection,
  hello: HelloFrame,
  extra: { deny?: string[]; expiresAt?: number | undefined } = {},
): ServerFrame {
  return {
    type: 'ready',
    protocol: 2,
    sessionId: `new-${c.received.length}`,
    heartbeatMs: 30_000,
    limits: LIMITS,
    userId: 'u1',
    ...(extra.expiresAt === undefined ? {} : { expiresAt: extra.expiresAt }),
    topics: results(hello.topics, extra.deny),
    ...(hello.ref === undefined ? {} : { ref: hello.ref }),
  };
}

/** A protocol 2 hub: `ready` for every `hello` (after `delayMs`), `authenticated` for every `auth` (a refresh). */
function protocol2Hub(options: { deny?: string[]; expiresAt?: () => number; delayMs?: number } = {}) {
  return scriptedHub({
    onFrame(c, frame) {
      if (frame.type === 'hello') {
        const answer = () =>
          c.send(ready(c, frame, { ...(options.deny && { deny: options.deny }), expiresAt: options.expiresAt?.() }));
        if (options.delayMs) setTimeout(answer, options.delayMs);
        else answer();
      } else if (frame.type === 'auth') {
        c.send({ type: 'authenticated', userId: 'u1', ...(frame.ref === undefined ? {} : { ref: frame.ref }) });
      }
    },
  });
}

/**
 * A hub that does not speak protocol 2 (it ignores the query), as `@wardcast/server` before it:
 * `welcome` when the socket opens (after `welcomeAfterMs`, as when its upgrade-time `authenticate`
 * takes a while, or when the test calls `welcome`); frames that come before it are held and
 * handled after it, in order. The `hello` gets `error` `unknown_type`; a frame other than `auth`
 * before the session opened gets `not_authenticated` and close `4401`.
 */
async function protocol1Hub(
  options: { welcomeAfterMs?: number; manual?: boolean; upgradeAuthenticates?: boolean } = {},
) {
  const held = new Map<Connection, ClientFrame[]>();
  const open = new Set<Connection>();
  const handle = (c: Connection, frame: ClientFrame) => {
    if (frame.type === 'hello') {
      // What a hub older than protocol 2 answers (path `type`, the hello's ref).
      c.send({
        type: 'error',
        code: 'unknown_type',
        message: 'unknown frame type',
        ...(frame.ref && { ref: frame.ref }),
      });
    } else if (frame.type === 'auth') {
      open.add(c);
      c.send({ type: 'authenticated', userId: 'u1', ...(frame.ref === undefined ? {} : { ref: frame.ref }) });
    } else if (frame.type === 'ping') {
      return;
    } else if (!open.has(c)) {
      c.send({ type: 'error', code: 'not_authenticated', message: 'authenticate first' });
      c.socket.close(4401, 'not authenticated');
    } else if (frame.type === 'subscribe') {
      c.send({ type: 'subscribed', topics: results(frame.topics) });
    }
  };
  const welcome = (c: Connection) => {
    c.send({
      type: 'welcome',
      protocol: 1,
      sessionId: 'old-1',
      heartbeatMs: 30_000,
      authenticated: options.upgradeAuthenticates === true,
      limits: LIMITS,
    });
    if (options.upgradeAuthenticates) {
      open.add(c);
      c.send({ type: 'authenticated', userId: 'u1' });
    }
    const frames = held.get(c) ?? [];
    held.delete(c);
    for (const frame of frames) handle(c, frame);
  };
  const hub = await scriptedHub({
    onConnection(c) {
      held.set(c, []);
      if (options.manual) return;
      if (options.welcomeAfterMs) setTimeout(() => welcome(c), options.welcomeAfterMs);
      else welcome(c);
    },
    onFrame(c, frame) {
      const waiting = held.get(c);
      if (waiting) waiting.push(frame);
      else handle(c, frame);
    },
  });
  return { ...hub, welcome };
}

/** A client without a `token` (the upgrade request authenticates), freed after the test. */
function tokenless(options: Omit<ClientOptions, 'token'>): NotificationClient {
  const client = createNotificationClient({ WebSocket: WS, ...FAST, ...options });
  f.defer(() => client.close());
  return client;
}

const errorCodes = (errors: readonly WardcastError[]) => errors.map((e) => e.code);

describe('protocol 2: the client asks for it and opens with one hello', () => {
  it('adds protocol=2 to the URL and sends one hello with the token and topics; since on a reconnect', async () => {
    const hub = await protocol2Hub();
    const client = f.client({ url: hub.url, token: 'tok:u1', topics: ['user:u1', 'patient:p9'] });
    const log = record(client);
    await eventually(() => client.status.state === 'open', 'open');
    const first = hub.connections[0];
    expect(first?.url).toBe('/v1/ws/notifications?protocol=2');
    expect(first?.received[0]).toEqual({
      type: 'hello',
      token: 'tok:u1',
      topics: [{ topic: 'user:u1', unread: true }, { topic: 'patient:p9' }],
      ref: 'h',
    });

    first?.send({
      type: 'notification',
      id: 'n1',
      topic: 'patient:p9',
      epoch: 'e1',
      seq: 1,
      kind: 'custom',
      priority: 'routine',
      createdAt: new Date().toISOString(),
      payload: {},
    });
    await eventually(() => log.notifications.length === 1, 'the notification');
    first?.socket.close(1012, 'restart');
    await eventually(() => hub.connections.length === 2 && client.status.state === 'open', 'open again');
    const second = hub.connections[1];
    expect(second?.url).toBe('/v1/ws/notifications?protocol=2');
    // Every topic from its resume point (`user:u1` at the `{ e1, 0 }` of its result).
    expect(second?.received[0]).toEqual({
      type: 'hello',
      token: 'tok:u1',
      topics: [
        { topic: 'user:u1', since: { epoch: 'e1', seq: 0 }, unread: true },
        { topic: 'patient:p9', since: { epoch: 'e1', seq: 1 } },
      ],
      ref: 'h',
    });
    expect(types(first)).toEqual(['hello']);
    expect(types(second)).toEqual(['hello']);
    expect(log.errors).toEqual([]);
    expect(log.gaps).toEqual([]);
  });

  it('adds it with & to a URL that has a query, and sends a hello without token or topics when it has none', async () => {
    const hub = await protocol2Hub();
    const bare = tokenless({ url: `${hub.url}?tenant=a` });
    await eventually(() => bare.status.state === 'open', 'open');
    expect(hub.connections[0]?.url).toBe('/v1/ws/notifications?tenant=a&protocol=2');
    expect(frames(hub.connections[0])).toEqual([{ type: 'hello', ref: 'h' }]);
  });

  it('puts no topics in the hello when they need more than one frame, and subscribes after ready, 100 a frame', async () => {
    const hub = await protocol2Hub();
    const topics = Array.from({ length: 101 }, (_, i) => `patient:p${i}`);
    const client = f.client({ url: hub.url, token: 'tok:u1', topics });
    await eventually(() => types(hub.connections[0]).length === 3, 'the subscribes');
    expect(client.status.state).toBe('open');
    const [hello, ...subscribes] = frames(hub.connections[0]);
    expect(hello).toEqual({ type: 'hello', token: 'tok:u1', ref: 'h' });
    expect(subscribes.map((s) => (s.type === 'subscribe' ? s.topics.length : s.type))).toEqual([100, 1]);
  });

  it('opens on ready (status, sessionId, userId), reports denied topics, and sends no subscribe', async () => {
    const hub = await protocol2Hub({ deny: ['patient:p9'] });
    const client = f.client({ url: hub.url, token: 'tok:u1', topics: ['user:u1', 'patient:p9'] });
    const log = record(client);
    const denied: unknown[] = [];
    client.on('denied', (d) => denied.push(d));
    await eventually(() => client.status.state === 'open', 'open');
    expect(client.status).toEqual({ state: 'open', sessionId: 'new-1', userId: 'u1' });
    expect(denied).toEqual([{ topic: 'patient:p9', code: 'topic_denied' }]);
    // The session is open: the heartbeat runs; nothing is subscribed again.
    await eventually(() => hub.connections[0]?.received.some((x) => x.type === 'ping') === true, 'a ping');
    await sleep(50);
    expect(types(hub.connections[0])).toEqual(['hello']);
    expect(log.errors).toEqual([]);
    expect(log.statuses.map((s) => s.state)).toEqual(['open']);
  });

  it('reports a gap for a topic whose resume point the hub could not honour', async () => {
    const hub = await scriptedHub({
      onFrame(c, frame) {
        if (frame.type !== 'hello') return;
        const r = ready(c, frame);
        // A resume point from before a history store was wiped: a new epoch, nothing recovered.
        if (r.type === 'ready' && frame.topics?.[0]?.since)
          c.send({
            ...r,
            topics: [{ topic: 'user:u1', status: 'ok', recovered: false, position: { epoch: 'e2', seq: 0 } }],
          });
        else c.send(r);
      },
    });
    const client = f.client({ url: hub.url, token: 'tok:u1', topics: ['user:u1'] });
    const log = record(client);
    await eventually(() => client.status.state === 'open', 'open');
    hub.connections[0]?.socket.close(1012, 'restart');
    await eventually(() => log.gaps.length === 1, 'the gap');
    expect(log.gaps).toEqual([{ topic: 'user:u1', reason: 'history_exceeded' }]);
  });

  it('reports the auth_failed of a protocol 2 hub, and stops with 4401', async () => {
    const hub = await scriptedHub({
      onFrame(c, frame) {
        if (frame.type !== 'hello') return;
        c.send({
          type: 'error',
          code: 'auth_failed',
          message: 'authentication failed',
          ...(frame.ref && { ref: frame.ref }),
        });
        c.socket.close(4401, 'unauthorized');
      },
    });
    const client = f.client({ url: hub.url, token: 'wrong', topics: ['user:u1'] });
    const log = record(client);
    await eventually(() => client.status.state === 'closed', 'closed');
    expect(client.status).toMatchObject({ state: 'closed', reason: { code: 4401, fatal: true } });
    expect(errorCodes(log.errors)).toEqual(['auth_failed']);
    expect(hub.connections).toHaveLength(1);
  });

  it('refreshes the token after ready with an auth frame that has a ref', async () => {
    const hub = await protocol2Hub({ expiresAt: () => Date.now() + 1_500 });
    let calls = 0;
    const client = f.client({
      url: hub.url,
      token: () => `tok:u1:${++calls}`,
      topics: ['user:u1'],
      refreshLeewayMs: 1_000,
    });
    const log = record(client);
    await eventually(() => client.status.state === 'open', 'open');
    await eventually(() => types(hub.connections[0]).includes('auth'), 'the refresh');
    const [hello, auth] = frames(hub.connections[0]);
    expect(hello).toMatchObject({ type: 'hello', token: 'tok:u1:1', ref: 'h' });
    expect(auth).toEqual({ type: 'auth', token: 'tok:u1:2', ref: expect.stringMatching(/^refresh-\d+$/) });
    await sleep(50);
    expect(hub.connections).toHaveLength(1);
    expect(client.status.state).toBe('open');
    expect(log.errors).toEqual([]);
  });

  it('pings a transport it could fall back from, so that a slow ready does not make it fall back', async () => {
    const hub = await scriptedHub({
      onFrame(c, frame) {
        // As a protocol 2 hub: a ping is answered at once, the hello once the token and topics are checked.
        if (frame.type === 'ping') c.send({ type: 'pong', ...(frame.ts === undefined ? {} : { ts: frame.ts }) });
        else if (frame.type === 'hello') setTimeout(() => c.send(ready(c, frame)), 400);
      },
    });
    let sse = 0;
    class Sse {
      constructor() {
        sse++;
        throw new Error('not this transport');
      }
    }
    const client = f.client({
      url: hub.url,
      topics: ['user:u1'],
      SSE: Sse as unknown as WebSocketConstructor,
      fallbackTimeoutMs: 150,
    });
    await eventually(() => client.status.state === 'open', 'open');
    expect(sse).toBe(0);
    expect(hub.connections).toHaveLength(1);
    // The ping went with the hello (before it: the token is resolved first), well before the ready.
    expect(hub.connections[0]?.received.slice(0, 2).map((x) => x.type)).toEqual(['ping', 'hello']);
    expect(types(hub.connections[0])).toEqual(['hello']);
  });

  it('holds back subscribe and unsubscribe while the hello is unanswered, and catches up on ready', async () => {
    const hub = await protocol2Hub({ delayMs: 150 });
    const client = f.client({ url: hub.url, token: 'tok:u1', topics: ['user:u1', 'patient:p1'] });
    await eventually(() => types(hub.connections[0]).includes('hello'), 'the hello');
    client.subscribe('patient:p2');
    client.unsubscribe('patient:p1');
    client.subscribe('patient:p2', { presence: true });
    client.subscribe('user:u1', { presence: true });
    await sleep(20);
    expect(types(hub.connections[0])).toEqual(['hello']);
    await eventually(() => client.status.state === 'open', 'open');
    await eventually(() => types(hub.connections[0]).length === 3, 'the catch-up frames');
    expect(frames(hub.connections[0]).slice(1)).toEqual([
      { type: 'unsubscribe', topics: ['patient:p1'] },
      {
        type: 'subscribe',
        topics: [
          { topic: 'patient:p2', presence: true },
          // From the resume point of its `ready` result.
          { topic: 'user:u1', since: { epoch: 'e1', seq: 0 }, presence: true, unread: true },
        ],
      },
    ]);
    // Once open, at once.
    client.unsubscribe('patient:p2');
    await eventually(() => types(hub.connections[0]).length === 4, 'the unsubscribe');
    expect(frames(hub.connections[0])[3]).toEqual({ type: 'unsubscribe', topics: ['patient:p2'] });
  });

  it('puts topics added before the hello in it, and sends nothing more on ready', async () => {
    const hub = await protocol2Hub();
    const client = f.client({ url: hub.url, token: () => sleep(50).then(() => 'tok:u1'), topics: ['user:u1'] });
    client.subscribe('patient:p2');
    await eventually(() => client.status.state === 'open', 'open');
    await sleep(30);
    expect(frames(hub.connections[0])).toEqual([
      {
        type: 'hello',
        token: 'tok:u1',
        topics: [{ topic: 'user:u1', unread: true }, { topic: 'patient:p2' }],
        ref: 'h',
      },
    ]);
  });
});

describe('protocol 2: falling back on a hub that does not speak it', () => {
  it('goes on with auth and subscribe after welcome, and does not report the unknown_type of the hello', async () => {
    // The welcome comes after the hello went out (the old hub's upgrade-time authenticate took a while).
    const hub = await protocol1Hub({ welcomeAfterMs: 60 });
    const client = f.client({ url: hub.url, token: 'tok:u1', topics: ['user:u1', 'patient:p9'] });
    const log = record(client);
    await eventually(() => client.status.state === 'open', 'open');
    const c = hub.connections[0];
    expect(c?.url).toBe('/v1/ws/notifications?protocol=2');
    const items = [{ topic: 'user:u1', unread: true }, { topic: 'patient:p9' }];
    expect(frames(c)).toEqual([
      { type: 'hello', token: 'tok:u1', topics: items, ref: 'h' },
      { type: 'auth', token: 'tok:u1' },
      { type: 'subscribe', topics: items },
    ]);
    expect(client.status).toEqual({ state: 'open', sessionId: 'old-1', userId: 'u1' });
    await eventually(() => c?.received.some((x) => x.type === 'ping') === true, 'a ping');
    expect(log.errors).toEqual([]);
    expect(types(c)).toHaveLength(3);
  });

  it('sends no hello when the welcome came before the token: auth, then subscribe right behind it', async () => {
    const hub = await protocol1Hub();
    const client = f.client({
      url: hub.url,
      token: () => sleep(60).then(() => 'tok:u1'),
      topics: ['user:u1'],
    });
    const log = record(client);
    await eventually(() => client.status.state === 'open', 'open');
    expect(frames(hub.connections[0])).toEqual([
      { type: 'auth', token: 'tok:u1' },
      { type: 'subscribe', topics: [{ topic: 'user:u1', unread: true }] },
    ]);
    expect(log.errors).toEqual([]);
  });

  it('without a token, subscribes after the welcome of an upgrade that authenticated (cookie session)', async () => {
    const hub = await protocol1Hub({ upgradeAuthenticates: true, welcomeAfterMs: 30 });
    const client = tokenless({ url: hub.url, topics: ['user:u1'] });
    const log = record(client);
    await eventually(() => client.status.state === 'open', 'open');
    await eventually(() => types(hub.connections[0]).includes('subscribe'), 'the subscribe');
    expect(frames(hub.connections[0])).toEqual([
      { type: 'hello', topics: [{ topic: 'user:u1', unread: true }], ref: 'h' },
      { type: 'subscribe', topics: [{ topic: 'user:u1', unread: true }] },
    ]);
    expect(log.errors).toEqual([]);
  });

  it('without a token, stops with 4401 when the welcome says the upgrade did not authenticate', async () => {
    const hub = await protocol1Hub();
    const client = tokenless({ url: hub.url, topics: ['user:u1'] });
    const log = record(client);
    await eventually(() => client.status.state === 'closed', 'closed');
    expect(client.status).toMatchObject({ state: 'closed', reason: { code: 4401, fatal: true } });
    expect(errorCodes(log.errors)).toEqual(['auth_failed']);
    expect(types(hub.connections[0])).not.toContain('subscribe');
  });

  it('sends no subscribe ahead of the auth when topics change before the welcome', async () => {
    const hub = await protocol1Hub({ manual: true });
    const client = f.client({ url: hub.url, token: 'tok:u1', topics: ['user:u1', 'patient:p1'] });
    const log = record(client);
    await eventually(() => types(hub.connections[0]).includes('hello'), 'the hello');
    client.subscribe('patient:p2');
    client.unsubscribe('patient:p1');
    await sleep(20);
    expect(types(hub.connections[0])).toEqual(['hello']);
    const c = hub.connections[0] as Connection;
    hub.welcome(c);
    await eventually(() => client.status.state === 'open', 'open');
    expect(frames(c).slice(1)).toEqual([
      { type: 'auth', token: 'tok:u1' },
      { type: 'subscribe', topics: [{ topic: 'user:u1', unread: true }, { topic: 'patient:p2' }] },
    ]);
    // After the auth, at once (as protocol 1 always did).
    client.subscribe('patient:p3');
    await eventually(() => types(c).length === 4, 'the subscribe');
    expect(frames(c)[3]).toEqual({ type: 'subscribe', topics: [{ topic: 'patient:p3' }] });
    expect(log.errors).toEqual([]);
  });

  it('still reports other errors of an old hub', async () => {
    const hub = await protocol1Hub();
    const client = f.client({ url: hub.url, token: 'tok:u1', topics: ['user:u1'] });
    const log = record(client);
    await eventually(() => client.status.state === 'open', 'open');
    hub.connections[0]?.send({ type: 'error', code: 'bad_frame', message: 'ack: id: expected string', ref: 'k1' });
    await eventually(() => log.errors.length === 1, 'the error');
    expect(errorCodes(log.errors)).toEqual(['bad_frame']);
  });
});
