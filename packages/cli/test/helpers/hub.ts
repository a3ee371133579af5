import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Authenticate,
  createNodeHandler,
  type HttpHandlerOptions,
  type HubEvents,
  NotificationHub,
  type NotificationHubOptions,
} from '@wardcast/server';
import { afterEach } from 'vitest';

/** Every test token starts with this, so the runner can check no output holds one. */
export const TOKEN_PREFIX = 'tok_SECRET_';

/** The token the test hubs accept for `userId`. */
export const tokenFor = (userId: string): string => `${TOKEN_PREFIX}${userId}`;

/** Accepts `tok_SECRET_<user>` from the `auth` frame or an `Authorization: Bearer` header. */
const authenticate: Authenticate = ({ request, token }) => {
  const header = request.headers.authorization;
  const value = token ?? (typeof header === 'string' ? /^Bearer (.+)$/.exec(header)?.[1] : undefined);
  if (value === undefined || !value.startsWith(TOKEN_PREFIX) || value.length === TOKEN_PREFIX.length) return null;
  return { userId: value.slice(TOKEN_PREFIX.length) };
};

/** Options of {@link Hubs.start}. */
export interface HubStartOptions extends Partial<NotificationHubOptions> {
  /** Options of the HTTP endpoints. @default { enableTestNotifications: true } */
  readonly http?: HttpHandlerOptions;
  /** Listen on this port (a restart on the same address). @default 0 */
  readonly port?: number;
}

/** A hub attached to a real HTTP server on loopback, serving the HTTP endpoints too. */
export interface HubFixture {
  readonly hub: NotificationHub;
  readonly server: Server;
  readonly port: number;
  /** `ws://127.0.0.1:<port>/v1/ws/notifications` */
  readonly wsUrl: string;
  /** `http://127.0.0.1:<port>` */
  readonly httpUrl: string;
  /** Closes the hub, then the server. */
  close(): Promise<void>;
}

/** Starts hubs for one test and closes them afterwards. */
export class Hubs {
  readonly #open: HubFixture[] = [];

  async start(options: HubStartOptions = {}): Promise<HubFixture> {
    const { http = { enableTestNotifications: true }, port = 0, ...hubOptions } = options;
    const hub = new NotificationHub({ authenticate, closeTimeoutMs: 1_000, ...hubOptions });
    const handler = createNodeHandler(hub, http);
    const server = createServer((req, res) => handler(req, res));
    hub.attach(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const bound = (server.address() as AddressInfo).port;
    let closed: Promise<void> | undefined;
    const fixture: HubFixture = {
      hub,
      server,
      port: bound,
      wsUrl: `ws://127.0.0.1:${bound}/v1/ws/notifications`,
      httpUrl: `http://127.0.0.1:${bound}`,
      close: () => {
        closed ??= (async () => {
          await hub.close();
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          });
        })();
        return closed;
      },
    };
    this.#open.push(fixture);
    return fixture;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.#open.splice(0).map((f) => f.close()));
  }
}

/** A {@link Hubs} cleaned up after each test of the calling file. */
export function useHubs(): Hubs {
  const hubs = new Hubs();
  afterEach(async () => {
    await hubs.cleanup();
  });
  return hubs;
}

/**
 * Resolves with the first `event` of `hub` that matches; rejects after `timeoutMs`. Call it before
 * the action that causes the event.
 */
export function nextEvent<K extends keyof HubEvents>(
  hub: NotificationHub,
  event: K,
  predicate: (payload: HubEvents[K][0]) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<HubEvents[K][0]> {
  return new Promise((resolve, reject) => {
    const off = hub.on(event, ((...args: HubEvents[K]) => {
      if (!predicate(args[0])) return;
      clearTimeout(timer);
      off();
      resolve(args[0]);
    }) as never);
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no "${String(event)}" event within ${timeoutMs} ms`));
    }, timeoutMs);
  });
}

/** A port nothing listens on: one a server just gave back. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
