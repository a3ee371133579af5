import type { HubCore } from '../core/hub-core.js';
import { createNodeHandler, type NodeHandler } from './node.js';
import type { HttpHandlerOptions } from './types.js';

/**
 * The Wardcast HTTP endpoints as Express middleware (Express 4 and 5): mount it with
 * `app.use(...)`. It answers the Wardcast endpoints and calls `next()` for everything else.
 * Express itself is not imported: this is the {@link createNodeHandler} function, which Express
 * accepts as a router-level middleware. Paths are matched against `req.originalUrl`, so mount it
 * without a path (set `basePath` to move the endpoints). A body parsed by an earlier
 * `express.json()` is used as is (its own `limit` applies first).
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { createExpressRouter, MemoryInbox, NotificationHub } from '@wardcast/server';
 *
 * const hub = new NotificationHub({ authenticate, inbox: new MemoryInbox() });
 * const app = express();
 * app.use(createExpressRouter(hub, { enableTestNotifications: process.env.NODE_ENV !== 'production' }));
 * hub.attach(app.listen(3000));
 * ```
 *
 * @category HTTP endpoints
 */
export function createExpressRouter(hub: HubCore, options: HttpHandlerOptions = {}): NodeHandler {
  return createNodeHandler(hub, options);
}
