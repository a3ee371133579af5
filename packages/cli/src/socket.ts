import type { IncomingMessage } from 'node:http';
import type { WebSocketConstructor } from '@wardcast/client';
import WebSocket from 'ws';
import { printable } from './format.js';

/** Longest part of a refused upgrade's body kept for messages, characters. */
const BODY_MAX = 100;
/** How long to wait for the body of a refused upgrade before giving up on it, ms. */
const BODY_WAIT_MS = 1_000;

/** Why the last socket never opened, as far as `ws` could tell. */
export type HandshakeFailure =
  /**
   * The server answered the upgrade with another HTTP status: 403 `origin not allowed`, 503
   * `shutting down` or `server busy`, 429, 404, ... `body` is the start of its text, trimmed.
   */
  | { readonly kind: 'http'; readonly status: number; readonly body: string; readonly retryAfter: string | undefined }
  /** No answer: refused, unknown host, reset, timeout, TLS (`code` is the system or `ws` code, if any). */
  | { readonly kind: 'network'; readonly code: string | undefined; readonly message: string };

/**
 * Remembers why the most recent socket failed before it opened. The client only sees a `1006`
 * close in that case; the CLI needs the cause to say what went wrong.
 */
export class HandshakeProbe {
  #failure: HandshakeFailure | undefined;

  /** The failure of the most recent socket, if it failed before opening. */
  get failure(): HandshakeFailure | undefined {
    return this.#failure;
  }

  /** A new socket is being opened. */
  reset(): void {
    this.#failure = undefined;
  }

  /** The server refused the upgrade with this answer. */
  refused(failure: HandshakeFailure & { kind: 'http' }): void {
    this.#failure = failure;
  }

  /** The socket emitted `error` (after a refused upgrade too: that answer says more, and is kept). */
  record(err: Error & { code?: unknown }): void {
    if (this.#failure?.kind === 'http') return;
    const code = typeof err.code === 'string' ? err.code : aggregateCode(err);
    this.#failure = { kind: 'network', code, message: err.message };
  }
}

/** The first system error code in an `AggregateError` (Node's happy-eyeballs connect). */
function aggregateCode(err: Error): string | undefined {
  const errors = (err as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return undefined;
  for (const e of errors) {
    const code = (e as { code?: unknown } | null)?.code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** Options of {@link cliWebSocket}. */
export interface CliSocketOptions {
  /** `Origin` header of the upgrade request; none when `undefined`. */
  readonly origin: string | undefined;
  /** How long the opening handshake may take, ms. */
  readonly handshakeTimeoutMs: number;
}

/**
 * A `ws` constructor for the client that sends `--origin` and reports to `probe` why a socket
 * failed to open.
 */
export function cliWebSocket(probe: HandshakeProbe, options: CliSocketOptions): WebSocketConstructor {
  return class CliWebSocket extends WebSocket {
    constructor(url: string) {
      super(url, {
        handshakeTimeout: options.handshakeTimeoutMs,
        ...(options.origin === undefined ? {} : { origin: options.origin }),
      });
      probe.reset();
      this.on('error', (err: Error) => probe.record(err));
      // With a listener, ws leaves the refused request to us: read the start of the answer, then end it.
      this.on('unexpected-response', (_req, res: IncomingMessage) => {
        let body = '';
        let ended = false;
        const end = (): void => {
          if (ended) return;
          ended = true;
          clearTimeout(timer);
          const retryAfter = res.headers['retry-after'];
          probe.refused({
            kind: 'http',
            status: res.statusCode ?? 0,
            body: printable(body).trim().slice(0, BODY_MAX),
            retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
          });
          res.destroy();
          this.terminate();
        };
        const timer = setTimeout(end, BODY_WAIT_MS);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          if (body.length > BODY_MAX * 4) end();
        });
        res.on('end', end);
        res.on('error', end);
        res.on('close', end);
      });
    }
  };
}
