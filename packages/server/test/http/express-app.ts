import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createExpressRouter, type HttpHandlerOptions, type HubCore } from '@wardcast/server';
import express from 'express';

/** An Express app serving the Wardcast endpoints, listening on an ephemeral port. */
export interface ExpressApp {
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  /** Closes the server and its connections (not the hub). */
  stop(): Promise<void>;
}

/**
 * Starts an Express 5 app with `createExpressRouter(hub, options)` mounted, plus an app route of
 * its own at `GET /app` (answers `{ app: true }`), so tests can see other paths pass through.
 */
export async function listenExpress(hub: HubCore, options: HttpHandlerOptions = {}): Promise<ExpressApp> {
  const app = express();
  app.use(createExpressRouter(hub, options));
  app.get('/app', (_req, res) => {
    res.json({ app: true });
  });
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
