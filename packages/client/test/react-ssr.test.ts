import type { WebSocketConstructor } from '@wardcast/client';
import { EMPTY_SNAPSHOT, NotificationsProvider, useNotifications } from '@wardcast/client/react';
import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { sleep, useFixtures } from './helpers/fixtures.js';
import { Inbox } from './helpers/react.js';

const f = useFixtures();

function Badge() {
  const picked = useNotifications((s) => `${s.status.state}:${s.unreadCount}:${s.notifications.length}`);
  return createElement('b', null, picked);
}

/** `ws`, counting how many sockets were created. */
function countingWebSocket(): { WebSocket: WebSocketConstructor; count: () => number } {
  let created = 0;
  class Counting extends WebSocket {
    constructor(url: string) {
      super(url);
      created++;
    }
  }
  return { WebSocket: Counting, count: () => created };
}

describe('server-side rendering', () => {
  it('renders the empty snapshot and opens no connection', async () => {
    expect(typeof (globalThis as { window?: unknown }).window).toBe('undefined');
    const server = await f.hub();
    const ws = countingWebSocket();
    let tokenCalls = 0;
    const html = renderToString(
      createElement(Inbox, {
        options: {
          url: server.url,
          token: () => {
            tokenCalls++;
            return 'tok:u1';
          },
          topics: ['user:u1'],
          WebSocket: ws.WebSocket,
        },
      }),
    );

    expect(html).toContain('<span data-testid="inbox-status">idle</span>');
    expect(html).toContain('<span data-testid="inbox-unread">0</span>');
    expect(html).toContain('<ul data-testid="inbox-list"></ul>');
    expect(EMPTY_SNAPSHOT).toMatchObject({ notifications: [], unreadCount: 0, status: { state: 'idle' } });

    await sleep(200);
    expect(ws.count()).toBe(0);
    expect(tokenCalls).toBe(0);
    expect(server.events.connection).toEqual([]);
  });

  it('renders a NotificationsProvider tree on the server without connecting', async () => {
    const server = await f.hub();
    const ws = countingWebSocket();
    const html = renderToString(
      createElement(
        NotificationsProvider,
        { url: server.url, token: 'tok:u1', topics: ['user:u1'], WebSocket: ws.WebSocket },
        createElement(Inbox, { name: 'bell' }),
      ),
    );
    expect(html).toContain('<span data-testid="bell-status">idle</span>');
    await sleep(200);
    expect(ws.count()).toBe(0);
    expect(server.events.connection).toEqual([]);
  });

  it('renders what a selector picks from the empty snapshot', async () => {
    const server = await f.hub();
    const ws = countingWebSocket();
    const html = renderToString(
      createElement(
        NotificationsProvider,
        { url: server.url, token: 'tok:u1', topics: ['user:u1'], WebSocket: ws.WebSocket },
        createElement(Badge),
      ),
    );
    expect(html).toBe('<b>idle:0:0</b>');
    expect(ws.count()).toBe(0);
  });
});
