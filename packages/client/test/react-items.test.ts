// A DOM for React, installed by a module (see helpers/dom.ts for why not the jsdom environment). Keep it the first import.
import './helpers/dom.js';
import { act, render, screen } from '@testing-library/react';
import type { NotificationMap } from '@wardcast/client';
import {
  type NotificationItem,
  NotificationsProvider,
  NotificationsStore,
  shallowEqual,
  type UseNotificationsOptions,
  type UseNotificationsResult,
  useNotifications,
} from '@wardcast/client/react';
import { createFetchHandler, MemoryInbox } from '@wardcast/server';
import { createElement, type ReactElement, StrictMode } from 'react';
import { describe, expect, it } from 'vitest';
import { custom, eventually, FAST, type HubFixture, record, tokenFor, useFixtures, WS } from './helpers/fixtures.js';

// Updates here come from real sockets, outside act(); render() still wraps itself in act.
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false;

const f = useFixtures();

function optionsFor(server: HubFixture, extra: Partial<UseNotificationsOptions<NotificationMap>> = {}) {
  return {
    url: server.url,
    token: () => tokenFor('u1'),
    topics: ['user:u1'],
    WebSocket: WS,
    ...FAST,
    ...extra,
  } satisfies UseNotificationsOptions<NotificationMap>;
}

/** Renders `element` inside StrictMode; unmounts at cleanup, before the hub closes. */
function mount(element: ReactElement) {
  const view = render(createElement(StrictMode, null, element));
  f.defer(() => act(() => view.unmount()));
  return view;
}

/** `POST /v1/notifications/:id/{read,ack}` as user u1, through the hub's HTTP endpoints. */
async function overHttp(server: HubFixture, id: string, action: 'read' | 'ack'): Promise<void> {
  const handle = createFetchHandler(server.hub);
  const res = await handle(
    new Request(`http://127.0.0.1:${server.port}/v1/notifications/${encodeURIComponent(id)}/${action}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokenFor('u1')}` },
    }),
  );
  expect(res.status).toBe(200);
}

const text = (testId: string) => screen.queryByTestId(testId)?.textContent ?? '';

/** Renders the hook's whole result as an item list; hands the result out on every render. */
function Items({
  options,
  onResult,
}: {
  options: UseNotificationsOptions<NotificationMap>;
  onResult: (r: UseNotificationsResult<NotificationMap>) => void;
}): ReactElement {
  const result = useNotifications(options);
  onResult(result);
  return createElement(
    'ul',
    { 'data-testid': 'items' },
    result.notifications.map((n) =>
      createElement(
        'li',
        { key: n.id, 'data-testid': `item-${n.id}` },
        `${n.id}:${n.read ? 'read' : 'unread'}:${n.acknowledged ? 'acked' : n.ackPending ? 'pending' : '-'}`,
      ),
    ),
  );
}

function byId(result: UseNotificationsResult<NotificationMap> | undefined, id: string): NotificationItem | undefined {
  return result?.notifications.find((n) => n.id === id);
}

describe('useNotifications: per-item read and ack state', () => {
  it('flips `read` on an item read here, in another client of the user, and over HTTP', async () => {
    const server = await f.hub({ inbox: new MemoryInbox() });
    let latest: UseNotificationsResult<NotificationMap> | undefined;
    mount(createElement(Items, { options: optionsFor(server), onResult: (r) => (latest = r) }));
    const other = f.client({ url: server.url, topics: ['user:u1'] });
    const otherLog = record(other);
    await eventually(() => server.events.subscribe.length === 2, 'both clients subscribed');
    for (const id of ['n1', 'n2', 'n3', 'n4']) await server.hub.publish('user:u1', custom(id));
    await eventually(() => latest?.notifications.length === 4 && otherLog.notifications.length === 4, 'all arrived');
    expect(latest?.unreadCount).toBe(4);
    expect(byId(latest, 'n1')).toMatchObject({
      id: 'n1',
      read: false,
      readAt: undefined,
      acknowledged: false,
      ackPending: false,
    });
    const before = latest?.notifications ?? [];

    // Here: at once, before the hub answers.
    latest?.markRead('n1');
    await eventually(() => text('item-n1') === 'n1:read:-', 'n1 shows read');
    expect(byId(latest, 'n1')?.readAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(latest?.unreadCount).toBe(3);
    // Only n1's item was replaced.
    for (const id of ['n2', 'n3', 'n4']) expect(byId(latest, id)).toBe(before.find((n) => n.id === id));

    // Another client (tab, device) of the same user.
    other.markRead('n2');
    await eventually(() => byId(latest, 'n2')?.read === true, 'n2 read on the other client shows read');
    expect(text('item-n2')).toBe('n2:read:-');

    // The HTTP inbox endpoint: the hub relays it to the user's connections.
    await overHttp(server, 'n3', 'read');
    await eventually(() => byId(latest, 'n3')?.read === true, 'n3 read over HTTP shows read');

    expect(latest?.unreadCount).toBe(1);
    expect(latest?.notifications.filter((n) => !n.read).map((n) => n.id)).toEqual(['n4']);
    expect(latest?.notifications.every((n) => n.acknowledged === false)).toBe(true);

    latest?.markAllRead();
    await eventually(() => latest?.unreadCount === 0, 'all read');
    expect(latest?.notifications.every((n) => n.read)).toBe(true);
    await eventually(() => otherLog.receipts.some((r) => r.id === 'n4'), 'the other client learned of n4');
  });

  it('flips `acknowledged` on an item acked here, in another client of the user, and over HTTP', async () => {
    const server = await f.hub({ inbox: new MemoryInbox() });
    let latest: UseNotificationsResult<NotificationMap> | undefined;
    mount(createElement(Items, { options: optionsFor(server), onResult: (r) => (latest = r) }));
    const other = f.client({ url: server.url, topics: ['user:u1'] });
    const otherLog = record(other);
    await eventually(() => server.events.subscribe.length === 2, 'both clients subscribed');
    for (const id of ['c1', 'c2', 'c3']) await server.hub.publish('user:u1', custom(id, { id }, 'critical'));
    await eventually(() => latest?.notifications.length === 3 && otherLog.notifications.length === 3, 'all arrived');

    // Here: acknowledged (and read) once the hub's receipt arrives (pending before: see the store test).
    const receipts = server.events.ack.length;
    latest?.ack('c1');
    await eventually(() => byId(latest, 'c1')?.acknowledged === true, 'c1 shows acknowledged');
    expect(byId(latest, 'c1')).toMatchObject({ ackPending: false, read: true });
    expect(byId(latest, 'c1')?.acknowledgedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(server.events.ack.length).toBe(receipts + 1);
    // A second ack of an acknowledged item sends nothing.
    latest?.ack('c1');

    // Another client of the same user.
    other.ack('c2');
    await eventually(() => byId(latest, 'c2')?.acknowledged === true, 'c2 acked on the other client shows');
    expect(text('item-c2')).toBe('c2:read:acked');

    // Over HTTP.
    await overHttp(server, 'c3', 'ack');
    await eventually(() => byId(latest, 'c3')?.acknowledged === true, 'c3 acked over HTTP shows');
    expect(latest?.unreadCount).toBe(0);
    expect(server.events.ack.map((e) => e.id).sort()).toEqual(['c1', 'c2', 'c3']);
  });
});

/** What the components below rendered, and how often (render calls, doubled by StrictMode). */
const probe: { renders: Record<'whole' | 'badge' | 'critical' | 'status', number>; whole?: UseNotificationsResult } = {
  renders: { whole: 0, badge: 0, critical: 0, status: 0 },
};

/** Uses the whole result: renders on every snapshot. */
function Whole(): ReactElement {
  probe.renders.whole++;
  probe.whole = useNotifications();
  return createElement('span', { 'data-testid': 'whole' }, String(probe.whole.telemetry?.at ?? ''));
}

/** Selects a number. */
function Badge(): ReactElement {
  probe.renders.badge++;
  const unread = useNotifications((s) => s.unreadCount);
  return createElement('span', { 'data-testid': 'badge' }, String(unread));
}

/** Selects a new array of items on every snapshot, compared item by item. */
function Critical(): ReactElement {
  probe.renders.critical++;
  const critical = useNotifications(
    (s) => s.notifications.filter((n) => n.priority === 'critical' && !n.acknowledged),
    { isEqual: shallowEqual },
  );
  return createElement('span', { 'data-testid': 'critical' }, critical.map((n) => n.id).join(','));
}

/** An inline selector (a new function on every render) building an object. */
function Status(): ReactElement {
  probe.renders.status++;
  const { state, unread } = useNotifications((s) => ({ state: s.status.state, unread: s.unreadCount }), {
    isEqual: shallowEqual,
  });
  return createElement('span', { 'data-testid': 'status' }, `${state}/${unread}`);
}

describe('useNotifications with a selector', () => {
  it('re-renders a selecting component only when its selection changes, under StrictMode', async () => {
    const server = await f.hub({ inbox: new MemoryInbox(), telemetryIntervalMs: 20, authorize: () => true });
    const { renders } = probe;
    Object.assign(renders, { whole: 0, badge: 0, critical: 0, status: 0 });
    mount(
      createElement(
        NotificationsProvider,
        optionsFor(server, { telemetry: true, presence: ['patient:p1'] }),
        createElement(Whole),
        createElement(Badge),
        createElement(Critical),
        createElement(Status),
      ),
    );
    const other = f.client({ url: server.url, topics: ['user:u1'] });
    const otherLog = record(other);
    await eventually(() => server.events.subscribe.length === 3 && text('status') === 'open/0', 'open and subscribed');
    await server.hub.publish('user:u1', custom('r1'));
    await server.hub.publish('user:u1', custom('c1', { id: 'c1' }, 'critical'));
    await eventually(() => text('badge') === '2' && text('critical') === 'c1' && text('status') === 'open/2', 'shown');

    // Telemetry (every 20 ms), latency (every ping) and presence updates: only the whole-result
    // consumer renders.
    let counts = { ...renders };
    await eventually(() => renders.whole >= counts.whole + 10, 'ten telemetry renders of the whole consumer');
    await eventually(() => probe.whole?.presence['patient:p1']?.length === 1, 'presence shown');
    f.client({ url: server.url, token: tokenFor('u2'), topics: ['patient:p1'] });
    await eventually(() => probe.whole?.presence['patient:p1']?.length === 2, 'u2 joined');
    expect({ ...renders, whole: 0 }).toEqual({ ...counts, whole: 0 });

    // A routine notification: the count changes; the critical list does not.
    counts = { ...renders };
    await server.hub.publish('user:u1', custom('r2'));
    await eventually(() => text('badge') === '3' && text('status') === 'open/3', 'r2 counted');
    expect(renders.badge).toBeGreaterThan(counts.badge);
    expect(renders.status).toBeGreaterThan(counts.status);
    expect(renders.critical).toBe(counts.critical);

    // r1 read on another client: the count changes; the critical list (same items) does not.
    counts = { ...renders };
    other.markRead('r1');
    await eventually(() => text('badge') === '2', 'r1 read elsewhere');
    expect(renders.critical).toBe(counts.critical);

    // c1 acknowledged over HTTP: it leaves the critical list.
    await overHttp(server, 'c1', 'ack');
    await eventually(() => text('critical') === '' && text('badge') === '1', 'c1 acknowledged');

    // A receipt for an id that is not listed changes neither the count nor any listed item.
    counts = { ...renders };
    const list = probe.whole?.notifications;
    await server.hub.shareReceipt('u1', 'not-listed', 'read');
    await eventually(() => otherLog.receipts.some((r) => r.id === 'not-listed'), 'the receipt was sent');
    const after = renders.whole;
    await eventually(() => renders.whole > after + 3, 'a few more whole renders');
    expect(probe.whole?.notifications).toBe(list);
    expect({ ...renders, whole: 0 }).toEqual({ ...counts, whole: 0 });

    // The provider's socket, `other` and u2's.
    expect(server.events.connection).toHaveLength(3);
  });
});

describe('NotificationsStore snapshots', () => {
  it('share structure: telemetry keeps the list, a receipt replaces only its item', async () => {
    const server = await f.hub({ inbox: new MemoryInbox(), telemetryIntervalMs: 20 });
    const store = new NotificationsStore(() => optionsFor(server, { telemetry: true }));
    f.defer(store.start());
    await eventually(() => store.getSnapshot().status.state === 'open', 'open');
    await eventually(() => server.events.subscribe.length === 1, 'subscribed');
    for (const id of ['a', 'b', 'c']) await server.hub.publish('user:u1', custom(id));
    await eventually(() => store.getSnapshot().notifications.length === 3, 'three listed');
    const first = store.getSnapshot();
    await eventually(() => store.getSnapshot().telemetry !== first.telemetry, 'a telemetry update');
    expect(store.getSnapshot()).not.toBe(first);
    expect(store.getSnapshot().notifications).toBe(first.notifications);

    await server.hub.shareReceipt('u1', 'b', 'read');
    await eventually(() => store.getSnapshot().unreadCount === 2, 'b read');
    const [c, b, a] = store.getSnapshot().notifications;
    expect(b).toMatchObject({ id: 'b', read: true });
    expect(b).not.toBe(first.notifications[1]);
    expect(a).toBe(first.notifications[2]);
    expect(c).toBe(first.notifications[0]);
    expect([...store.getSnapshot().readIds]).toEqual(['b']);
  });

  it('marks an ack pending until the hub confirms it, then acknowledged and read', async () => {
    const server = await f.hub();
    const store = new NotificationsStore(() => optionsFor(server));
    f.defer(store.start());
    await eventually(() => server.events.subscribe.length === 1, 'subscribed');
    await server.hub.publish('user:u1', custom('crit', { id: 'crit' }, 'critical'));
    await eventually(() => store.getSnapshot().notifications.length === 1, 'listed');
    const before = store.getSnapshot();
    store.ack('crit');
    expect(store.getSnapshot().notifications[0]).toMatchObject({ ackPending: true, acknowledged: false, read: false });
    expect(store.getSnapshot().unreadCount).toBe(1);
    await eventually(() => store.getSnapshot().notifications[0]?.acknowledged === true, 'acknowledged');
    expect(store.getSnapshot().notifications[0]).toMatchObject({ ackPending: false, read: true });
    expect(store.getSnapshot().unreadCount).toBe(0);
    expect(before.notifications[0]).toMatchObject({ ackPending: false, acknowledged: false });
  });
});
