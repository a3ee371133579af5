import type { AddressInfo } from 'node:net';
import type { ClientFrame, ServerFrame } from '@wardcast/protocol';
import { type WebSocket, WebSocketServer } from 'ws';

/** One connection to a {@link RawHub}, with the frames the client sent on it. */
export interface RawConnection {
  readonly socket: WebSocket;
  readonly received: ClientFrame[];
  send(frame: ServerFrame): void;
}

/**
 * A bare `ws` server that speaks just enough of the protocol for the test to script the hub's
 * side: `welcome` on connect, `authenticated` for every `auth`, and whatever `onFrame` adds.
 * Nothing else is answered (no `pong`), so a test can make the link go silent.
 */
export interface RawHub {
  readonly url: string;
  readonly connections: RawConnection[];
  close(): Promise<void>;
}

export interface RawHubOptions {
  /** Called for every frame a client sends, after the built-in `auth` handling. */
  onFrame?(connection: RawConnection, frame: ClientFrame): void;
}

export async function startRawHub(options: RawHubOptions = {}): Promise<RawHub> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const connections: RawConnection[] = [];
  wss.on('connection', (socket) => {
    const connection: RawConnection = {
      socket,
      received: [],
      send: (frame) => socket.send(JSON.stringify(frame)),
    };
    connections.push(connection);
    connection.send({
      type: 'welcome',
      protocol: 1,
      sessionId: `raw-${connections.length}`,
      heartbeatMs: 30_000,
      authenticated: false,
      limits: { maxFrameBytes: 65_536, maxFramesPerSecond: 20, maxSubscriptions: 100, authTimeoutMs: 10_000 },
    });
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ClientFrame;
      connection.received.push(frame);
      if (frame.type === 'auth') {
        connection.send({ type: 'authenticated', userId: 'u1', ...(frame.ref ? { ref: frame.ref } : {}) });
      }
      options.onFrame?.(connection, frame);
    });
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/v1/ws/notifications`,
    connections,
    close() {
      for (const c of connections) c.socket.terminate();
      return new Promise((resolve) => wss.close(() => resolve()));
    },
  };
}
