import {
  type ClientNotification,
  type ClientStatus,
  type CloseInfo,
  createNotificationClient,
  type GapEvent,
  type NotificationClient,
  type WebSocketConstructor,
} from '@wardcast/client';
import {
  type NotificationItem,
  shallowEqual,
  type UseNotificationsResult,
  useNotifications,
} from '@wardcast/client/react';
import type { WardcastError } from '@wardcast/protocol';
import { describe, expectTypeOf, it } from 'vitest';
import WebSocket from 'ws';

type Kinds = {
  lab_result: { labOrderId: string; critical: boolean };
  appointment: { appointmentId: string; startsAt: string };
};

declare const client: NotificationClient<Kinds>;

describe('client types', () => {
  it('types notification listeners by kind from the notification map', () => {
    const typed = createNotificationClient<Kinds>({ url: 'ws://hub', token: 't' });
    expectTypeOf(typed).toEqualTypeOf<NotificationClient<Kinds>>();

    client.on('notification', (n) => {
      expectTypeOf(n).toEqualTypeOf<ClientNotification<Kinds>>();
      expectTypeOf(n.kind).toEqualTypeOf<'lab_result' | 'appointment'>();
      expectTypeOf(n.id).toBeString();
      expectTypeOf(n.seq).toBeNumber();
      if (n.kind === 'lab_result') {
        expectTypeOf(n.payload).toEqualTypeOf<{ labOrderId: string; critical: boolean }>();
        expectTypeOf(n.payload.critical).toBeBoolean();
      } else {
        expectTypeOf(n.kind).toEqualTypeOf<'appointment'>();
        expectTypeOf(n.payload).toEqualTypeOf<{ appointmentId: string; startsAt: string }>();
      }
    });
  });

  it('leaves payloads unknown without a notification map', () => {
    const untyped = createNotificationClient({ url: 'ws://hub', token: 't' });
    untyped.on('notification', (n) => {
      expectTypeOf(n.kind).toBeString();
      expectTypeOf(n.payload).toBeUnknown();
    });
  });

  it('returns an unsubscribe function from on() and types every event', () => {
    expectTypeOf(client.on('notification', () => {})).toEqualTypeOf<() => void>();
    expectTypeOf(client.on('status', () => {})).toEqualTypeOf<() => void>();
    client.on('status', (s) => expectTypeOf(s).toEqualTypeOf<ClientStatus>());
    client.on('gap', (g) => expectTypeOf(g).toEqualTypeOf<GapEvent>());
    client.on('error', (e) =>
      // `status`: the HTTP status of a refused upgrade (`handshake_failed`), when known.
      expectTypeOf(e).toEqualTypeOf<WardcastError & { readonly status?: number | undefined }>(),
    );
    client.on('receipt', (r) => expectTypeOf(r.action).toEqualTypeOf<'ack' | 'read'>());
    // @ts-expect-error: not an event of the client
    client.on('message', () => {});
  });

  it('narrows ClientStatus on state', () => {
    const status = client.status;
    expectTypeOf(status.state).toEqualTypeOf<'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed'>();
    switch (status.state) {
      case 'open':
        expectTypeOf(status.sessionId).toBeString();
        expectTypeOf(status.userId).toBeString();
        break;
      case 'reconnecting':
        expectTypeOf(status.delayMs).toBeNumber();
        expectTypeOf(status.attempt).toBeNumber();
        expectTypeOf(status.lastClose).toEqualTypeOf<CloseInfo>();
        break;
      case 'closed':
        expectTypeOf(status.reason.fatal).toBeBoolean();
        expectTypeOf(status.reason.code).toBeNumber();
        break;
      case 'connecting':
        expectTypeOf(status.attempt).toBeNumber();
        // @ts-expect-error: only an open status has a session
        status.sessionId;
        break;
      default:
        expectTypeOf(status).toEqualTypeOf<{ readonly state: 'idle' }>();
    }
  });

  it('accepts ws and the browser WebSocket as the WebSocket option', () => {
    expectTypeOf(WebSocket).toExtend<WebSocketConstructor>();
    expectTypeOf(globalThis.WebSocket).toExtend<WebSocketConstructor>();
  });

  it('exposes pendingReceipts, latencyMs and topics', () => {
    expectTypeOf(client.pendingReceipts).toBeNumber();
    expectTypeOf(client.latencyMs).toEqualTypeOf<number | undefined>();
    expectTypeOf(client.topics).toEqualTypeOf<readonly string[]>();
    expectTypeOf(client.ack).parameters.toEqualTypeOf<[id: string]>();
  });
});

describe('useNotifications types', () => {
  it('returns notifications typed by the map, counts, status and actions', () => {
    expectTypeOf(useNotifications<Kinds>).returns.toEqualTypeOf<UseNotificationsResult<Kinds>>();
    const result = {} as UseNotificationsResult<Kinds>;
    expectTypeOf(result.notifications).toEqualTypeOf<readonly NotificationItem<Kinds>[]>();
    // Items are notifications too: they go wherever a ClientNotification is expected.
    expectTypeOf(result.notifications).toExtend<readonly ClientNotification<Kinds>[]>();
    expectTypeOf(result.unreadCount).toBeNumber();
    expectTypeOf(result.status).toEqualTypeOf<ClientStatus>();
    expectTypeOf(result.latencyMs).toEqualTypeOf<number | undefined>();
    expectTypeOf(result.error).toEqualTypeOf<WardcastError | undefined>();
    expectTypeOf(result.markRead).toEqualTypeOf<(id: string) => void>();
    expectTypeOf(result.markAllRead).toEqualTypeOf<() => void>();
    expectTypeOf(result.ack).toEqualTypeOf<(id: string) => void>();
    const first = result.notifications[0];
    if (first?.kind === 'appointment') expectTypeOf(first.payload.startsAt).toBeString();
  });

  it('types the read and ack state of each item, narrowed on kind like a notification', () => {
    const item = {} as NotificationItem<Kinds>;
    expectTypeOf(item.read).toBeBoolean();
    expectTypeOf(item.readAt).toEqualTypeOf<string | undefined>();
    expectTypeOf(item.acknowledged).toBeBoolean();
    expectTypeOf(item.acknowledgedAt).toEqualTypeOf<string | undefined>();
    expectTypeOf(item.ackPending).toBeBoolean();
    if (item.kind === 'lab_result') {
      expectTypeOf(item.payload.critical).toBeBoolean();
      expectTypeOf(item.read).toBeBoolean();
    }
  });

  it('infers the return type of a selector', () => {
    expectTypeOf(() => useNotifications((s) => s.unreadCount)).returns.toEqualTypeOf<number>();
    expectTypeOf(() => useNotifications((s) => s.status.state)).returns.toEqualTypeOf<
      'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed'
    >();
    // Typed by the map through the selector's parameter.
    expectTypeOf(() =>
      useNotifications((s: UseNotificationsResult<Kinds>) => s.notifications.filter((n) => !n.read)),
    ).returns.toEqualTypeOf<NotificationItem<Kinds>[]>();
    // Or by both type arguments.
    expectTypeOf(() =>
      useNotifications<Kinds, readonly NotificationItem<Kinds>[]>((s) => s.notifications),
    ).returns.toEqualTypeOf<readonly NotificationItem<Kinds>[]>();
    // With connection options and an equality function of the selection's type.
    expectTypeOf(() =>
      useNotifications((s) => ({ unread: s.unreadCount, ack: s.ack }), {
        url: 'ws://hub',
        token: 't',
        topics: ['user:u1'],
        isEqual: shallowEqual,
      }),
    ).returns.toEqualTypeOf<{ unread: number; ack: (id: string) => void }>();
    expectTypeOf(() => useNotifications((s) => s.unreadCount, { isEqual: (a, b) => a === b })).returns.toBeNumber();
    // @ts-expect-error: the equality function compares selections (numbers), not strings
    useNotifications((s) => s.unreadCount, { isEqual: (a: string, b: string) => a === b });
    // @ts-expect-error: one type argument is the map of the options form, not a selector's result
    useNotifications<Kinds>((s) => s.unreadCount);
  });

  it('takes client options plus filter and maxItems, or nothing inside a provider', () => {
    expectTypeOf(useNotifications).toBeCallableWith();
    expectTypeOf(useNotifications<Kinds>).toBeCallableWith({
      url: 'ws://hub',
      token: async () => 't',
      topics: ['user:u1'],
      maxItems: 50,
      filter: (n: ClientNotification<Kinds>) => n.kind === 'lab_result',
    });
  });
});

describe('NotificationMap', () => {
  it('accepts an interface as the map of payloads by kind', () => {
    interface Kinds2 {
      lab_result: { labOrderId: string; critical: boolean };
    }
    const client = {} as NotificationClient<Kinds2>;
    client.on('notification', (n) => {
      expectTypeOf(n.kind).toEqualTypeOf<'lab_result'>();
      expectTypeOf(n.payload.critical).toBeBoolean();
    });
  });
});
