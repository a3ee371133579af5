import { NotificationsStore } from '@wardcast/client/react';
import { MemoryInbox } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { custom, eventually, FAST, record, tokenFor, useFixtures, WS } from './helpers/fixtures.js';
import { startRawHub } from './helpers/raw-hub.js';

const f = useFixtures();

describe('unread replay and read state from other devices', () => {
  it('asks for the unread replay on user topics only, unless `unread: false`', async () => {
    const raw = await startRawHub();
    f.defer(() => raw.close());
    f.client({ url: raw.url, topics: ['user:u1', 'patient:p1'] });
    f.client({ url: raw.url, topics: ['user:u1'], unread: false });
    await eventually(
      () =>
        raw.connections.length === 2 && raw.connections.every((c) => c.received.some((x) => x.type === 'subscribe')),
      'both clients subscribed',
    );
    const entries = raw.connections.map((c) => c.received.find((x) => x.type === 'subscribe'));
    const byUrl = entries.map((e) => (e?.type === 'subscribe' ? e.topics : []));
    expect(byUrl).toContainEqual([{ topic: 'user:u1', unread: true }, { topic: 'patient:p1' }]);
    expect(byUrl).toContainEqual([{ topic: 'user:u1' }]);
  });

  it('a fresh client gets the unread inbox; a receipt from another device shows in the store', async () => {
    const inbox = new MemoryInbox();
    const server = await f.hub({ inbox });
    for (let i = 1; i <= 5; i++) await server.hub.publish('user:u1', custom(`n-${i}`));
    inbox.markRead('u1', 'n-2');
    const other = f.client({ url: server.url, topics: ['user:u1'] });
    const otherLog = record(other);
    const store = new NotificationsStore(() => ({
      url: server.url,
      token: () => tokenFor('u1'),
      topics: ['user:u1'],
      WebSocket: WS,
      ...FAST,
    }));
    const stop = store.start();
    f.defer(stop);
    await eventually(() => store.getSnapshot().notifications.length === 4, 'the store has the unread ones');
    await eventually(() => otherLog.notifications.length === 4, 'the other client too');
    expect(store.getSnapshot().notifications.map((n) => n.id)).toEqual(['n-5', 'n-4', 'n-3', 'n-1']);
    expect(store.getSnapshot().unreadCount).toBe(4);
    // Read and ack on the other device: the store counts them read.
    other.markRead('n-4');
    other.ack('n-1');
    await eventually(() => store.getSnapshot().unreadCount === 2, 'the store saw both receipts');
    expect([...store.getSnapshot().readIds].sort()).toEqual(['n-1', 'n-4']);
    // And the other way round: the client emits `receipt` for a read it did not send.
    store.markRead('n-5');
    await eventually(() => otherLog.receipts.some((r) => r.id === 'n-5'), 'the other client got the receipt');
    expect(other.pendingReceipts).toBe(0);
    expect(inbox.unreadCount('u1')).toBe(1);
  });
});
