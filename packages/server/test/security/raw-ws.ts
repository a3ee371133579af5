import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/**
 * A hand-rolled WebSocket client on a plain TCP socket, for attacks a well-behaved library will not
 * make: it keeps writing after the server closed, never answers a close frame, and can leave a
 * socket open without a word. The server's frames are parsed only as far as the tests need.
 */
export interface RawSocket {
  readonly socket: Socket;
  /** HTTP status of the answer to the upgrade request. */
  readonly status: number;
  /** The answer's header block (status line included), lower-cased. */
  readonly head: string;
  /** Resolves when the TCP socket closed (never rejects). */
  readonly closed: Promise<void>;
  /** Resolves with the code of the server's close frame, or `undefined` if the socket ended without one. */
  readonly closeCode: Promise<number | undefined>;
  /** Opcodes of the frames received so far, in order (`1` text, `8` close, `9` ping). */
  readonly opcodes: readonly number[];
}

/**
 * Connects to `127.0.0.1:port` and sends an upgrade request for `path` with `headers`. Resolves once
 * the answer's header block arrived, whatever its status.
 */
export function rawUpgrade(port: number, path: string, headers: Record<string, string> = {}): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    let buffered = Buffer.alloc(0);
    let answered = false;
    let frames = Buffer.alloc(0);
    const opcodes: number[] = [];
    let resolveCode: (code: number | undefined) => void = () => {};
    const closeCode = new Promise<number | undefined>((done) => {
      resolveCode = done;
    });
    void closed.then(() => {
      resolveCode(undefined);
      if (!answered) reject(new Error(`socket to ${path} closed before an answer`));
    });
    const onFrames = (chunk: Buffer): void => {
      frames = Buffer.concat([frames, chunk]);
      // Server frames are unmasked; only lengths up to 125 matter until the close frame.
      while (frames.length >= 2) {
        const opcode = (frames[0] as number) & 0x0f;
        let length = (frames[1] as number) & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (frames.length < 4) return;
          length = frames.readUInt16BE(2);
          offset = 4;
        } else if (length === 127) {
          if (frames.length < 10) return;
          length = Number(frames.readBigUInt64BE(2));
          offset = 10;
        }
        if (frames.length < offset + length) return;
        opcodes.push(opcode);
        if (opcode === 0x8) {
          resolveCode(length >= 2 ? frames.readUInt16BE(offset) : 1005);
          frames = Buffer.alloc(0);
          return;
        }
        frames = frames.subarray(offset + length);
      }
    };
    socket.on('data', (chunk: Buffer) => {
      if (answered) {
        onFrames(chunk);
        return;
      }
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      answered = true;
      const head = buffered.subarray(0, end).toString('latin1').toLowerCase();
      const status = Number(/^http\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      const rest = buffered.subarray(end + 4);
      if (rest.length > 0) onFrames(rest);
      resolve({ socket, status, head, closed, closeCode, opcodes });
    });
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}

/**
 * A masked client text frame carrying `size` bytes of JSON-looking text (`{"type":"ping","x":"aaa…"}`),
 * built once so an attack can write the same bytes over and over without allocating.
 */
export function maskedTextFrame(size: number): Buffer {
  const text = `{"type":"ping","x":"${'a'.repeat(Math.max(0, size - 24))}"}`;
  const payload = Buffer.from(text);
  const header =
    payload.length < 126
      ? Buffer.from([0x81, 0x80 | payload.length])
      : payload.length < 65_536
        ? Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff])
        : (() => {
            const h = Buffer.alloc(10);
            h[0] = 0x81;
            h[1] = 0x80 | 127;
            h.writeBigUInt64BE(BigInt(payload.length), 2);
            return h;
          })();
  const mask = randomBytes(4);
  for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i % 4] as number);
  return Buffer.concat([header, mask, payload]);
}

/**
 * Writes `frame` again and again, respecting TCP backpressure, until `maxBytes` were written or the
 * socket closed (the server destroyed it). Ignores the server's close frame, as an attacker would.
 * Resolves with the bytes written.
 */
export async function blast(socket: Socket, frame: Buffer, maxBytes: number): Promise<number> {
  let written = 0;
  while (written < maxBytes && !socket.destroyed && socket.writable) {
    const ok = socket.write(frame);
    written += frame.length;
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
  }
  return written;
}
