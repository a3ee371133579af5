// A DOM for React, installed by a module (see helpers/dom.ts for why not the jsdom environment). Keep it the first import.
import './helpers/dom.js';
import { act, render, screen } from '@testing-library/react';
import type { NotificationMap, WebSocketConstructor } from '@wardcast/client';
import {
  NotificationsProvider,
  NotificationsStore,
  type UseNotificationsOptions,
  type UseNotificationsResult,
} from '@wardcast/client/react';
import { createElement, type ReactElement, StrictMode } from 'react';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { custom, eventually, FAST, type HubFixture, sleep, tokenFor, useFixtures, WS } from './helpers/fixtures.js';
import { Inbox } from './helpers/react.js';

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
  return {
    ...view,
    rerender: (next: ReactElement) => view.rerender(createElement(StrictMode, null, next)),
  };
}

const text = (testId: string) => screen.queryByTestId(testId)?.textContent ?? '';
const listed = (name = 'inbox') =>
  Array.from(screen.queryByTestId(`${name}-list`)?.querySelectorAll('li') ?? [], (li) => li.textContent);

/**
 * Counts the timers created by the client's code that have neither fired nor been cleared.
 * A pass-through wrapper around the real timer functions; restored at cleanup.
 */
function trackClientTimers(): Set<unknown> {
  const pending = new Set<unknown>();
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  const wrappedSet = (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    // Stack: [0] "Error", [1] this wrapper, [2] whoever called setTimeout.
    const caller = (new Error().stack ?? '').split('\n')[2] ?? '';
    const fromClient = /packages[\\/]client[\\/]src[\\/]/.test(caller);
    const handle: unknown = realSet(() => {
      pending.delete(handle);
      fn(...args);
    }, ms);
    if (fromClient) pending.add(handle);
    return handle;
  };
  const wrappedClear = (handle: unknown) => {
    pending.delete(handle);
    realClear(handle as Parameters<typeof clearTimeout>[0]);
  };
  globalThis.setTimeout = wrappedSet as unknown as typeof setTimeout;
  globalThis.clearTimeout = wrappedClear as unknown as typeof clearTimeout;
  f.defer(() => {
    globalThis.setTimeout = realSet;
    globalThis.clearTimeout = realClear;
  });
  return pending;
}

describe('useNotifications', () => {
  it('opens exactly one connection under StrictMode', async () => {
    const server = await f.hub();
    mount(createElement(Inbox, { options: optionsFor(server) }));
    await eventually(() => text('inbox-status') === 'open', 'the hook reports open');
    await sleep(300);
    expect(server.events.connection).toHaveLength(1);
    expect(server.events.authenticated).toHaveLength(1);
    expect(server.events.disconnect).toEqual([]);
    expect(server.hub.stats().connections).toBe(1);
  });

  it('does not reconnect when rerendered with a new token callback and an equal new topics array', async () => {
    const server = await f.hub();
    let oldCalls = 0;
    let newCalls = 0;
    const oldToken = () => {
      oldCalls++;
      return tokenFor('u1');
    };
    const newToken = () => {
      newCalls++;
      return tokenFor('u1');
    };
    const view = mount(createElement(Inbox, { options: optionsFor(server, { token: oldToken }) }));
    await eventually(() => server.events.subscribe.length === 1, 'the hook subscribed');

    view.rerender(createElement(Inbox, { options: optionsFor(server, { token: newToken, topics: ['user:u1'] }) }));
    await sleep(300);
    expect(server.events.connection).toHaveLength(1);
    expect(server.events.disconnect).toEqual([]);
    expect(server.events.subscribe).toHaveLength(1);
    expect(server.events.unsubscribe).toEqual([]);
    expect(text('inbox-status')).toBe('open');

    // The next reconnect asks the newest callback for the token.
    const before = oldCalls;
    server.dropConnections();
    await eventually(() => server.events.authenticated.length === 2, 'the hook reconnected');
    expect(newCalls).toBeGreaterThanOrEqual(1);
    expect(oldCalls).toBe(before);
  });

  it('subscribes and unsubscribes on the open socket when topics change', async () => {
    const server = await f.hub({ authorize: () => true });
    const view = mount(createElement(Inbox, { options: optionsFor(server) }));
    await eventually(() => server.events.subscribe.length === 1, 'the hook subscribed');

    view.rerender(createElement(Inbox, { options: optionsFor(server, { topics: ['user:u1', 'patient:p1'] }) }));
    await eventually(() => server.events.subscribe.some((e) => e.topic === 'patient:p1'), 'patient:p1 subscribed');
    await server.hub.publish('patient:p1', custom('lab-1'));
    await eventually(() => listed().includes('lab-1'), 'lab-1 is shown');

    view.rerender(createElement(Inbox, { options: optionsFor(server, { topics: ['patient:p1'] }) }));
    await eventually(() => server.events.unsubscribe.some((e) => e.topic === 'user:u1'), 'user:u1 unsubscribed');
    await server.hub.publish('user:u1', custom('not-for-me'));
    await server.hub.publish('patient:p1', custom('lab-2'));
    await eventually(() => listed().includes('lab-2'), 'lab-2 is shown');
    expect(listed()).toEqual(['lab-2', 'lab-1']);

    expect(server.events.connection).toHaveLength(1);
    expect(server.events.disconnect).toEqual([]);
  });

  it('closes the socket and leaves no timers behind on unmount', async () => {
    const server = await f.hub();
    const pending = trackClientTimers();
    const view = mount(createElement(Inbox, { options: optionsFor(server) }));
    await eventually(() => text('inbox-status') === 'open', 'the hook reports open');
    expect(pending.size).toBeGreaterThan(0);

    act(() => view.unmount());
    expect(pending.size).toBe(0);
    await eventually(() => server.events.disconnect.length === 1, 'the hub saw the socket close');
    expect(server.events.disconnect[0]).toMatchObject({ code: 1000, reason: 'client closed' });
    expect(server.hub.stats().connections).toBe(0);
    expect(pending.size).toBe(0);

    await sleep(300);
    expect(server.events.connection).toHaveLength(1);
    expect(pending.size).toBe(0);
  });

  it('exposes notifications, unreadCount, markRead, markAllRead and ack', async () => {
    const server = await f.hub();
    let latest: UseNotificationsResult<NotificationMap> | undefined;
    mount(createElement(Inbox, { options: optionsFor(server), onResult: (r) => (latest = r) }));
    await eventually(() => server.events.subscribe.length === 1, 'the hook subscribed');
    for (const id of ['n1', 'n2', 'n3']) await server.hub.publish('user:u1', custom(id));
    await eventually(() => listed().length === 3, 'three notifications are shown');
    expect(listed()).toEqual(['n3', 'n2', 'n1']);
    expect(text('inbox-unread')).toBe('3');
    expect(latest?.notifications.map((n) => n.id)).toEqual(['n3', 'n2', 'n1']);

    latest?.markRead('n2');
    latest?.markRead('n2');
    await eventually(() => text('inbox-unread') === '2', 'one was read');
    await eventually(() => server.events.read.length === 1, 'the hub recorded the read');

    latest?.markAllRead();
    await eventually(() => text('inbox-unread') === '0', 'all were read');
    await eventually(() => server.events.read.length === 3, 'the hub recorded the other reads');
    expect(server.events.read.map((e) => e.id).sort()).toEqual(['n1', 'n2', 'n3']);

    latest?.ack('n3');
    await eventually(() => server.events.ack.length === 1, 'the hub recorded the ack');
    expect(server.events.ack[0]).toMatchObject({ id: 'n3', userId: 'u1' });
    expect(latest?.status.state).toBe('open');
    expect(typeof latest?.latencyMs).toBe('number');
  });

  it('exposes telemetry and presence, and follows changes of presence on the open socket', async () => {
    const server = await f.hub({ authorize: () => true, telemetryIntervalMs: 100 });
    let latest: UseNotificationsResult<NotificationMap> | undefined;
    const options = optionsFor(server, { telemetry: true, presence: ['patient:p9'] });
    const view = mount(createElement(Inbox, { options, onResult: (r) => (latest = r) }));
    expect(latest?.telemetry).toBeUndefined();
    expect(latest?.presence).toEqual({});

    await eventually(() => latest?.telemetry !== undefined, 'a telemetry frame is shown');
    expect(latest?.telemetry).toMatchObject({ type: 'telemetry', connections: 1, broker: 'ok' });
    await eventually(() => latest?.presence['patient:p9']?.length === 1, 'the member list is shown');
    expect(latest?.presence).toEqual({ 'patient:p9': ['u1'] });

    view.rerender(
      createElement(Inbox, { options: { ...options, presence: ['patient:p10'] }, onResult: (r) => (latest = r) }),
    );
    await eventually(() => latest?.presence['patient:p10'] !== undefined, 'patient:p10 members are shown');
    expect(latest?.presence).toEqual({ 'patient:p10': ['u1'] });
    expect(server.hub.presence('patient:p9')).toEqual([]);
    expect(server.events.connection).toHaveLength(1);
  });

  it('shares one connection between components under a NotificationsProvider', async () => {
    const server = await f.hub();
    mount(
      createElement(
        NotificationsProvider,
        optionsFor(server),
        createElement(Inbox, { name: 'bell' }),
        createElement(Inbox, { name: 'list' }),
      ),
    );
    await eventually(() => server.events.subscribe.length === 1, 'the provider subscribed');
    await server.hub.publish('user:u1', custom('shared-1'));
    await eventually(() => listed('bell').includes('shared-1') && listed('list').includes('shared-1'), 'both show it');
    expect(text('bell-status')).toBe('open');
    expect(text('list-status')).toBe('open');
    expect(text('bell-unread')).toBe('1');
    await sleep(200);
    expect(server.events.connection).toHaveLength(1);
  });

  it('throws a clear error when used without options outside a provider', () => {
    const quiet = console.error;
    console.error = () => {};
    f.defer(() => {
      console.error = quiet;
    });
    expect(() => render(createElement(Inbox))).toThrow(/pass options or render inside <NotificationsProvider>/);
  });

  it('reports a rejected token as a closed status and an error', async () => {
    const server = await f.hub({ authenticate: () => null });
    let latest: UseNotificationsResult<NotificationMap> | undefined;
    mount(createElement(Inbox, { options: optionsFor(server), onResult: (r) => (latest = r) }));
    await eventually(() => text('inbox-status') === 'closed', 'the hook reports closed');
    expect(latest?.status).toMatchObject({ state: 'closed', reason: { code: 4401, fatal: true } });
    expect(latest?.error).toMatchObject({ name: 'WardcastError', code: 'auth_failed' });
    await sleep(200);
    expect(server.events.connection).toHaveLength(1);
  });
});

describe('NotificationsStore', () => {
  it('connects without a token when the upgrade request authenticates (a header, as a cookie would)', async () => {
    // The hub accepts only the upgrade's `x-session` header; an `auth` frame would be refused.
    const server = await f.hub({
      authenticate: ({ request, token }) =>
        token === undefined && request.headers['x-session'] === 's-u1' ? { userId: 'u1' } : null,
    });
    class WithSession extends WebSocket {
      constructor(url: string) {
        super(url, { headers: { 'x-session': 's-u1' } });
      }
    }
    const { token: _token, ...rest } = optionsFor(server, {
      WebSocket: WithSession as unknown as WebSocketConstructor,
    });
    const store = new NotificationsStore(() => rest);
    f.defer(store.start());
    await eventually(() => store.getSnapshot().status.state === 'open', 'the store reports open');
    await eventually(() => server.hub.stats().subscriptions === 1, 'subscribed');
    await server.hub.publish('user:u1', custom('n1'));
    await eventually(() => store.getSnapshot().notifications.length === 1, 'the notification');
    // No `auth` frame went out (the hub would count it as invalid, or refuse it).
    expect(server.hub.stats().drops).toMatchObject({ invalidFrames: 0, authFailures: 0 });
    expect(store.getSnapshot().error).toBeUndefined();
  });

  it('closes its client and frees it when the function start() returned is called', async () => {
    const server = await f.hub();
    const store = new NotificationsStore(() => optionsFor(server));
    const stop = store.start();
    const client = store.client;
    await eventually(() => store.getSnapshot().status.state === 'open', 'the store reports open');

    stop();
    expect(client?.status).toEqual({ state: 'closed', reason: { code: 1000, reason: 'client closed', fatal: true } });
    expect(store.client).toBeUndefined();
    await eventually(() => server.hub.stats().connections === 0, 'the hub freed the connection');
    expect(server.events.disconnect[0]).toMatchObject({ code: 1000 });
  });
});
