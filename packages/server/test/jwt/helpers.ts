import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Broker, BrokerHandler, ControlHandler, ControlMessage, StoredNotification } from '@wardcast/server';
import { base64url, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { afterEach } from 'vitest';

export const ISSUER = 'https://idp.test.invalid';
export const AUDIENCE = 'wardcast';
/** A 32-byte HS256 secret (tests only). */
export const SECRET = 'test-only-hs256-secret-0123456789abcdef';

/** An asymmetric signing key with its public JWK. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256' | 'EdDSA' | 'RS384';
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

/** Generates a key pair for `alg` whose public JWK carries `kid`, `alg` and `use: 'sig'`. */
export async function makeKey(kid: string, alg: SigningKey['alg'] = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

/** Seconds since the epoch. */
export const nowSec = (): number => Math.floor(Date.now() / 1000);

/** Claims of a valid token for `sub` (override or drop any with `claims`). */
export function claimsFor(sub: string, claims: Record<string, unknown> = {}): JWTPayload {
  return { iss: ISSUER, aud: AUDIENCE, sub, iat: nowSec(), exp: nowSec() + 300, jti: `jti-${sub}`, ...claims };
}

/** Drops the claims whose value is `undefined`. */
function defined(payload: JWTPayload): JWTPayload {
  return Object.fromEntries(Object.entries(payload).filter(([, v]) => v !== undefined));
}

/** A token signed with `key` (its `kid` in the header). */
export function signWith(key: SigningKey, payload: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(defined(payload))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
    .sign(key.privateKey);
}

/** A token signed with an HMAC `secret`. */
export function signHmac(secret: string | Uint8Array, payload: JWTPayload, alg = 'HS256'): Promise<string> {
  const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  return new SignJWT(defined(payload)).setProtectedHeader({ alg }).sign(bytes);
}

/** An unsecured token (`alg: none`, empty signature). */
export function unsecured(payload: JWTPayload): string {
  const part = (v: object) => base64url.encode(JSON.stringify(v));
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(defined(payload))}.`;
}

/** How the local JWKS server answers. */
export type JwksMode = 'up' | 'error' | 'hang' | 'reset';

/** A JWKS endpoint on loopback that counts its fetches. */
export interface JwksServer {
  /** `http://127.0.0.1:<port>/jwks.json` */
  readonly url: string;
  /** Requests for the JWKS answered (or attempted) so far. */
  readonly fetches: number;
  /** The keys served. */
  keys: JWK[];
  mode: JwksMode;
  close(): Promise<void>;
}

const servers: Server[] = [];

/** Starts a JWKS server for the current test; it is closed after the test. */
export async function startJwksServer(keys: readonly SigningKey[]): Promise<JwksServer> {
  let fetches = 0;
  const sockets = new Set<Socket>();
  const state = { keys: keys.map((k) => k.publicJwk), mode: 'up' as JwksMode };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url !== '/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    fetches++;
    if (state.mode === 'hang') return; // never answers: the client's timeout must fire
    if (state.mode === 'reset') {
      req.socket.destroy();
      return;
    }
    if (state.mode === 'error') {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('unavailable');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys }));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    get fetches() {
      return fetches;
    },
    get keys() {
      return state.keys;
    },
    set keys(value) {
      state.keys = value;
    },
    get mode() {
      return state.mode;
    },
    set mode(value) {
      state.mode = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback URL on which nothing listens (connection refused). */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/jwks.json`;
}

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

/**
 * An in-process stand-in for a cluster broker: every broker of one group receives every
 * notification, and control messages (`disconnect`, ...) reach the other members, as with
 * `@wardcast/redis`.
 */
export class LinkedBroker implements Broker {
  readonly #group: Set<LinkedBroker>;
  #handler: BrokerHandler | undefined;
  #control: ControlHandler | undefined;
  readonly #name: string;

  constructor(group: Set<LinkedBroker>, name: string) {
    this.#group = group;
    this.#name = name;
    group.add(this);
  }

  readonly control = {
    publish: (message: ControlMessage): void => {
      for (const peer of this.#group) if (peer !== this) peer.#control?.(message, this.#name);
    },
    subscribe: (handler: ControlHandler): void => {
      this.#control = handler;
    },
  };

  start(handler: BrokerHandler): void {
    this.#handler = handler;
  }

  publish(notification: StoredNotification): void {
    for (const peer of this.#group) peer.#handler?.(notification);
  }

  close(): void {
    this.#group.delete(this);
    this.#handler = undefined;
    this.#control = undefined;
  }
}
