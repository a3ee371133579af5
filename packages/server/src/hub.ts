import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { HubCore } from './core/hub-core.js';
import type { HubOptions } from './core/options.js';
import { WsTransport, type WsTransportOptions } from './ws/upgrade.js';

/** Options of {@link NotificationHub.attach}. */
export interface AttachOptions {
  /**
   * Path the hub answers upgrades on; other upgrade requests are left to other listeners.
   * @default '/v1/ws/notifications'
   */
  readonly path?: string;
}

/** Default path of {@link NotificationHub.attach}. */
export const DEFAULT_PATH = '/v1/ws/notifications';

/** Options of `new NotificationHub(options)`: the hub's options plus the `ws` transport's. */
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
 */
export class NotificationHub extends HubCore {
  readonly #transport: WsTransport;

  constructor(options: NotificationHubOptions) {
    super(options);
    this.#transport = new WsTransport(this, options);
  }

  /**
   * Listens for WebSocket upgrades on `server` at `options.path`. Returns a function that
   * stops listening. Call it once per server.
   */
  attach(server: Server, options: AttachOptions = {}): () => void {
    const path = options.path ?? DEFAULT_PATH;
    const listener = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      if ((q === -1 ? url : url.slice(0, q)) !== path) return;
      this.handleUpgrade(req, socket, head);
    };
    server.on('upgrade', listener);
    return (): void => {
      server.off('upgrade', listener);
    };
  }

  /**
   * Handles one upgrade request yourself (for routers that dispatch upgrades by path).
   * Rejects a disallowed `Origin` with HTTP 403 before upgrading.
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
   * call the function `attach()` returned to detach.
   */
  override async close(): Promise<void> {
    await super.close();
    await this.#transport.close();
  }
}
