import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Authenticate,
  type HubEvents,
  NotificationHub,
  type NotificationHubOptions,
  type Principal,
} from '@wardcast/server';
import { afterEach } from 'vitest';
import type WebSocket from 'ws';
import { TestClient, WAIT_MS } from './client.js';

/** Tokens in tests look like this, so leak checks can search for the prefix. */
export const TOKEN_PREFIX = 'tok_SECRET_';

/** The token the default test `authenticate` accepts for `userId`. */
export function tokenFor(userId: string): string {
  return `${TOKEN_PREFIX}${userId}`;
}

/** Reads a `Bearer` token from an `authorization` header value. */
export function bearer(header: string | readonly string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value !== 'string') return undefined;
  const match = /^Bearer (.+)$/.exec(value);
  return match?.[1];
}

/** The principal a test token stands for, or `null`. */
export function principalOf(token: string | undefined): Principal | null {
  if (token === undefined || !token.startsWith(TOKEN_PREFIX)) return null;
  const userId = token.slice(TOKEN_PREFIX.length);
  return userId === '' ? null : { userId };
}

/**
 * The test `authenticate`: a token from the `auth` frame, or else from the `authorization`
 * header, of the form `tok_SECRET_<userId>`.
 */
export const testAuthenticate: Authenticate = ({ request, token }) =>
  principalOf(token ?? bearer(request.headers.authorization));

/** A hub on a real HTTP server listening on an ephemeral port. */
export interface Fixture {
  readonly hub: NotificationHub;
  readonly server: Server;
  readonly port: number;
  /** `ws://127.0.0.1:<port>/v1/ws/notifications` */
  readonly url: string;
}

/** Options of {@link Harness.start}. */
export interface StartOptions extends Partial<NotificationHubOptions> {
  /**
   * How upgrades reach the hub: `attach()` (default), `handleUpgrade()` from an own listener, or
   * not at all (the test attaches itself).
   */
  readonly mount?: 'attach' | 'handleUpgrade' | 'none';
}

/** Options of {@link Harness.connect}. */
export interface ConnectOptions extends WebSocket.ClientOptions {
  /** Sent as `authorization: Bearer <token>`. */
  readonly token?: string;
  /** Name used in failure messages. */
  readonly label?: string;
}

const PATH = '/v1/ws/notifications';

/**
 * Creates hubs, servers and clients for one test and frees all of them afterwards. Call
 * {@link useHarness} at the top of a test file (or `describe`) to get one.
 */
export class Harness {
  readonly #fixtures: Fixture[] = [];
  readonly #clients: TestClient[] = [];
  readonly #cleanups: (() => void)[] = [];

  /** Starts a hub (test `authenticate`, short `closeTimeoutMs`) on a new server on port 0. */
  async start(options: StartOptions = {}): Promise<Fixture> {
    const { mount = 'attach', ...hubOptions } = options;
    const hub = new NotificationHub({ authenticate: testAuthenticate, closeTimeoutMs: 1_000, ...hubOptions });
    const server = createServer((_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    });
    if (mount === 'attach') hub.attach(server);
    else if (mount === 'handleUpgrade')
      server.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const fixture: Fixture = { hub, server, port, url: `ws://127.0.0.1:${port}${PATH}` };
    this.#fixtures.push(fixture);
    return fixture;
  }

  /** Opens a client (not waiting for anything). */
  connect(fixture: Fixture, options: ConnectOptions = {}): TestClient {
    const { token, label, headers, ...rest } = options;
    const allHeaders: Record<string, string> = { ...headers };
    if (token !== undefined) allHeaders.authorization = `Bearer ${token}`;
    const client = new TestClient(fixture.url, { ...rest, headers: allHeaders }, label);
    this.#clients.push(client);
    return client;
  }

  /** Opens a client authenticated by header as `userId` and waits for its `authenticated` frame. */
  async connectAs(fixture: Fixture, userId: string, options: ConnectOptions = {}): Promise<TestClient> {
    const client = this.connect(fixture, { token: tokenFor(userId), label: userId, ...options });
    await client.nextFrame('authenticated');
    return client;
  }

  /** Opens a client as `userId` and subscribes it to `topics` (all of which must be accepted). */
  async subscriber(fixture: Fixture, userId: string, topics: readonly string[]): Promise<TestClient> {
    const client = await this.connectAs(fixture, userId);
    const results = await client.subscribe(topics);
    for (const r of results) {
      if (r.status !== 'ok') throw new Error(`${userId}: subscription to ${r.topic} was ${r.status} (${r.code})`);
    }
    return client;
  }

  /** Listens to a hub event until the end of the test; returns the recorded payloads. */
  record<K extends keyof HubEvents>(fixture: Fixture, event: K): HubEvents[K][0][] {
    const seen: HubEvents[K][0][] = [];
    const off = fixture.hub.on(event, ((...args: HubEvents[K]) => {
      seen.push(args[0]);
    }) as never);
    this.#cleanups.push(off);
    return seen;
  }

  /** Frees everything this harness created: clients first, then hubs, then servers. */
  async cleanup(): Promise<void> {
    for (const off of this.#cleanups.splice(0)) off();
    for (const client of this.#clients.splice(0)) client.ws.terminate();
    const fixtures = this.#fixtures.splice(0);
    await Promise.all(fixtures.map((f) => f.hub.close()));
    await Promise.all(
      fixtures.map(
        (f) =>
          new Promise<void>((resolve) => {
            f.server.close(() => resolve());
            f.server.closeAllConnections();
          }),
      ),
    );
  }
}

/** A {@link Harness} whose `cleanup` runs after each test of the calling file or `describe`. */
export function useHarness(): Harness {
  const harness = new Harness();
  afterEach(async () => {
    await harness.cleanup();
  });
  return harness;
}

/** Resolves with the first `event` payload matching `predicate`; rejects after `timeoutMs`. */
export function waitForEvent<K extends keyof HubEvents>(
  hub: NotificationHub,
  event: K,
  predicate: (payload: HubEvents[K][0]) => boolean = () => true,
  timeoutMs = WAIT_MS,
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

/** Polls `condition` until it holds; rejects with `what` after `timeoutMs`. */
export async function eventually(condition: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Yields to the event loop once (lets I/O callbacks run). */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
