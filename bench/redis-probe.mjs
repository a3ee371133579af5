// Whether a Redis server answers PING at `url` (within a second), without a client library.
import { connect as tcp } from 'node:net';

/** Resolves `true` when Redis at `url` answers `PING` with `+PONG` within a second. */
export function redisReachable(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = tcp({ host: hostname, port: Number(port || 6379) });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}
