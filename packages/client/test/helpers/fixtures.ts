import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  type ClientEvents,
  type ClientNotification,
  type ClientOptions,
  type ClientStatus,
  createNotificationClient,
  type NotificationClient,
  type NotificationMap,
  type WebSocketConstructor,
} from '@wardcast/client';
import {
  type Authenticate,
  type HubEvents,
  NotificationHub,
  type NotificationHubOptions,
  type Priority,
} from '@wardcast/server';
import { afterEach } from 'vitest';
import WebSocket from 'ws';

/** `ws` as the client's WebSocket implementation. */
export const WS: WebSocketConstructor = WebSocket;

export const PATH = '/v1/ws/notifications';

/** Tokens in these tests are `tok:<userId>`. */
export function tokenFor(userId: string): string {
  return `tok:${userId}`;
}

/** Accepts `tok:<userId>` from the `auth` frame; anything else is rejected. */
export const testAuthenticate: Authenticate = ({ token }) =>
  token?.startsWith('tok:') && token.length > 4 ? { userId: token.slice(4) } : null;

/**
 * Client timings for tests: reconnects within a test, pings often enough to measure latency, and
 * a liveness deadline (ping interval + pong timeout) loose enough that a busy shared machine does
 * not make a healthy link look dead. Heartbeat tests set their own, shorter values.
 */
export const FAST: Partial<ClientOptions> = {
  pingIntervalMs: 250,
  pongTimeoutMs: 1_000,
  backoff: { initialDelayMs: 20, maxDelayMs: 200 },
};

/** A `custom` notification (any JSON object payload) to publish with id `id`. */
export function custom(id: string, payload: Record<string, unknown> = { id }, priority: Priority = 'routine') {
  return { kind: 'custom', priority, payload, id } as const;
}

type Recorded = { [K in keyof HubEvents]: HubEvents[K][0][] };

/** A hub on a real HTTP server on an ephemeral port, with every hub event recorded. */
export interface HubFixture {
  readonly hub: NotificationHub;
  readonly server: Server;
  readonly port: number;
  /** `ws://127.0.0.1:<port>/v1/ws/notifications` */
  readonly url: string;
  /** Every event the hub emitted since it started, by name. */
  readonly events: Recorded;
  /** Destroys every TCP connection to the server (upgraded ones too) without a closing handshake. */
  dropConnections(): void;
  /** Closes the hub and then the HTTP server. Safe to call twice. */
  close(): Promise<void>;
}

const EVENTS = [
  'connection',
  'authenticated',
  'disconnect',
  'subscribe',
  'unsubscribe',
  'denied',
  'ack',
  'read',
  'publish',
  'error',
] as const satisfies readonly (keyof HubEvents)[];

/** Listens on `port` (0: ephemeral) on 127.0.0.1. */
export function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Closes an HTTP server, cutting open connections. Resolves even if it was not listening. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * Starts a hub (test `authenticate`, short `closeTimeoutMs`) attached to a new server on `port`
 * (0: ephemeral). `beforeListen` runs after the hub exists but before any client can reach it.
 */
export async function startHub(
  options: Partial<NotificationHubOptions> = {},
  port = 0,
  beforeListen?: (hub: NotificationHub) => Promise<void>,
): Promise<HubFixture> {
  const hub = new NotificationHub({ authenticate: testAuthenticate, closeTimeoutMs: 500, ...options });
  const events = Object.fromEntries(EVENTS.map((e) => [e, []])) as unknown as Recorded;
  for (const name of EVENTS) {
    hub.on(name, ((info: never) => {
      (events[name] as unknown[]).push(info);
    }) as never);
  }
  const server = createServer((_req, res) => {
    res.writeHead(404);
    res.end();
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  hub.attach(server);
  await beforeListen?.(hub);
  const actual = await listen(server, port);
  let closing: Promise<void> | undefined;
  return {
    hub,
    server,
    port: actual,
    url: `ws://127.0.0.1:${actual}${PATH}`,
    events,
    dropConnections() {
      for (const socket of sockets) socket.destroy();
    },
    close() {
      closing ??= (async () => {
        await hub.close();
        await closeServer(server);
      })();
      return closing;
    },
  };
}

/** What a test client recorded. */
export interface ClientLog<M extends NotificationMap = NotificationMap> {
  readonly notifications: ClientNotification<M>[];
  readonly statuses: ClientStatus[];
  readonly gaps: ClientEvents['gap'][0][];
  readonly receipts: ClientEvents['receipt'][0][];
  readonly errors: ClientEvents['error'][0][];
}

/** Records every event of a client. */
export function record<M extends NotificationMap>(client: NotificationClient<M>): ClientLog<M> {
  const log: ClientLog<M> = { notifications: [], statuses: [], gaps: [], receipts: [], errors: [] };
  client.on('notification', (n) => log.notifications.push(n));
  client.on('status', (s) => log.statuses.push(s));
  client.on('gap', (g) => log.gaps.push(g));
  client.on('receipt', (r) => log.receipts.push(r));
  client.on('error', (e) => log.errors.push(e));
  return log;
}

/** Everything a test creates, freed after each test: clients first, then hubs and servers. */
export interface Fixtures {
  hub(
    options?: Partial<NotificationHubOptions>,
    port?: number,
    beforeListen?: (hub: NotificationHub) => Promise<void>,
  ): Promise<HubFixture>;
  /** A client as `u1` over `ws` with {@link FAST} timings; `options` override. */
  client<M extends NotificationMap = NotificationMap>(
    options: Partial<ClientOptions> & Pick<ClientOptions, 'url'>,
  ): NotificationClient<M>;
  /** Runs `fn` at cleanup (before the fixtures created earlier are freed). */
  defer(fn: () => unknown): void;
}

/** Call at the top of a test file: returns factories whose products are freed after each test. */
export function useFixtures(): Fixtures {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (let fn = cleanups.pop(); fn; fn = cleanups.pop()) await fn();
  });
  return {
    async hub(options, port, beforeListen) {
      const fixture = await startHub(options, port, beforeListen);
      cleanups.push(() => fixture.close());
      return fixture;
    },
    client<M extends NotificationMap = NotificationMap>(
      options: Partial<ClientOptions> & Pick<ClientOptions, 'url'>,
    ): NotificationClient<M> {
      const client = createNotificationClient<M>({ WebSocket: WS, token: tokenFor('u1'), ...FAST, ...options });
      cleanups.push(() => client.close());
      return client;
    },
    defer(fn) {
      cleanups.push(fn);
    },
  };
}

/** Polls `condition` every 5 ms until it holds; fails naming `what` after `timeoutMs`. */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The `state` of each status, in order. */
export function states(log: { readonly statuses: readonly ClientStatus[] }): string[] {
  return log.statuses.map((s) => s.state);
}
