import { type CloseInfo, createNotificationClient, defaultShouldRetry, type StorageLike } from '@wardcast/client';
import { closeCodes, isValidTopic, type PhiLevel, type StreamPosition } from '@wardcast/protocol';
import { CliError, ExitCode } from './errors.js';
import { formatLine, printable } from './format.js';
import { NETWORK_HINTS } from './http.js';
import type { Output } from './io.js';
import { cliWebSocket, type HandshakeFailure, HandshakeProbe } from './socket.js';
import { displayUrl } from './urls.js';

/** Resolved flags of `wardcast listen`. */
export interface ListenOptions {
  readonly url: URL;
  readonly token: string;
  /** Empty: the token user's own `user:<id>` topic, subscribed once the hub says who that is. */
  readonly topics: readonly string[];
  /** Resume points by topic (`--since`). */
  readonly since: ReadonlyMap<string, StreamPosition>;
  readonly json: boolean;
  readonly phi: PhiLevel | undefined;
  readonly origin: string | undefined;
  readonly reconnect: boolean;
  readonly timeoutMs: number;
}

/** Key prefix of the in-memory storage that hands `--since` positions to the client. */
const STORAGE_KEY = 'wardcast-cli';

/** The client reads resume points from storage when it starts: this storage holds `--since`. */
function sinceStorage(since: ReadonlyMap<string, StreamPosition>): StorageLike | undefined {
  if (since.size === 0) return undefined;
  const saved = JSON.stringify(Object.fromEntries(since));
  return {
    getItem: (key) => (key === `${STORAGE_KEY}:positions` ? saved : null),
    setItem: () => {},
  };
}

/** `4401 Unauthorized: bad token`: a close as people read it. */
export function describeClose(close: CloseInfo): string {
  const name = (closeCodes as Readonly<Record<number, { name: string } | undefined>>)[close.code]?.name;
  const reason = printable(close.reason).trim();
  return `${close.code}${name === undefined ? '' : ` ${name}`}${reason === '' ? '' : `: ${reason}`}`;
}

interface CloseContext {
  readonly url: URL;
  readonly origin: string | undefined;
  readonly timeoutMs: number;
  /** Whether the hub authenticated this process at least once. */
  readonly opened: boolean;
  /** Why the last socket failed to open, if it did. */
  readonly failure: HandshakeFailure | undefined;
}

const TOKEN_HINT = 'check --token (or WARDCAST_TOKEN): it may be wrong or expired';

function retryHint(retryAfter: string | undefined, advice: string): string {
  return retryAfter === undefined ? advice : `${advice} (the hub asks to wait ${printable(retryAfter).slice(0, 20)} s)`;
}

/** Why the socket failed before the hub authenticated it. */
function handshakeError(failure: HandshakeFailure, ctx: CloseContext): CliError {
  const where = displayUrl(ctx.url);
  if (failure.kind === 'http') {
    const answer = `HTTP ${failure.status}${failure.body === '' ? '' : ` (${failure.body})`} at the WebSocket upgrade of ${where}`;
    switch (failure.status) {
      case 403:
        if (failure.body !== '' && !/origin/i.test(failure.body))
          return new CliError('forbidden', `the hub refused: ${answer}`);
        return new CliError('origin_refused', `the hub refused the origin ${ctx.origin ?? '(none sent)'}: ${answer}`, {
          hint:
            ctx.origin === undefined
              ? 'this hub wants an allowed Origin header: pass --origin'
              : "use an origin in the hub's allowedOrigins, or leave out --origin",
        });
      case 503:
        if (/shutting down/i.test(failure.body) || failure.body === '') {
          return new CliError('shutting_down', `the hub is shutting down: ${answer}`, {
            hint: 'retry in a moment, or against another instance',
          });
        }
        return new CliError('request_failed', `the hub refused the connection: ${answer}`, {
          hint: retryHint(failure.retryAfter, 'this instance is full; retry, or connect to another instance'),
        });
      case 429:
        return new CliError('request_failed', `the hub refused the connection: ${answer}`, {
          hint: retryHint(failure.retryAfter, 'too many connection attempts from this address; wait and retry'),
        });
      case 401:
        return new CliError('unauthorized', answer, { hint: TOKEN_HINT });
      case 404:
        return new CliError('request_failed', `no WebSocket endpoint at ${where} (HTTP 404)`, {
          hint: "check the path: the hub's attach() serves /v1/ws/notifications unless its path option says otherwise",
        });
      default:
        return new CliError('request_failed', `the server refused the connection: ${answer}`);
    }
  }
  if (/handshake has timed out/i.test(failure.message)) {
    return new CliError('unreachable', `no answer from ${where} within ${ctx.timeoutMs} ms`, {
      hint: 'is the hub reachable from here? raise --timeout for a slow link',
    });
  }
  const cause = failure.code ?? printable(failure.message).slice(0, 200);
  return new CliError('unreachable', `cannot connect to ${where} (${cause})`, {
    hint: failure.code === undefined ? undefined : NETWORK_HINTS[failure.code],
  });
}

/** The error a final close stands for. */
export function closeError(close: CloseInfo, ctx: CloseContext): CliError {
  const what = describeClose(close);
  switch (close.code) {
    case 4401:
      return new CliError('unauthorized', `the hub rejected the token (close ${what})`, { hint: TOKEN_HINT });
    case 4419:
      return new CliError('unauthorized', `the token expired (close ${what})`, { hint: 'get a fresh token' });
    case 4410:
      return new CliError('unauthorized', `the hub revoked this session (close ${what})`);
    case 4403:
      return new CliError('forbidden', `the hub does not allow this user (close ${what})`);
    case 4430:
      return new CliError('connection_lost', `the user has too many connections open (close ${what})`, {
        hint: "close another of this user's connections, or raise the hub's maxConnectionsPerUser",
      });
    case 4503:
      return new CliError('shutting_down', `the hub is shutting down (close ${what})`, {
        hint: 'retry in a moment; --reconnect follows the hub through restarts',
      });
  }
  if (!ctx.opened && ctx.failure !== undefined) return handshakeError(ctx.failure, ctx);
  if (close.reason === 'heartbeat timeout') {
    return new CliError('connection_lost', `the hub stopped answering (no frame for too long: ${what})`);
  }
  return new CliError('connection_lost', `the connection closed (${what})`, {
    hint: ctx.opened ? '--reconnect keeps listening through disconnects' : undefined,
  });
}

/**
 * `wardcast listen`: connects with `@wardcast/client`, prints every notification on stdout, and
 * status, gaps and denied topics on stderr. Resolves with the exit code: `0` when `out.signal`
 * aborts (Ctrl-C), otherwise the code of whatever ended the connection.
 */
export function listen(o: ListenOptions, out: Output): Promise<number> {
  if (out.signal?.aborted) return Promise.resolve(ExitCode.Ok);
  return new Promise((resolve) => {
    const probe = new HandshakeProbe();
    const denied = new Set<string>();
    let opened = false;
    let done = false;
    const storage = sinceStorage(o.since);
    const client = createNotificationClient({
      url: o.url.href,
      token: o.token,
      topics: o.topics,
      autoConnect: false,
      WebSocket: cliWebSocket(probe, { origin: o.origin, handshakeTimeoutMs: o.timeoutMs }),
      // Fail fast until the hub has accepted us once: a wrong URL or token should not spin.
      shouldRetry: (close) => o.reconnect && opened && defaultShouldRetry(close),
      ...(storage === undefined ? {} : { storage, storageKey: STORAGE_KEY }),
      ...(o.phi === undefined ? {} : { phi: o.phi }),
    });

    // The client unrefs its timers (right for a library); while waiting to reconnect, nothing
    // else would keep this process alive.
    const keepAlive = setInterval(() => {}, 2 ** 30);
    const finish = (code: number, error?: CliError): void => {
      if (done) return;
      done = true;
      clearInterval(keepAlive);
      out.signal?.removeEventListener('abort', onAbort);
      client.close();
      if (error !== undefined) out.error(error);
      resolve(code);
    };
    const onAbort = (): void => {
      out.info('stopped');
      finish(ExitCode.Ok);
    };

    client.on('notification', (n) => out.out(o.json ? JSON.stringify(n) : formatLine(n)));
    client.on('status', (s) => {
      switch (s.state) {
        case 'connecting':
          if (s.attempt === 0 && !opened) out.info(`connecting to ${displayUrl(o.url)}`);
          return;
        case 'open': {
          const again = opened;
          opened = true;
          const own = client.topics.length === 0 ? `user:${s.userId}` : undefined;
          if (own !== undefined && !isValidTopic(own)) {
            finish(
              ExitCode.Usage,
              new CliError('usage', `"${printable(own).slice(0, 140)}" is not a topic name: pass --topic`),
            );
            return;
          }
          // After this event the client subscribes its topics; the own topic follows in one frame of its own.
          if (own !== undefined) queueMicrotask(() => client.subscribe(own));
          const topics = own ?? client.topics.join(', ');
          out.info(
            `${again ? 'reconnected' : 'connected'} as ${printable(s.userId)}; subscribing to ${printable(topics)}`,
          );
          return;
        }
        case 'reconnecting':
          out.info(
            `connection lost (${describeClose(s.lastClose)}); reconnecting in ${(s.delayMs / 1000).toFixed(1)} s`,
          );
          return;
        case 'closed': {
          const error = closeError(s.reason, {
            url: o.url,
            origin: o.origin,
            timeoutMs: o.timeoutMs,
            opened,
            failure: probe.failure,
          });
          finish(error.exitCode, error);
          return;
        }
        default:
          return;
      }
    });
    client.on('gap', (gap) => {
      out.info(
        `gap on ${gap.topic} (${gap.reason}): some notifications were not replayed; resync this topic from its source (the inbox)`,
      );
    });
    client.on('denied', ({ topic, code }) => {
      out.info(`subscription to ${topic} denied (${printable(code)})`);
      denied.add(topic);
      if (client.topics.every((t) => denied.has(t))) {
        finish(
          ExitCode.Forbidden,
          new CliError('forbidden', `the hub denied every topic: ${[...denied].join(', ')}`, {
            hint: "the hub's authorize decides; by default a user may only subscribe to its own user:<id>",
          }),
        );
      }
    });
    client.on('error', (err) => {
      // The close that follows a rejected token says it better; socket failures are explained on close.
      if (err.code === 'auth_failed' || err.code === 'internal_error') return;
      out.info(`hub error ${err.code}: ${printable(err.message)}`);
    });

    out.signal?.addEventListener('abort', onAbort, { once: true });
    client.connect();
  });
}
