/**
 * Runs one snippet for docs/test/snippets.test.ts: `node --import tsx runner.ts <snippet>`.
 * Gives the placeholders their values, moves servers listening on the docs' fixed port 3000 to
 * a free port, and tells the parent (IPC) each port listened on and when the snippet's module
 * has been evaluated (its top-level awaits included) and its servers listen.
 */
import { Server } from 'node:net';
import { pathToFileURL } from 'node:url';
import './placeholders.js';

const send = (message: object) => process.send?.(message);
const listening: Promise<void>[] = [];
const listen = Server.prototype.listen as (this: Server, ...args: unknown[]) => Server;
Server.prototype.listen = function (this: Server, ...args: unknown[]): Server {
  if (args[0] === 3000) args[0] = 0;
  else if (typeof args[0] === 'object' && args[0] !== null && (args[0] as { port?: unknown }).port === 3000) {
    args[0] = { ...args[0], port: 0 };
  }
  listening.push(
    new Promise<void>((resolve, reject) => {
      this.once('error', reject);
      this.once('listening', () => {
        const address = this.address();
        if (typeof address === 'object' && address !== null) send({ type: 'listening', port: address.port });
        resolve();
      });
    }),
  );
  return listen.apply(this, args);
} as typeof Server.prototype.listen;

const snippet = process.argv[2];
if (snippet === undefined) throw new Error('usage: runner.ts <snippet.ts>');
await import(pathToFileURL(snippet).href);
await Promise.all(listening);
send({ type: 'evaluated' });
