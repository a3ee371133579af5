import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Answers an upgrade request with a plain-text HTTP error instead of `101`, then destroys the
 * socket once the answer is flushed: the hub never keeps a refused socket open, whatever the
 * client does next (no half-open socket left in `CLOSE_WAIT` or `FIN_WAIT`).
 */
export function writeRefusal(socket: Duplex, status: number, message: string, retryAfterS?: number): void {
  if (socket.destroyed) return;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${message}\n`;
  const retry = retryAfterS === undefined ? '' : `Retry-After: ${retryAfterS}\r\n`;
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\n${retry}Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
