import {
  type ClientOptions,
  createNotificationClient,
  type NotificationClient,
  type WebSocketConstructor,
} from '@wardcast/client';
import { type Authenticate, MemoryHistoryStore, type UpgradeRequestLike } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { custom, eventually, FAST, record, useFixtures } from './helpers/fixtures.js';

const f = useFixtures();

/** The session cookie's value, as a server-side session store would look it up. */
function sessionCookie(request: UpgradeRequestLike): string | undefined {
  const raw = request.headers.cookie;
  const header = typeof raw === 'string' ? raw : raw?.join('; ');
  for (const part of header?.split(';') ?? []) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === 'sid') return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Sessions `s-<userId>` are valid; the upgrade request's cookie decides, there is no in-band token. */
const cookieAuthenticate: Authenticate = ({ request, token }) => {
  if (token !== undefined) return null;
  const sid = sessionCookie(request);
  return sid?.startsWith('s-') ? { userId: sid.slice(2) } : null;
};

/**
 * A `ws` client that sends `Cookie: sid=<sid>` with its upgrade, as a browser sends its session
 * cookie, and records the type of every frame it sends.
 */
function cookieSocket(sid: string | undefined) {
  const sent: string[] = [];
  /** Every frame sent but the heartbeat's `ping`. */
  const frames = () => sent.filter((type) => type !== 'ping');
  class WithCookie extends WebSocket {
    constructor(url: string) {
      super(url, sid === undefined ? {} : { headers: { cookie: `theme=dark; sid=${sid}` } });
    }
    override send(data: unknown, ...rest: unknown[]): void {
      sent.push((JSON.parse(String(data)) as { type: string }).type);
      (super.send as (...args: unknown[]) => void)(data, ...rest);
    }
  }
  return { WebSocket: WithCookie as unknown as WebSocketConstructor, sent, frames };
}

/** A client without a `token` (freed after the test). */
function cookieClient(options: Omit<ClientOptions, 'token'>): NotificationClient {
  const client = createNotificationClient({ ...FAST, ...options });
  f.defer(() => client.close());
  return client;
}

describe('a client without a token: the upgrade request authenticates (cookie session)', () => {
  it('sends one hello without a token (no auth frame, no subscribe), and receives what is published', async () => {
    const server = await f.hub({ authenticate: cookieAuthenticate });
    const socket = cookieSocket('s-u7');
    const client = cookieClient({ url: server.url, topics: ['user:u7'], WebSocket: socket.WebSocket });
    const log = record(client);
    await eventually(() => client.status.state === 'open', 'open');
    expect(client.status).toMatchObject({ state: 'open', userId: 'u7' });
    await eventually(() => server.hub.stats().subscriptions === 1, 'subscribed');
    expect(server.events.subscribe.map((e) => [e.userId, e.topic])).toEqual([['u7', 'user:u7']]);
    expect(socket.frames()).toEqual(['hello']);
    await server.hub.publish('user:u7', custom('n1'));
    await eventually(() => log.notifications.length === 1, 'the notification');
    expect(log.notifications[0]?.id).toBe('n1');
    expect(log.errors).toEqual([]);
  });

  it('stops with 4401 and auth_failed when the upgrade did not authenticate; nothing is subscribed', async () => {
    for (const sid of [undefined, 'forged']) {
      for (const topics of [[], ['user:u7']]) {
        const server = await f.hub({ authenticate: cookieAuthenticate });
        const socket = cookieSocket(sid);
        const client = cookieClient({ url: server.url, topics, WebSocket: socket.WebSocket });
        const log = record(client);
        await eventually(() => client.status.state === 'closed', `the client stopped (${sid}, ${topics.length})`);
        expect(client.status).toMatchObject({ state: 'closed', reason: { code: 4401, fatal: true } });
        expect(log.errors.map((e) => e.code)).toContain('auth_failed');
        expect(server.events.subscribe).toHaveLength(0);
        expect(socket.sent).not.toContain('auth');
      }
    }
  });

  it('reconnects with the cookie when the hub ends an expiring session with 4419', async () => {
    // Each session lasts 300 ms (no grace): the browser's cookie is still good at the reconnect.
    const authenticate: Authenticate = (ctx) => {
      const principal = cookieAuthenticate(ctx);
      return principal && { ...principal, expiresAt: Date.now() + 300 };
    };
    const server = await f.hub({ authenticate, tokenExpiryGraceMs: 1 });
    const socket = cookieSocket('s-u7');
    const client = cookieClient({ url: server.url, topics: ['user:u7'], WebSocket: socket.WebSocket });
    const log = record(client);
    await eventually(() => server.events.subscribe.length >= 2, 'subscribed again after the expiry');
    expect(
      log.statuses.some((s) => s.state === 'reconnecting' && s.lastClose.code === 4419),
      JSON.stringify(log.statuses),
    ).toBe(true);
    expect(socket.frames().filter((t) => t !== 'hello')).toEqual([]);
    await eventually(() => client.status.state === 'open', 'open again');
  });

  it('reconnects with the cookie and resumes after the hub restarts, exactly once and in order', async () => {
    const store = new (class extends MemoryHistoryStore {
      override close(): void {}
    })();
    const first = await f.hub({ authenticate: cookieAuthenticate, history: store });
    const socket = cookieSocket('s-u7');
    const client = cookieClient({ url: first.url, topics: ['user:u7'], WebSocket: socket.WebSocket });
    const log = record(client);
    await eventually(() => first.events.subscribe.length === 1, 'subscribed');
    await first.hub.publish('user:u7', custom('n1'));
    await eventually(() => log.notifications.length === 1, 'n1');
    await first.close();
    await eventually(() => client.status.state === 'reconnecting', 'reconnecting');
    const second = await f.hub({ authenticate: cookieAuthenticate, history: store }, first.port, async (hub) => {
      await hub.publish('user:u7', custom('n2'));
    });
    await eventually(() => second.events.subscribe.length === 1, 'resubscribed');
    expect(second.events.subscribe[0]).toMatchObject({ userId: 'u7', recovered: true });
    await eventually(() => log.notifications.length === 2, 'n2');
    expect(log.notifications.map((n) => n.id)).toEqual(['n1', 'n2']);
    expect(socket.frames()).toEqual(['hello', 'hello']);
    expect(log.gaps).toEqual([]);
  });
});
