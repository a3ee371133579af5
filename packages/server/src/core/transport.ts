import type { AdmissionTicket, AdmitResult } from './admission.js';
import type { UpgradeRefusalReason } from './events.js';
import type { HubLimits } from './options.js';
import type { UpgradeRequestLike } from './types.js';

/**
 * A frame serialised once and sent to many sockets. Transports may cache their own framed
 * bytes on it (see {@link EncodedFrame.prepared}) so a fan-out to N sockets frames it once.
 *
 * @category Transport
 */
export class EncodedFrame {
  /** The JSON text of the frame. */
  readonly text: string;
  /**
   * The UTF-8 length of {@link EncodedFrame.text} in bytes, when whoever built the frame knew it
   * without a pass over the text (the hub's notification frames: an ASCII envelope around a
   * payload measured on its own); `undefined` otherwise.
   */
  readonly byteLength: number | undefined;
  // Two slots, one per transport kind (`ws` and SSE), so a fan-out over both prepares each form
  // once; a third owner (never the case with the built-in transports) takes the second slot.
  #owner: unknown;
  #prepared: unknown;
  #owner2: unknown;
  #prepared2: unknown;

  constructor(text: string, byteLength?: number) {
    this.text = text;
    this.byteLength = byteLength;
  }

  /**
   * Returns the transport-specific form of this frame, building it with `build` (given the text and
   * {@link EncodedFrame.byteLength}) on first use by transport `owner` (a key object of the
   * transport). Two transports' forms are kept at once.
   */
  prepared<T>(owner: object, build: (text: string, byteLength: number | undefined) => T): T {
    if (this.#owner === owner) return this.#prepared as T;
    if (this.#owner2 === owner) return this.#prepared2 as T;
    const form = build(this.text, this.byteLength);
    if (this.#owner === undefined) {
      this.#owner = owner;
      this.#prepared = form;
    } else {
      this.#owner2 = owner;
      this.#prepared2 = form;
    }
    return form;
  }
}

/**
 * The few things the hub core needs from a socket. A transport (the `ws` adapter, or a test
 * double) implements it in a few lines; the core never touches `ws` or `http` itself.
 *
 * @category Transport
 */
export interface TransportSocket {
  /** Sends a text frame. */
  send(text: string): void;
  /** Sends a frame serialised once for many sockets. */
  sendEncoded(frame: EncodedFrame): void;
  /** Bytes queued for this socket and not yet written to the network. */
  readonly bufferedAmount: number;
  /** Starts the closing handshake. `reason` must be under 123 bytes. */
  close(code: number, reason: string): void;
  /** Destroys the socket at once, without a closing handshake. */
  terminate(): void;
  /** Sends a WebSocket ping; the transport reports the pong to the core. */
  ping(): void;
}

/**
 * What the core returns from `open()`: the transport calls these as things happen.
 *
 * @category Transport
 */
export interface SocketHandlers {
  /** A message arrived. `binary` is `true` for binary frames (which the protocol rejects). */
  message(data: string | Uint8Array, binary: boolean): void;
  /** A pong arrived. */
  pong(): void;
  /** The socket closed (for any reason). Safe to call more than once. */
  closed(code: number, reason: string): void;
  /**
   * The transport is closing the socket because the client broke the WebSocket protocol, with
   * the close code it sends: `1009` (a message over `maxFrameBytes`), `1002`, `1007` or `1008`.
   * Reported as a `refused` event; call `closed()` as usual when the socket is gone.
   */
  protocolError(code: number): void;
}

/** A transport-level connection: the socket plus the request that opened it. */
export interface TransportConnection {
  readonly socket: TransportSocket;
  readonly request: UpgradeRequestLike;
}

/**
 * What a transport adapter of this package needs from its hub: the limits, the admission decision,
 * adopting a socket, and reporting a request the transport refused by a check of its own. The hub
 * core implements it (see `transportHostOf`); a transport depends on this interface, not on the
 * hub's class. Internal to the package.
 */
export interface TransportHost {
  /** The hub's limits, defaults filled in. */
  readonly limits: Readonly<Required<HubLimits>>;
  /** See `HubCore.admit`. */
  admit(request: UpgradeRequestLike): AdmitResult;
  /** See `HubCore.checkOrigin`. */
  checkOrigin(request: UpgradeRequestLike): boolean;
  /** See `HubCore.open`. */
  open(socket: TransportSocket, request: UpgradeRequestLike, ticket?: AdmissionTicket): SocketHandlers;
  /**
   * Reports a request the transport refused before `admit()` (the SSE transport's Fetch Metadata
   * check): a `debug` log line and the `refused` event, with the request as the hub sees it
   * (`clientAddress` applied), as `admit()` reports its own refusals.
   */
  reportRefusal(request: UpgradeRequestLike, reason: UpgradeRefusalReason, status: number, message: string): void;
}
