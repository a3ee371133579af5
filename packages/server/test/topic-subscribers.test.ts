import type { PhiLevel } from '@wardcast/protocol';
import { describe, expect, it } from 'vitest';
import { Registry } from '../src/core/registry.js';
import type { StoredNotification } from '../src/core/types.js';
import type { TestClient } from './helpers/client.js';
import { useHarness } from './helpers/harness.js';

/**
 * Issue 12, target 4: a topic's subscribers hold a lone live subscriber in a field and make each
 * group (several live ones, reduced levels, syncing, presence watchers) only while it has members.
 * Held to a plain model of who is where, and over real sockets.
 */

const topic = 'user:alice';
const LEVELS: PhiLevel[] = ['full', 'id-only', 'empty'];

type State = { where: PhiLevel | 'syncing'; watching: boolean };

describe('topic subscribers: groups made on first use', () => {
  it('holds a lone live subscriber without any set', () => {
    const registry = new Registry<string>();

    registry.beginSync(topic, 'a');
    registry.goLive(topic, 'a', 'full');
    const subs = registry.subscribers(topic);

    expect(subs?.solo).toBe('a');
    expect([subs?.many, subs?.idOnly, subs?.empty, subs?.syncOne, subs?.syncing, subs?.watchers]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('keeps live subscribers in the order they went live as a second one comes and goes', () => {
    const registry = new Registry<string>();
    const live = (conn: string) => {
      registry.beginSync(topic, conn);
      registry.goLive(topic, conn, 'full');
    };

    live('a');
    live('b');
    expect([...registry.connections(topic)]).toEqual(['a', 'b']);
    registry.unsubscribe(topic, 'a');
    live('c');
    expect([...registry.connections(topic)]).toEqual(['b', 'c']);
    registry.unsubscribe(topic, 'b');
    registry.unsubscribe(topic, 'c');
    expect(registry.subscribers(topic)).toBeUndefined();
    live('d');
    expect(registry.subscribers(topic)?.solo).toBe('d');
  });

  it('matches a plain model of who is where under random changes, and keeps no empty group', () => {
    const registry = new Registry<string>();
    const model = new Map<string, State>();
    /** Full-level live subscribers in the order they went live. */
    let order: string[] = [];
    let x = 11;
    const next = (n: number) => {
      x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
      return x % n;
    };
    for (let i = 0; i < 5000; i++) {
      const conn = `c${next(6)}`;
      const level = LEVELS[next(3)] as PhiLevel;
      const op = next(5);
      const state = model.get(conn);
      if (op === 0) {
        expect(registry.beginSync(topic, conn)).toBe(model.size === 0);
        model.set(conn, { where: 'syncing', watching: false });
        order = order.filter((c) => c !== conn);
      } else if (op === 1) {
        registry.goLive(topic, conn, level);
        if (state?.where === 'syncing') {
          state.where = level;
          if (level === 'full') order.push(conn);
        }
      } else if (op === 2) {
        const moved = registry.setLevel(topic, conn, level);
        expect(moved).toBe(state !== undefined && state.where !== 'syncing');
        if (moved && state) {
          order = order.filter((c) => c !== conn);
          state.where = level;
          if (level === 'full') order.push(conn);
        }
      } else if (op === 3) {
        expect(registry.watchPresence(topic, conn)).toBe(state !== undefined);
        if (state) state.watching = true;
      } else {
        expect(registry.unsubscribe(topic, conn)).toBe(state !== undefined && model.size === 1);
        model.delete(conn);
        order = order.filter((c) => c !== conn);
      }

      const subs = registry.subscribers(topic);
      if (model.size === 0) {
        expect(subs).toBeUndefined();
        continue;
      }
      if (!subs) throw new Error('topic lost while it has subscribers');
      const inState = (where: State['where']) => [...model].filter(([, s]) => s.where === where).map(([c]) => c);
      expect(subs.liveCount).toBe(order.length);
      expect(subs.count('id-only')).toBe(inState('id-only').length);
      expect(subs.count('empty')).toBe(inState('empty').length);
      expect(subs.others).toBe(model.size - order.length);
      expect([...registry.connections(topic)].slice(0, order.length)).toEqual(order);
      expect(new Set(registry.connections(topic))).toEqual(new Set(model.keys()));
      for (const [conn, s] of model) {
        expect(subs.levelOf(conn)).toBe(s.where === 'syncing' ? undefined : s.where);
        expect(subs.watchers?.has(conn) ?? false).toBe(s.watching);
      }
      // A solo subscriber never sits next to a set of them (live or syncing); no group is kept empty.
      expect(subs.solo !== undefined && subs.many !== undefined).toBe(false);
      expect(subs.syncOne !== undefined && subs.syncing !== undefined).toBe(false);
      expect(subs.syncingCount).toBe(inState('syncing').length);
      if (subs.syncOne !== undefined) expect(model.get(subs.syncOne)?.where).toBe('syncing');
      for (const group of [subs.many, subs.idOnly, subs.empty, subs.syncing, subs.watchers]) {
        if (group !== undefined) expect(group.size).toBeGreaterThan(0);
      }
    }
  });
});

describe('topic subscribers: what syncing subscribers buffer', () => {
  const note = (seq: number) => ({ id: `n${seq}`, seq }) as unknown as StoredNotification;

  it('gives each syncing subscriber what was published while it synced, one syncing or several', () => {
    const registry = new Registry<string>();
    /** Per syncing connection, the seqs published since it began syncing. */
    const model = new Map<string, number[]>();
    let seq = 0;
    let x = 5;
    const next = (n: number) => {
      x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
      return x % n;
    };
    for (let i = 0; i < 5000; i++) {
      const conn = `c${next(4)}`;
      const op = next(3);
      if (op === 0) {
        registry.beginSync(topic, conn);
        model.set(conn, []);
      } else if (op === 1) {
        const n = note(++seq);
        registry.subscribers(topic)?.buffer(n);
        for (const list of model.values()) list.push(seq);
      } else {
        const buffered = registry.goLive(topic, conn, 'full');
        expect(buffered.map((n) => n.seq)).toEqual(model.get(conn) ?? []);
        model.delete(conn);
      }
      const subs = registry.subscribers(topic);
      expect(subs?.syncingCount ?? 0).toBe(model.size);
    }
  });

  it('holds a lone syncing subscriber without a map, and makes its buffer only when something is published', () => {
    const registry = new Registry<string>();
    registry.beginSync(topic, 'a');
    const subs = registry.subscribers(topic);
    expect([subs?.syncOne, subs?.syncOneBuffer, subs?.syncing]).toEqual(['a', undefined, undefined]);
    expect(registry.goLive(topic, 'a', 'full')).toEqual([]);

    registry.beginSync(topic, 'b');
    subs?.buffer(note(1));
    expect(subs?.syncOneBuffer?.map((n) => n.seq)).toEqual([1]);
    registry.beginSync(topic, 'c');
    expect(subs?.syncOne).toBeUndefined();
    subs?.buffer(note(2));
    expect(registry.goLive(topic, 'b', 'full').map((n) => n.seq)).toEqual([1, 2]);
    expect(registry.goLive(topic, 'c', 'full').map((n) => n.seq)).toEqual([2]);
    expect([subs?.syncOne, subs?.syncing, subs?.syncingCount]).toEqual([undefined, undefined, 0]);
  });
});

describe('topic subscribers over real sockets', () => {
  const harness = useHarness();

  /** The ids of the notifications `client` received, in order. */
  const ids = (client: TestClient) => client.framesOf('notification').map((n) => n.id);

  it("delivers each notification once, in order, to the user's connections live when it was published", async () => {
    const fx = await harness.start();
    const publish = async (id: string, ...waiters: TestClient[]) => {
      await fx.hub.publish(topic, { kind: 'custom', id });
      await Promise.all(waiters.map((c) => c.notification(id)));
    };

    const first = await harness.subscriber(fx, 'alice', [topic]);
    await publish('n1', first);
    const second = await harness.subscriber(fx, 'alice', [topic]);
    await publish('n2', first, second);
    first.ws.close();
    await first.waitClose();
    await publish('n3', second);
    const third = await harness.subscriber(fx, 'alice', [topic]);
    await publish('n4', second, third);
    second.ws.close();
    await second.waitClose();
    await publish('n5', third);

    expect(ids(first)).toEqual(['n1', 'n2']);
    expect(ids(second)).toEqual(['n2', 'n3', 'n4']);
    expect(ids(third)).toEqual(['n4', 'n5']);
    expect(third.seqs(topic)).toEqual([4, 5]);
  });

  it('sends each subscriber the frame of its own PHI level next to a lone full-level one', async () => {
    const levels: Record<string, PhiLevel> = { alice: 'full', bob: 'id-only', carol: 'empty' };
    const fx = await harness.start({
      authorize: () => true,
      phiLevel: (principal) => levels[principal.userId] ?? 'empty',
    });
    const ward = 'patient:p7';
    const clients = await Promise.all(Object.keys(levels).map((user) => harness.subscriber(fx, user, [ward])));

    await fx.hub.publish(ward, {
      kind: 'appointment',
      id: 'apt-1',
      payload: { appointmentId: 'a1', status: 'rescheduled', startsAt: '2026-12-01T09:00:00Z', location: 'Room 4' },
    });
    const frames = await Promise.all(clients.map((c) => c.notification('apt-1')));

    expect(frames.map((f) => f.phi ?? 'full')).toEqual(['full', 'id-only', 'empty']);
    expect(frames[0]?.payload).toMatchObject({ location: 'Room 4' });
    expect(frames[1]?.payload).toEqual({ appointmentId: 'a1', status: 'rescheduled' });
    expect(frames[2]?.payload).toBeNull();
  });
});
