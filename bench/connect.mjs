// One client connection per variant. connect(variant, port, userId, onNotification) resolves
// once the connection is subscribed; onNotification(notification) gets each parsed notification.
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { SESSION_COOKIE, TOPIC } from './payload.mjs';

const WS_OPTIONS = { perMessageDeflate: false };

/**
 * Wardcast's connect as `@wardcast/client` makes it: protocol 2, one `hello` (token and topic)
 * answered by one `ready`; with `cookie`, the session cookie authenticates the upgrade request
 * instead (as a browser's cookie session does) and the `hello` has no token. With `v1`, protocol
 * 1: `auth` and `subscribe` sent as the socket opens, answered by `welcome`, `authenticated` and
 * `subscribed` (only `subscribe` with `cookie`).
 */
function wardcast(port, userId, onNotification, cookie = false, v1 = false) {
  return new Promise((resolve, reject) => {
    const options = cookie ? { ...WS_OPTIONS, headers: { cookie: `${SESSION_COOKIE}=${userId}` } } : WS_OPTIONS;
    const query = v1 ? '' : '?protocol=2';
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws/notifications${query}`, options);
    const topics = [{ topic: TOPIC }];
    ws.on('open', () => {
      if (!v1) ws.send(JSON.stringify(cookie ? { type: 'hello', topics } : { type: 'hello', token: userId, topics }));
      else {
        if (!cookie) ws.send(JSON.stringify({ type: 'auth', token: userId }));
        ws.send(JSON.stringify({ type: 'subscribe', topics }));
      }
    });
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type === 'notification') onNotification(frame);
      else if (frame.type === 'subscribed' || frame.type === 'ready') {
        if (frame.topics[0]?.status === 'ok') resolve(ws);
        else reject(new Error(`subscribe denied: ${JSON.stringify(frame)}`));
      } else if (frame.type === 'error') reject(new Error(`wardcast error frame: ${JSON.stringify(frame)}`));
    });
    ws.on('error', reject);
  });
}

/** The plain `ws` variants' connect: one frame each way (with `token`, the token in it too). */
function plainWs(port, userId, onNotification, token = false) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, WS_OPTIONS);
    const hello = token ? { type: 'subscribe', token: userId, topic: TOPIC } : { type: 'subscribe', topic: TOPIC };
    ws.on('open', () => ws.send(JSON.stringify(hello)));
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type === 'notification') onNotification(frame);
      else if (frame.type === 'subscribed') resolve(ws);
    });
    ws.on('error', reject);
  });
}

function socketio(port, _userId, onNotification) {
  return new Promise((resolve, reject) => {
    const socket = io(`http://127.0.0.1:${port}`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      perMessageDeflate: false,
    });
    socket.on('connect', () => resolve(socket));
    socket.on('connect_error', reject);
    socket.on('notification', onNotification);
  });
}

export function connect(variant, port, userId, onNotification) {
  if (variant === 'wardcast-cookie') return wardcast(port, userId, onNotification, true);
  if (variant === 'wardcast-cookie-v1') return wardcast(port, userId, onNotification, true, true);
  // ws-wardcast-shape answers protocol 1's frames.
  if (variant === 'wardcast-v1' || variant === 'ws-wardcast-shape')
    return wardcast(port, userId, onNotification, false, true);
  if (variant.startsWith('wardcast')) return wardcast(port, userId, onNotification);
  if (variant === 'socket.io') return socketio(port, userId, onNotification);
  if (variant === 'ws-merged-shape') return plainWs(port, userId, onNotification, true);
  return plainWs(port, userId, onNotification);
}
