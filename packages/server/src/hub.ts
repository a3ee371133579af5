import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { HubCore } from './core/hub-core.js';
import type { HubOptions } from './core/options.js';
import { writeRefusal } from './ws/http-refusal.js';
import { WsTransport, type WsTransportOptions } from './ws/upgrade.js';

/**
 * Options of {@link NotificationHub.attach}.
 *
 * @category Hub
 */
export interface AttachOptions {
  /**
   * Path the hub answers upgrades on. Upgrades on other paths are left to the server's other
   * `upgrade` listeners; when there is none (checked once the current listeners ran, so one added
   * meanwhile counts), the hub answers them with HTTP 404 and closes the socket.
   * @default '/v1/ws/notifications'
   */
  readonly path?: string;
}

/**
 * Default path of {@link NotificationHub.attach}.
 *
 * @category Hub
 */
export const DEFAULT_PATH = '/v1/ws/notifications';

/** `upgrade` listeners added by `attach()`, of any hub: not "other listeners" for each other. */
const ownListeners = new WeakSet<(...args: never[]) => void>();
/** Upgrade sockets an `attach()` listener took (its path) or answered (no listener's path). */
const claimed = new WeakSet<Duplex>();
/**
 * `attach()` listeners in place, of any hub. With only one, no other listener can look at a socket
 * it took, and it does not mark them `claimed` (a `WeakSet` entry per connect, rehashed as it grows).
 */
let attached = 0;

function pathOf(url: string | undefined): string {
  const value = url ?? '/';
  const q = value.indexOf('?');
  return q === -1 ? value : value.slice(0, q);
}

/**
 * Options of `new NotificationHub(options)`: the hub's options plus the `ws` transport's.
 *
 * @category Hub
 */
export interface NotificationHubOptions extends HubOptions, WsTransportOptions {}

/**
 * The Wardcast hub: authenticates WebSocket connections, authorizes topic subscriptions, and
 * delivers published notifications in order, with replay for clients that reconnect.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { NotificationHub } from '@wardcast/server';
 *
 * const hub = new NotificationHub({
 *   authenticate: async ({ request, token }) => verifyJwt(token ?? bearer(request.headers.authorization)),
 *   authorize: (principal, topic) => topic === `user:${principal.userId}` || canSeePatient(principal, topic),
 *   allowedOrigins: ['https://portal.example-hospital.org'],
 * });
 * const server = createServer(app);
 * hub.attach(server); // ws://host/v1/ws/notifications
 * server.listen(3000);
 *
 * await hub.notify.systemAlert({ severity: 'warning', message: 'EHR maintenance at 22:00' });
 * await hub.publish('patient:p9', { kind: 'custom', priority: 'urgent', payload: { note: 'Bed moved to 4B' } });
 * ```
 *
 * @category Hub
 */
export class NotificationHub extends HubCore {
  readonly #transport: WsTransport;
  #closing: Promise<void> | undefined;

  constructor(options: NotificationHubOptions) {
    super(options);
    this.#transport = new WsTransport(this, options);
  }

  /**
   * Listens for WebSocket upgrades on `server` at `options.path`. Returns a function that
   * stops listening (calling it again does nothing). Call it once per server; several hubs may
   * listen on one server, each on its own path.
   *
   * Upgrades on other paths are left alone while the server has another `upgrade` listener
   * (Next.js, another WebSocket server). When it has none, nobody else would ever answer them,
   * so the hub answers HTTP 404 and closes the socket (a `refused` event with reason `path`).
   * The check runs after the listeners of the current request (`setImmediate`), so a listener
   * added meanwhile, like the one Next.js adds on its first request, counts.
   */
  attach(server: Server, options: AttachOptions = {}): () => void {
    const path = options.path ?? DEFAULT_PATH;
    const listener = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      if (pathOf(req.url) === path) {
        if (attached > 1) claimed.add(socket);
        this.handleUpgrade(req, socket, head);
        return;
      }
      setImmediate(() => this.#unclaimed(server, req, socket));
    };
    ownListeners.add(listener);
    server.on('upgrade', listener);
    attached++;
    let detached = false;
    return (): void => {
      if (detached) return;
      detached = true;
      attached--;
      server.off('upgrade', listener);
    };
  }

  /**
   * Handles one upgrade request yourself (for routers that dispatch upgrades by path).
   * Refuses before upgrading, as {@link HubCore.admit} decides: a disallowed `Origin` with HTTP
   * 403, the per-address limits with 429 and the connection limit or a closed hub with 503.
   *
   * @example
   * ```ts
   * server.on('upgrade', (req, socket, head) => {
   *   if (req.url?.startsWith('/v1/ws/notifications')) hub.handleUpgrade(req, socket, head);
   * });
   * ```
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#transport.handleUpgrade(req, socket, head);
  }

  /**
   * Closes the hub (see {@link HubCore.close}). Servers it is attached to stay attached, so
   * upgrade requests that arrive afterwards get HTTP 503 instead of falling through to the app;
   * call the function `attach()` returned to detach. Calling it again returns the same promise.
   */
  override close(): Promise<void> {
    this.#closing ??= super.close().then(() => this.#transport.close());
    return this.#closing;
  }

  /** An upgrade on a path no `attach()` listener owns: 404 when nobody else listens, else nothing. */
  #unclaimed(server: Server, req: IncomingMessage, socket: Duplex): void {
    if (claimed.has(socket) || socket.destroyed) return;
    if (server.listeners('upgrade').some((l) => !ownListeners.has(l as (...args: never[]) => void))) return;
    claimed.add(socket);
    socket.on('error', () => {});
    const request = { headers: req.headers, url: req.url ?? '/', remoteAddress: req.socket.remoteAddress };
    const refusal = this.refuseUpgrade(this.clientRequest(request), 'path', 404, 'not found');
    writeRefusal(socket, refusal.status, refusal.message);
  }
}
