import type { Principal } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import type { TestClient } from './helpers/client.js';
import { eventually, useHarness } from './helpers/harness.js';

/**
 * What a connection was sent lately, which lets the hub accept an `ack` without asking a store,
 * is kept as handles the hub shares between connections and frees when no connection holds them
 * any more (NotificationHandles): these tests hold the acks to exactly what each connection was
 * sent while handles are shared, freed and reused, at every PHI level and through a replay.
 */

const TOPIC = 'patient:p1';
const team = (_p: Principal, topic: string): boolean => topic === TOPIC;
const custom = (id: string) => ({ id, kind: 'custom', payload: { note: `note ${id}` } }) as const;

/** Sends an ack of each id and returns, per id, `receipt` or the error code it got. */
async function ackAll(client: TestClient, ids: readonly string[]): Promise<Record<string, string>> {
  for (const id of ids) client.send({ type: 'ack', id, ref: `ack-${id}` });
  const answer = (id: string) =>
    client.frames.find((f) => (f.type === 'receipt' || f.type === 'error') && f.ref === `ack-${id}`);
  await eventually(() => ids.every((id) => answer(id) !== undefined), 'every ack was answered');
  const out: Record<string, string> = {};
  for (const id of ids) {
    const frame = answer(id);
    out[id] = frame?.type === 'error' ? frame.code : 'receipt';
  }
  return out;
}

describe('acks checked against what the connection was sent', () => {
  const harness = useHarness();

  it('stay exact while handles are shared, freed by a connection that left, and reused', async () => {
    const fx = await harness.start({ authorize: team, maxRecentDeliveries: 2 });
    const left = await harness.subscriber(fx, 'dr-a', [TOPIC]);
    const stays = await harness.subscriber(fx, 'dr-b', [TOPIC]);
    for (const id of ['n-1', 'n-2']) await fx.hub.publish(TOPIC, custom(id));
    await left.notification('n-2');
    left.terminate();
    await eventually(() => fx.hub.stats().connections === 1, 'the first connection is gone');
    // n-1..n-3 drop out of the only ring left, their handles go back and are taken by n-4, n-5.
    for (const id of ['n-3', 'n-4', 'n-5']) await fx.hub.publish(TOPIC, custom(id));
    await stays.notification('n-5');
    const later = await harness.subscriber(fx, 'dr-c', [TOPIC]);

    const acks = await ackAll(stays, ['n-5', 'n-4', 'n-3', 'n-1']);
    const never = await ackAll(later, ['n-5', 'n-4']);

    expect(acks).toEqual({
      'n-5': 'receipt',
      'n-4': 'receipt',
      'n-3': 'unknown_notification',
      'n-1': 'unknown_notification',
    });
    expect(never).toEqual({ 'n-5': 'unknown_notification', 'n-4': 'unknown_notification' });
  });

  it('at every PHI level, and for what a replay sent, each connection for its own', async () => {
    const fx = await harness.start({ authorize: team });
    await fx.hub.publish(TOPIC, custom('before'));
    const full = await harness.subscriber(fx, 'dr-full', [TOPIC]);
    const reduced = new Map<string, TestClient>();
    for (const phi of ['id-only', 'empty'] as const) {
      const client = await harness.connectAs(fx, `dr-${phi}`);
      client.send({ type: 'subscribe', ref: phi, topics: [{ topic: TOPIC, phi }] });
      await client.nextFrame('subscribed', (f) => f.ref === phi);
      reduced.set(phi, client);
    }
    await fx.hub.publish(TOPIC, custom('live'));
    const first = await full.notification('live');
    // A connection that resumes from before `before` is sent both in its replay.
    const resumed = await harness.connectAs(fx, 'dr-resumed');
    await resumed.subscribe([{ topic: TOPIC, since: { epoch: first.epoch, seq: 0 } }]);
    await resumed.notification('live');

    const results = {
      full: await ackAll(full, ['live', 'before']),
      'id-only': await ackAll(reduced.get('id-only') as TestClient, ['live', 'before']),
      empty: await ackAll(reduced.get('empty') as TestClient, ['live', 'before']),
      resumed: await ackAll(resumed, ['live', 'before']),
    };

    const liveOnly = { live: 'receipt', before: 'unknown_notification' };
    expect(results).toEqual({
      full: liveOnly,
      'id-only': liveOnly,
      empty: liveOnly,
      resumed: { live: 'receipt', before: 'receipt' },
    });
  });
});
