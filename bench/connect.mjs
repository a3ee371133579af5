// One client connection per variant. connect(variant, port, userId, onNotification) resolves
// once the connection is subscribed; onNotification(notification) gets each parsed notification.
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { SESSION_COOKIE, TOPIC } from './payload.mjs';

const WS_OPTIONS = { perMessageDeflate: false };

/**
 * Wardcast's connect: `auth` and `subscribe` sent as the socket opens; with `cookie`, the session
 * cookie authenticates the upgrade request instead (as a browser's cookie session does) and only
 * `subscribe` is sent.
 */
function wardcast(port, userId, onNotification, cookie = false) {
  return new Promise((resolve, reject) => {
    const options = cookie ? { ...WS_OPTIONS, headers: { cookie: `${SESSION_COOKIE}=${userId}` } } : WS_OPTIONS;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws/notifications`, options);
    ws.on('open', () => {
      if (!cookie) ws.send(JSON.stringify({ type: 'auth', token: userId }));
      ws.send(JSON.stringify({ type: 'subscribe', topics: [{ topic: TOPIC }] }));
    });
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type === 'notification') onNotification(frame);
      else if (frame.type === 'subscribed') {
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
  if (variant.startsWith('wardcast') || variant === 'ws-wardcast-shape') return wardcast(port, userId, onNotification);
  if (variant === 'socket.io') return socketio(port, userId, onNotification);
  if (variant === 'ws-merged-shape') return plainWs(port, userId, onNotification, true);
  return plainWs(port, userId, onNotification);
}
