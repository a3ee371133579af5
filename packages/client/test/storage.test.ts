import type { StorageLike } from '@wardcast/client';
import { describe, expect, it } from 'vitest';
import { custom, eventually, record, useFixtures } from './helpers/fixtures.js';

const f = useFixtures();

/** A `localStorage` stand-in backed by a Map. */
class MapStorage implements StorageLike {
  readonly map = new Map<string, string>();
  getItem(key: string): string | null {
    return this.map.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.map.set(key, value);
  }
}

describe('storage adapter', () => {
  it('keeps resume points so a new client resumes where the closed one stopped', async () => {
    const server = await f.hub();
    const storage = new MapStorage();
    const first = f.client({ url: server.url, topics: ['user:u1'], storage });
    const firstLog = record(first);
    await eventually(() => server.events.subscribe.length === 1, 'the first client subscribed');
    for (const id of ['n1', 'n2']) await server.hub.publish('user:u1', custom(id));
    await eventually(() => firstLog.notifications.length === 2, 'n1 and n2 arrived');
    first.close();

    const saved = JSON.parse(storage.getItem('wardcast:positions') ?? 'null') as Record<string, unknown>;
    expect(saved).toEqual({ 'user:u1': { epoch: firstLog.notifications[1]?.epoch, seq: 2 } });

    await server.hub.publish('user:u1', custom('n3'));
    const second = f.client({ url: server.url, topics: ['user:u1'], storage });
    const secondLog = record(second);
    await eventually(() => server.events.subscribe.length === 2, 'the second client subscribed');
    expect(server.events.subscribe[1]).toMatchObject({ topic: 'user:u1', recovered: true });
    await eventually(() => secondLog.notifications.length === 1, 'n3 arrived');
    await server.hub.publish('user:u1', custom('n4'));
    await eventually(() => secondLog.notifications.length === 2, 'n4 arrived');

    expect(secondLog.notifications.map((n) => n.id)).toEqual(['n3', 'n4']);
    expect(secondLog.gaps).toEqual([]);
  });

  it('uses storageKey as the prefix and starts fresh from unreadable storage', async () => {
    const server = await f.hub();
    const storage = new MapStorage();
    storage.setItem('tab-a:positions', '{not json');
    const client = f.client({ url: server.url, topics: ['user:u1'], storage, storageKey: 'tab-a' });
    const log = record(client);
    await eventually(() => server.events.subscribe.length === 1, 'subscribed');
    // No resume point was sent, so the hub reports nothing recovered and the client sees no gap.
    expect(server.events.subscribe[0]).toMatchObject({ recovered: false });
    await server.hub.publish('user:u1', custom('n1'));
    await eventually(() => log.notifications.length === 1, 'n1 arrived');
    client.close();
    expect(JSON.parse(storage.getItem('tab-a:positions') ?? 'null')).toMatchObject({ 'user:u1': { seq: 1 } });
    expect(storage.getItem('wardcast:positions')).toBeNull();
    expect(log.gaps).toEqual([]);
  });
});
