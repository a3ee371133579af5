// The server variants (wardcast-nocoalesce: the hub with `coalesceWrites: false`, one write per
// frame as before coalescing; wardcast-base: the hub class passed as `Hub`, e.g. another build of
// @wardcast/server for an A/B run; ws-wardcast-shape: bare ws answering Wardcast's connect frames,
// for `pnpm bench:connect` only; ws-merged-shape: the same with one frame each way;
// wardcast-delay<N>: the hub with `maxFlushDelayMs: N`, `wardcast-delayinf` with Infinity). Each attaches to an http.Server and returns
// { subscribers(): number, publish(payload, id): void | Promise<void> }.
import { NotificationHub } from '@wardcast/server';
import { Server as SocketIOServer } from 'socket.io';
import { Sender, WebSocketServer } from 'ws';
import { KIND, PRIORITY, SESSION_COOKIE, TOPIC } from './payload.mjs';

export const VARIANTS = ['wardcast', 'wardcast-nocoalesce', 'ws-frame-once', 'ws-stringify', 'socket.io'];

/** The user id in the upgrade request's session cookie (the bench's stand-in for a session store lookup). */
function sessionCookie(request) {
  const raw = request.headers.cookie;
  const header = typeof raw === 'string' ? raw : raw?.join('; ');
  for (const part of header?.split(';') ?? []) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}
const OPEN = 1;
const LONG = 600_000; // heartbeats/pings far outside the measured phases

/**
 * The hub options of every bench hub but `authenticate`: everyone authorized, heartbeats and the
 * auth timeout far outside the measured phases, and no per-address admission limits (every bench
 * client connects from 127.0.0.1).
 */
export const BENCH_HUB_OPTIONS = {
  authorize: () => true,
  heartbeatIntervalMs: LONG,
  authTimeoutMs: LONG,
  maxUpgradesPerSecondPerAddress: 1_000_000,
  maxUnauthenticatedPerAddress: 1_000_000,
};

/** The same envelope the hub sends, so every variant writes about the same bytes. */
function envelopeMaker() {
  let seq = 0;
  return (payload, id) => ({
    type: 'notification',
    id,
    topic: TOPIC,
    epoch: 'bench',
    seq: ++seq,
    kind: KIND,
    priority: PRIORITY,
    createdAt: new Date().toISOString(),
    payload,
  });
}

function wardcast(http, coalesceWrites, Hub = NotificationHub, maxFlushDelayMs = undefined) {
  const hub = new Hub({
    coalesceWrites,
    maxFlushDelayMs,
    // A token in the `auth` frame, or (`wardcast-cookie` clients) a session cookie on the upgrade.
    authenticate: ({ token, request }) => {
      const userId = token ?? sessionCookie(request);
      return userId ? { userId } : null;
    },
    ...BENCH_HUB_OPTIONS,
  });
  hub.attach(http);
  return {
    subscribers: () => hub.stats().subscriptions,
    publish: (payload, id) => hub.publish(TOPIC, { id, kind: KIND, priority: PRIORITY, payload }),
  };
}

function plainWs(http, sendAll) {
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false, clientTracking: false });
  const clients = new Set();
  // Like the others, a client subscribes with one frame and gets one frame back.
  wss.on('connection', (ws) => {
    ws.once('message', () => {
      clients.add(ws);
      ws.send(JSON.stringify({ type: 'subscribed', topic: TOPIC }));
    });
    ws.on('close', () => clients.delete(ws));
    ws.on('error', () => {});
  });
  const envelope = envelopeMaker();
  return { subscribers: () => clients.size, publish: (payload, id) => sendAll(clients, envelope(payload, id)) };
}

/**
 * The floor under Wardcast's connect: bare `ws` speaking the shape of Wardcast's connect (the
 * client's address read for admission, `welcome` on open, `authenticated` for the `auth` frame,
 * `subscribed` for the `subscribe` frame, written as the hub writes them) with no hub behind it:
 * no session, limits, authorization, history or events.
 */
function wardcastShapedWs(http) {
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false, clientTracking: false });
  const clients = new Set();
  const position = { epoch: 'bench', seq: 0 };
  // As the hub does: the `101` response and `welcome` in one write, the replies to the frames of
  // one turn in one write (corked until the end of the turn).
  const holdTurn = (socket) => {
    if (socket.writableCorked > 0) return;
    socket.cork();
    setImmediate(() => socket.uncork());
  };
  wss.on('headers', (_headers, req) => holdTurn(req.socket));
  wss.on('connection', (ws, req) => {
    const address = req.socket.remoteAddress;
    ws.send(JSON.stringify({ type: 'welcome', protocol: 1, sessionId: address, authenticated: false }));
    ws.on('message', (data) => {
      holdTurn(req.socket);
      const frame = JSON.parse(data.toString());
      if (frame.type === 'auth') ws.send(JSON.stringify({ type: 'authenticated', userId: frame.token }));
      else if (frame.type === 'subscribe') {
        clients.add(ws);
        const topics = frame.topics.map(({ topic }) => ({ topic, status: 'ok', recovered: false, position }));
        ws.send(JSON.stringify({ type: 'subscribed', topics }));
      }
    });
    ws.on('close', () => clients.delete(ws));
    ws.on('error', () => {});
  });
  return { subscribers: () => clients.size, publish: () => {} };
}

/**
 * The floor under a shorter connect, for `pnpm bench:connect-cost` only: bare `ws` answering one
 * client frame with one frame that carries what `welcome`, `authenticated` and `subscribed`
 * carry together (the client's address read, as the hub does for admission). No such protocol
 * exists: it measures what merging the three replies (and the client's `auth` and `subscribe`)
 * would save, against `ws-wardcast-shape`.
 */
function mergedShapeWs(http) {
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false, clientTracking: false });
  const clients = new Set();
  const position = { epoch: 'bench', seq: 0 };
  wss.on('connection', (ws, req) => {
    const address = req.socket.remoteAddress;
    ws.once('message', (data) => {
      const frame = JSON.parse(data.toString());
      clients.add(ws);
      const topics = [{ topic: frame.topic, status: 'ok', recovered: false, position }];
      const reply = { type: 'subscribed', protocol: 1, sessionId: address, userId: frame.token, topics };
      ws.send(JSON.stringify(reply));
    });
    ws.on('close', () => clients.delete(ws));
    ws.on('error', () => {});
  });
  return { subscribers: () => clients.size, publish: () => {} };
}

/** Frame once with ws's own Sender.frame, write the same buffer to every TCP socket. */
function frameOnce(clients, message) {
  const opts = { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false };
  const parts = Sender.frame(Buffer.from(JSON.stringify(message)), opts);
  const frame = parts.length === 1 ? parts[0] : Buffer.concat(parts);
  for (const ws of clients) if (ws.readyState === OPEN) ws._socket.write(frame);
}

/** The naive loop: stringify and ws.send per client. */
function stringifyEach(clients, message) {
  for (const ws of clients) if (ws.readyState === OPEN) ws.send(JSON.stringify(message));
}

function socketio(http) {
  const io = new SocketIOServer(http, {
    transports: ['websocket'],
    perMessageDeflate: false,
    serveClient: false,
    pingInterval: LONG,
    pingTimeout: LONG,
  });
  io.on('connection', (socket) => socket.join(TOPIC));
  const envelope = envelopeMaker();
  return {
    subscribers: () => io.sockets.adapter.rooms.get(TOPIC)?.size ?? 0,
    publish: (payload, id) => {
      io.to(TOPIC).emit('notification', envelope(payload, id));
    },
  };
}

export function createVariant(name, http, Hub = undefined) {
  switch (name) {
    case 'wardcast':
      return wardcast(http, true);
    case 'wardcast-base':
      if (Hub === undefined) throw new Error('wardcast-base needs the hub class of the other build');
      return wardcast(http, true, Hub);
    case 'wardcast-cookie':
    case 'wardcast-v1':
    case 'wardcast-cookie-v1':
      return wardcast(http, true);
    case 'wardcast-nocoalesce':
      return wardcast(http, false);
    case 'ws-frame-once':
      return plainWs(http, frameOnce);
    case 'ws-stringify':
      return plainWs(http, stringifyEach);
    case 'socket.io':
      return socketio(http);
    case 'ws-wardcast-shape':
      return wardcastShapedWs(http);
    case 'ws-merged-shape':
      return mergedShapeWs(http);
    default: {
      // wardcast-delay<N>: the hub with `maxFlushDelayMs: N` (`wardcast-delayinf`: Infinity).
      const delay = /^wardcast-delay(\d+(?:\.\d+)?|inf)$/.exec(name)?.[1];
      if (delay !== undefined) return wardcast(http, true, NotificationHub, delay === 'inf' ? Infinity : Number(delay));
      throw new Error(`unknown variant ${name}`);
    }
  }
}
