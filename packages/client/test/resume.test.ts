import { MemoryHistoryStore, type NotificationHub } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { custom, eventually, record, useFixtures } from './helpers/fixtures.js';

const f = useFixtures();

/**
 * History that outlives the hub using it, as Redis or Postgres would: `hub.close()` frees the
 * store it was given, which for the in-memory store means forgetting everything.
 */
class DurableMemoryStore extends MemoryHistoryStore {
  override close(): void {}
}

const publish = (hub: NotificationHub, topic: string, id: string) => hub.publish(topic, custom(id));

describe('resume across a hub restart', () => {
  it('delivers everything exactly once and in order, including what was published during the outage', async () => {
    const store = new DurableMemoryStore();
    const first = await f.hub({ history: store });
    const client = f.client({ url: first.url, topics: ['user:u1'] });
    const log = record(client);
    await eventually(() => first.events.subscribe.length === 1, 'the client subscribed');

    await publish(first.hub, 'user:u1', 'n1');
    await publish(first.hub, 'user:u1', 'n2');
    await eventually(() => log.notifications.length === 2, 'n1 and n2 arrived');

    await first.close();
    // The outage is real: the client tried and found nothing listening.
    await eventually(
      () => log.statuses.some((s) => s.state === 'reconnecting' && s.lastClose.code === 1006),
      'a reconnect attempt failed',
    );

    const second = await f.hub({ history: store }, first.port, async (hub) => {
      await publish(hub, 'user:u1', 'n3');
      await publish(hub, 'user:u1', 'n4');
    });
    await eventually(() => second.events.subscribe.length === 1, 'the client resubscribed');
    expect(second.events.subscribe[0]).toMatchObject({ topic: 'user:u1', recovered: true });
    await publish(second.hub, 'user:u1', 'n5');

    await eventually(() => log.notifications.length >= 5, 'all five arrived');
    expect(log.notifications.map((n) => n.id)).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    expect(log.notifications.map((n) => n.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(log.notifications.map((n) => n.epoch)).size).toBe(1);
    expect(log.gaps).toEqual([]);
    expect(client.status.state).toBe('open');
  });
});

describe('gaps', () => {
  it('reports a gap when the restarted hub has a new history (the epoch changed)', async () => {
    const first = await f.hub();
    const client = f.client({ url: first.url, topics: ['user:u1'] });
    const log = record(client);
    await eventually(() => first.events.subscribe.length === 1, 'the client subscribed');
    await publish(first.hub, 'user:u1', 'before');
    await eventually(() => log.notifications.length === 1, 'the first notification arrived');

    await first.close();
    const second = await f.hub({ history: new MemoryHistoryStore() }, first.port);
    await eventually(() => log.gaps.length > 0, 'a gap was reported');
    expect(log.gaps).toEqual([{ topic: 'user:u1', reason: 'history_exceeded' }]);
    expect(second.events.subscribe[0]).toMatchObject({ topic: 'user:u1', recovered: false });

    // The new stream is followed from its start: its first notification is not mistaken for old.
    await publish(second.hub, 'user:u1', 'after');
    await eventually(() => log.notifications.length === 2, 'the new notification arrived');
    expect(log.notifications.map((n) => [n.id, n.seq])).toEqual([
      ['before', 1],
      ['after', 1],
    ]);
    expect(log.gaps).toHaveLength(1);
  });

  it('reports a gap when more was published while away than history keeps', async () => {
    const server = await f.hub({ history: new MemoryHistoryStore({ maxPerTopic: 2 }) });
    const client = f.client({ url: server.url, topics: ['user:u1'] });
    const log = record(client);
    await eventually(() => server.events.subscribe.length === 1, 'the client subscribed');
    await publish(server.hub, 'user:u1', 'n1');
    await eventually(() => log.notifications.length === 1, 'n1 arrived');

    client.close();
    for (const id of ['n2', 'n3', 'n4', 'n5']) await publish(server.hub, 'user:u1', id);
    client.connect();

    await eventually(() => server.events.subscribe.length === 2, 'the client resubscribed');
    await eventually(() => log.gaps.length > 0, 'a gap was reported');
    expect(log.gaps).toEqual([{ topic: 'user:u1', reason: 'history_exceeded' }]);
    expect(server.events.subscribe[1]).toMatchObject({ recovered: false });

    await publish(server.hub, 'user:u1', 'n6');
    await eventually(() => log.notifications.length === 2, 'n6 arrived');
    // Nothing from the uncovered range is delivered as if it were complete, and no second gap.
    expect(log.notifications.map((n) => n.id)).toEqual(['n1', 'n6']);
    expect(log.gaps).toHaveLength(1);
  });

  it('reports no gap when the client comes back within history', async () => {
    const server = await f.hub({ history: new MemoryHistoryStore({ maxPerTopic: 10 }) });
    const client = f.client({ url: server.url, topics: ['user:u1'] });
    const log = record(client);
    await eventually(() => server.events.subscribe.length === 1, 'the client subscribed');
    await publish(server.hub, 'user:u1', 'n1');
    await eventually(() => log.notifications.length === 1, 'n1 arrived');

    client.close();
    for (const id of ['n2', 'n3']) await publish(server.hub, 'user:u1', id);
    client.connect();

    await eventually(() => log.notifications.length === 3, 'the missed notifications were replayed');
    expect(log.notifications.map((n) => n.id)).toEqual(['n1', 'n2', 'n3']);
    expect(server.events.subscribe[1]).toMatchObject({ recovered: true });
    expect(log.gaps).toEqual([]);
  });
});
