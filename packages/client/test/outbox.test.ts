import { MemoryInbox } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { custom, eventually, record, sleep, useFixtures } from './helpers/fixtures.js';

const f = useFixtures();

describe('offline ack and read queue', () => {
  it('sends acks and reads made before connecting once, after the connection opens', async () => {
    // The inbox vouches for ids this connection was never sent (the hub refuses unknown ones).
    const server = await f.hub({ inbox: new MemoryInbox() });
    await server.hub.publish('user:u1', custom('n1'));
    await server.hub.publish('user:u1', custom('n2'));
    const client = f.client({ url: server.url, topics: ['user:u1'], autoConnect: false, unread: false });
    const log = record(client);

    client.ack('n1');
    client.ack('n1');
    client.markRead('n1');
    client.markRead('n2');
    expect(client.pendingReceipts).toBe(3);

    client.connect();
    await eventually(() => client.pendingReceipts === 0, 'the hub confirmed every receipt');
    await sleep(150);
    expect(server.events.ack.map((e) => e.id)).toEqual(['n1']);
    expect(server.events.read.map((e) => e.id)).toEqual(['n1', 'n2']);
    expect(log.receipts).toEqual([
      { id: 'n1', action: 'ack' },
      { id: 'n1', action: 'read' },
      { id: 'n2', action: 'read' },
    ]);
  });

  it('sends acks and reads made while the hub is down once after reconnecting, and never again', async () => {
    // One inbox shared by the hubs (as a durable one would be; a hub closes its inbox, so not this
    // one): the new hub knows crit-1 from it.
    const inbox = Object.assign(new MemoryInbox(), { close() {} });
    const first = await f.hub({ inbox });
    const client = f.client({ url: first.url, topics: ['user:u1'] });
    await eventually(() => first.events.subscribe.length === 1, 'the client subscribed');
    await first.hub.publish('user:u1', custom('crit-1', { test: 'potassium' }, 'critical'));

    await first.close();
    await eventually(() => client.status.state !== 'open', 'the client lost the hub');
    client.ack('crit-1');
    client.markRead('crit-1');
    expect(client.pendingReceipts).toBe(2);
    expect(first.events.ack).toEqual([]);

    const second = await f.hub({ inbox }, first.port);
    await eventually(() => client.pendingReceipts === 0, 'the new hub confirmed both');
    expect(second.events.ack.map((e) => [e.id, e.userId])).toEqual([['crit-1', 'u1']]);
    expect(second.events.read.map((e) => [e.id, e.userId])).toEqual([['crit-1', 'u1']]);

    // A later reconnect does not send confirmed receipts again.
    await second.close();
    const third = await f.hub({ inbox }, first.port);
    await eventually(() => third.events.subscribe.length === 1, 'the client resubscribed');
    await sleep(150);
    expect(third.events.ack).toEqual([]);
    expect(third.events.read).toEqual([]);
    expect(second.events.ack).toHaveLength(1);
    expect(second.events.read).toHaveLength(1);
  });

  it('sends an ack at once while connected', async () => {
    const server = await f.hub();
    const client = f.client({ url: server.url, topics: ['user:u1'] });
    const log = record(client);
    await eventually(() => server.events.subscribe.length === 1, 'the client subscribed');
    await server.hub.publish('user:u1', custom('n9'));
    await eventually(() => log.notifications.length === 1, 'the client got n9');
    client.ack('n9');
    await eventually(() => server.events.ack.length === 1, 'the hub got the ack');
    await eventually(() => client.pendingReceipts === 0, 'the receipt arrived');
    expect(server.events.ack[0]?.id).toBe('n9');
  });
});
