/**
 * App devices for the cluster suite: a `@wardcast/client` client (inside the
 * `@wardcast/client/react` store that `useNotifications` renders from) connected over `ws` through
 * the cluster's load balancer, recording what it saw.
 */
import type { ClientNotification, GapEvent, NotificationClient, WebSocketConstructor } from '@wardcast/client';
import { NotificationsStore } from '@wardcast/client/react';
import WebSocket from 'ws';
import { type Cluster, until } from './cluster.js';

/** Options of a {@link Device}. */
export interface DeviceOptions {
  /** Name in summaries. @default the user id */
  readonly label?: string;
  /** The app's `notification` handler (runs after the store added the notification). */
  readonly onNotification?: (n: ClientNotification, device: Device) => void;
}

/** One of a user's devices, subscribed to `user:<id>`. */
export class Device {
  readonly user: string;
  readonly label: string;
  readonly store: NotificationsStore;
  readonly client: NotificationClient;
  /** Notifications the app got (after the client's dedupe), in arrival order. */
  readonly received: ClientNotification[] = [];
  /** Ids of {@link received}. */
  readonly ids = new Set<string>();
  /** `receipt` events: its own confirmed reads/acks and those made on the user's other devices. */
  readonly receipts: { readonly id: string; readonly action: 'ack' | 'read' }[] = [];
  readonly gaps: GapEvent[] = [];
  readonly errors: string[] = [];
  /** Session ids of each connection that opened, in order. */
  readonly sessions: string[] = [];
  #stop: () => void;

  constructor(cluster: Cluster, user: string, options: DeviceOptions = {}) {
    this.user = user;
    this.label = options.label ?? user;
    this.store = new NotificationsStore(() => ({
      url: cluster.url,
      token: `tok_${user}`,
      topics: [`user:${user}`],
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      backoff: { initialDelayMs: 100, maxDelayMs: 1_000 },
      maxItems: 10_000,
    }));
    this.#stop = this.store.start();
    const client = this.store.client;
    if (!client) throw new Error('the store did not create a client');
    this.client = client;
    const handler = options.onNotification;
    client.on('notification', (n) => {
      this.received.push(n);
      this.ids.add(n.id);
      handler?.(n, this);
    });
    client.on('receipt', (r) => this.receipts.push(r));
    client.on('gap', (g) => this.gaps.push(g));
    client.on('error', (e) => this.errors.push(`${e.code}: ${e.message}`));
    client.on('status', (s) => {
      if (s.state === 'open') this.sessions.push(s.sessionId);
    });
  }

  get open(): boolean {
    return this.client.status.state === 'open';
  }

  /** The current (last opened) connection's session id. */
  get sessionId(): string | undefined {
    return this.sessions[this.sessions.length - 1];
  }

  /** How many times the app got `id` (the client dedupes: more than 1 is a bug). */
  count(id: string): number {
    let n = 0;
    for (const r of this.received) if (r.id === id) n++;
    return n;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** The unread count `useNotifications()` would show. */
  get unreadCount(): number {
    return this.store.getSnapshot().unreadCount;
  }

  /** Ids the store shows as read (marked here, or by a receipt from another device). */
  get readIds(): ReadonlySet<string> {
    return this.store.getSnapshot().readIds;
  }

  stop(): void {
    this.#stop();
  }
}

/**
 * Opens devices one after the other, each once the previous one is open and its instance known, so
 * that the round-robin balancer spreads them over the instances in order. Resolves with the devices
 * and the instance each one is on.
 */
export async function openDevices(
  cluster: Cluster,
  specs: readonly ({ readonly user: string } & DeviceOptions)[],
  opened: Device[] = [],
): Promise<{ devices: Device[]; instances: string[] }> {
  const devices: Device[] = [];
  const instances: string[] = [];
  for (const spec of specs) {
    const device = new Device(cluster, spec.user, spec);
    opened.push(device);
    devices.push(device);
    await until(
      () => device.open && cluster.instanceOf(device.sessionId) !== undefined,
      `${device.label} is connected`,
      15_000,
      () => ({ status: device.client.status, errors: device.errors }),
    );
    instances.push(cluster.instanceOf(device.sessionId) as string);
  }
  return { devices, instances };
}
