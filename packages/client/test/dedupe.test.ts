import type { NotificationFrame } from '@wardcast/protocol';
import { describe, expect, it } from 'vitest';
import { custom, eventually, record, useFixtures } from './helpers/fixtures.js';
import { type RawConnection, startRawHub } from './helpers/raw-hub.js';

const f = useFixtures();

describe('dedupe', () => {
  it('hands a notification published on two subscribed topics to the app once', async () => {
    const server = await f.hub({ authorize: () => true });
    const client = f.client({ url: server.url, topics: ['user:u1', 'broadcast'] });
    const log = record(client);
    await eventually(() => server.events.subscribe.length === 2, 'both topics subscribed');

    const n = custom('same-id', { text: 'downtime' }, 'urgent');
    await server.hub.publish('user:u1', n);
    await server.hub.publish('broadcast', n);
    await server.hub.publish('broadcast', custom('marker'));
    await eventually(() => log.notifications.some((x) => x.id === 'marker'), 'the marker arrived');

    // Both copies were sent on the wire (two topics, two streams)...
    expect(server.events.publish.filter((p) => p.id === 'same-id')).toHaveLength(2);
    // ...and the app saw one.
    expect(log.notifications.map((x) => x.id)).toEqual(['same-id', 'marker']);
  });

  it('reports no gap on a topic whose notification was a duplicate of another topic', async () => {
    const server = await f.hub({ authorize: () => true });
    const client = f.client({ url: server.url, topics: ['user:u1', 'broadcast'] });
    const log = record(client);
    await eventually(() => server.events.subscribe.length === 2, 'both topics subscribed');

    await server.hub.publish('user:u1', custom('shared'));
    await server.hub.publish('broadcast', custom('shared'));
    await server.hub.publish('broadcast', custom('next-on-broadcast'));
    await eventually(() => log.notifications.some((x) => x.id === 'next-on-broadcast'), 'the next one arrived');

    expect(log.gaps).toEqual([]);
  });

  it('delivers an id published twice on one topic once', async () => {
    const server = await f.hub();
    const client = f.client({ url: server.url, topics: ['user:u1'] });
    const log = record(client);
    await eventually(() => server.events.subscribe.length === 1, 'subscribed');
    const first = await server.hub.publish('user:u1', custom('a'));
    const again = await server.hub.publish('user:u1', custom('a'));
    await server.hub.publish('user:u1', custom('b'));
    await eventually(() => log.notifications.some((x) => x.id === 'b'), 'b arrived');
    expect(again).toMatchObject({ duplicate: true, seq: first.seq });
    expect(log.notifications.map((x) => x.id)).toEqual(['a', 'b']);
  });
});

/** Scripts the hub side: every subscribe succeeds at `position`, then the test sends frames. */
async function scriptedHub(position: { epoch: string; seq: number }) {
  const raw = await startRawHub({
    onFrame(connection, frame) {
      if (frame.type === 'subscribe') {
        connection.send({
          type: 'subscribed',
          topics: frame.topics.map((t) => ({ topic: t.topic, status: 'ok', recovered: false, position })),
        });
      }
    },
  });
  f.defer(() => raw.close());
  return raw;
}

function note(topic: string, epoch: string, seq: number, id = `${epoch}-${seq}`): NotificationFrame {
  return {
    type: 'notification',
    id,
    topic,
    epoch,
    seq,
    kind: 'custom',
    priority: 'routine',
    createdAt: new Date(0).toISOString(),
    payload: null,
  };
}

async function subscribedConnection(raw: Awaited<ReturnType<typeof scriptedHub>>): Promise<RawConnection> {
  await eventually(
    () => raw.connections[0]?.received.some((frame) => frame.type === 'subscribe') === true,
    'the client subscribed',
  );
  return raw.connections[0] as RawConnection;
}

describe('what the client checks on the wire', () => {
  it('drops a notification the hub sends twice (replay overlapping live delivery)', async () => {
    const raw = await scriptedHub({ epoch: 'e1', seq: 0 });
    const client = f.client({ url: raw.url, topics: ['user:u1'] });
    const log = record(client);
    const conn = await subscribedConnection(raw);

    conn.send(note('user:u1', 'e1', 1));
    conn.send(note('user:u1', 'e1', 2));
    conn.send(note('user:u1', 'e1', 1));
    conn.send(note('user:u1', 'e1', 2, 'other-id-same-seq'));
    conn.send(note('user:u1', 'e1', 3));
    await eventually(() => log.notifications.some((n) => n.seq === 3), 'seq 3 arrived');
    expect(log.notifications.map((n) => n.id)).toEqual(['e1-1', 'e1-2', 'e1-3']);
    expect(log.gaps).toEqual([]);
  });

  it('reports a seq jump and an epoch change seen in live delivery as gaps', async () => {
    const raw = await scriptedHub({ epoch: 'e1', seq: 0 });
    const client = f.client({ url: raw.url, topics: ['user:u1'] });
    const log = record(client);
    const conn = await subscribedConnection(raw);

    conn.send(note('user:u1', 'e1', 1));
    conn.send(note('user:u1', 'e1', 4));
    conn.send(note('user:u1', 'e2', 1));
    await eventually(() => log.notifications.length === 3, 'all three arrived');
    expect(log.gaps).toEqual([
      { topic: 'user:u1', reason: 'seq_jump' },
      { topic: 'user:u1', reason: 'epoch_changed' },
    ]);
  });

  it('reports an epoch change whose first notification it already has (a publish retried after the store rewound)', async () => {
    const raw = await scriptedHub({ epoch: 'e1', seq: 0 });
    const client = f.client({ url: raw.url, topics: ['user:u1'] });
    const log = record(client);
    const conn = await subscribedConnection(raw);

    conn.send(note('user:u1', 'e1', 1, 'a'));
    conn.send(note('user:u1', 'e1', 2, 'b'));
    // The store came back without b and a new epoch; b's publisher retried it first.
    conn.send(note('user:u1', 'e2', 1, 'b'));
    conn.send(note('user:u1', 'e2', 2, 'c'));
    await eventually(() => log.notifications.some((n) => n.id === 'c'), 'c arrived');
    expect(log.notifications.map((n) => n.id)).toEqual(['a', 'b', 'c']);
    expect(log.gaps).toEqual([{ topic: 'user:u1', reason: 'epoch_changed' }]);
  });

  it('ignores notifications for topics it did not subscribe to', async () => {
    const raw = await scriptedHub({ epoch: 'e1', seq: 0 });
    const client = f.client({ url: raw.url, topics: ['user:u1'] });
    const log = record(client);
    const conn = await subscribedConnection(raw);

    conn.send(note('patient:p1', 'e1', 1));
    conn.send(note('user:u1', 'e1', 1));
    await eventually(() => log.notifications.length > 0, 'the user notification arrived');
    expect(log.notifications.map((n) => n.topic)).toEqual(['user:u1']);
  });
});
