/**
 * A `@wardcast/client` subscriber over hub processes ({@link HubProcess}): the one the conformance
 * suite and the multi-process tests of `@wardcast/redis` and `@wardcast/postgres` watch delivery with.
 */
import { createNotificationClient, type GapEvent, type NotificationClient } from '@wardcast/client';
import WebSocket from 'ws';
import type { HubProcess } from './processes.js';

/** A notification as a subscriber received it. */
export interface Received {
  readonly id: string;
  readonly epoch: string;
  readonly seq: number;
}

/** Counts notification frames on the wire, per id, into `wire`. */
function countingWebSocket(wire: Map<string, number>): new (url: string, protocols?: string | string[]) => WebSocket {
  return class CountingWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      this.on('message', (data: Buffer) => {
        const text = data.toString('utf8');
        if (!text.includes('"notification"')) return;
        try {
          const frame = JSON.parse(text) as { type?: string; id?: string };
          if (frame.type === 'notification' && frame.id) wire.set(frame.id, (wire.get(frame.id) ?? 0) + 1);
        } catch {
          // not JSON: the client reports it
        }
      });
    }
  };
}

/**
 * A subscriber (token `tok_<user>`) whose URL provider round-robins over the instances still
 * alive, starting at `start`; it reconnects fast (50 to 300 ms) and resumes on another instance.
 */
export class Subscriber {
  readonly client: NotificationClient;
  readonly topics: readonly string[];
  readonly got = new Map<string, Received[]>();
  readonly gaps: GapEvent[] = [];
  /** `topic:code` of every denied subscription. */
  readonly denied: string[] = [];
  /** Notification frames on the wire, per id, with `countWire` (the client dedupes; the wire is at-least-once). */
  readonly wire = new Map<string, number>();
  reconnects = 0;

  constructor(
    user: string,
    topics: readonly string[],
    instances: readonly HubProcess[],
    start: number,
    options: { readonly countWire?: boolean } = {},
  ) {
    this.topics = topics;
    let turn = start;
    this.client = createNotificationClient({
      url: () => {
        const alive = instances.filter((i) => i.alive);
        return (alive[turn++ % alive.length] as HubProcess).url;
      },
      token: `tok_${user}`,
      topics,
      WebSocket: (options.countWire ? countingWebSocket(this.wire) : WebSocket) as never,
      backoff: { initialDelayMs: 50, maxDelayMs: 300 },
      unread: false,
    });
    for (const t of topics) this.got.set(t, []);
    this.client.on('notification', (n) => this.got.get(n.topic)?.push({ id: n.id, epoch: n.epoch, seq: n.seq }));
    this.client.on('gap', (g) => this.gaps.push(g));
    this.client.on('denied', (d) => this.denied.push(`${d.topic}:${d.code}`));
    this.client.on('status', (status) => {
      if (status.state === 'reconnecting') this.reconnects++;
    });
  }

  /** The last notification received on `topic`. */
  last(topic: string): Received | undefined {
    return this.got.get(topic)?.at(-1);
  }
}
