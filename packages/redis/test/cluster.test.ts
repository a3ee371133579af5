import { CloseCode } from '@wardcast/server';
import { expect, it } from 'vitest';
import { tokenFor, useHarness } from '../../server/test/helpers/harness.js';
import { startCluster } from './helpers/hubs.js';
import { describeRedis, rawClient, until, useBackplanes } from './helpers/redis.js';

describeRedis('cross-instance control over the Redis backplane', () => {
  const harness = useHarness();
  const backplanes = useBackplanes();
  const raw = rawClient();

  it('disconnectUser closes the user’s sockets on every instance with 4410', async () => {
    const [a, b] = await startCluster(harness, backplanes, 2);
    if (!a || !b) throw new Error('no hubs');
    const onA = await harness.connectAs(a, 'u1');
    const onB1 = await harness.connectAs(b, 'u1');
    const onB2 = await harness.connectAs(b, 'u1');
    const other = await harness.connectAs(b, 'u2');
    expect(a.hub.disconnectUser('u1', 'signed out')).toBe(1);
    for (const c of [onA, onB1, onB2])
      expect(await c.waitClose()).toEqual({ code: CloseCode.SessionRevoked, reason: 'signed out' });
    await other.roundTrip();
  });

  it('limits connections per user across instances, and frees slots when connections close', async () => {
    const [a, b] = await startCluster(harness, backplanes, 2, { hub: { maxConnectionsPerUser: 2 } });
    if (!a || !b) throw new Error('no hubs');
    const first = await harness.connectAs(a, 'u1');
    await harness.connectAs(b, 'u1');
    const third = harness.connect(a, { token: tokenFor('u1') });
    expect((await third.waitClose()).code).toBe(CloseCode.TooManyConnections);
    // The retry hint is instanceTtlMs: by then the slots of a crashed instance no longer count.
    expect(third.framesOf('error')).toEqual([
      { type: 'error', code: 'too_many_connections', message: 'too many connections', retryAfterMs: 8_000 },
    ]);
    const fourth = harness.connect(b, { token: tokenFor('u1') });
    expect((await fourth.waitClose()).code).toBe(CloseCode.TooManyConnections);
    // Another user is not affected.
    await harness.connectAs(b, 'u2');
    first.ws.close(1000);
    await first.waitClose();
    await until(async () => (await raw.zcard(`${backplanes.prefix()}connections:u1`)) === 1, 'slot released');
    await harness.connectAs(b, 'u1');
  });

  it('shows presence across instances: joins and leaves reach watchers everywhere, once per user', async () => {
    const [a, b] = await startCluster(harness, backplanes, 2);
    if (!a || !b) throw new Error('no hubs');
    const watcher = await harness.connectAs(a, 'nurse');
    watcher.send({ type: 'subscribe', ref: 'w', topics: [{ topic: 'patient:p9', presence: true }] });
    await watcher.nextFrame('presence', (f) => f.members !== undefined);

    const doctor = await harness.subscriber(b, 'doctor', ['patient:p9']);
    expect(await watcher.nextFrame('presence')).toMatchObject({ topic: 'patient:p9', joined: ['doctor'] });
    await until(() => a.hub.presence('patient:p9').includes('doctor'), 'presence on a');
    expect(a.hub.presence('patient:p9')).toEqual(['doctor', 'nurse']);
    expect(b.hub.presence('patient:p9')).toEqual(['doctor', 'nurse']);

    // The doctor on a second instance too: no second join; leaving one instance is no leave.
    const doctorOnA = await harness.subscriber(a, 'doctor', ['patient:p9']);
    doctorOnA.ws.close(1000);
    await doctorOnA.waitClose();
    await new Promise((r) => setTimeout(r, 100));
    expect(watcher.framesOf('presence').filter((f) => f.members === undefined)).toHaveLength(1);

    // A late watcher on b gets the union in its member list.
    const late = await harness.connectAs(b, 'late');
    late.send({ type: 'subscribe', ref: 'l', topics: [{ topic: 'patient:p9', presence: true }] });
    expect(await late.nextFrame('presence')).toMatchObject({ members: ['doctor', 'late', 'nurse'] });

    doctor.ws.close(1000);
    expect(await watcher.nextFrame('presence', (f) => f.left !== undefined)).toMatchObject({ left: ['doctor'] });
    await until(() => !a.hub.presence('patient:p9').includes('doctor'), 'doctor gone on a');
  });

  it('forgets the presence of an instance that stopped heartbeating', async () => {
    const [a] = await startCluster(harness, backplanes, 1, { backplane: { instanceTtlMs: 600 } });
    if (!a) throw new Error('no hub');
    const watcher = await harness.connectAs(a, 'nurse');
    watcher.send({ type: 'subscribe', ref: 'w', topics: [{ topic: 'patient:p1', presence: true }] });
    await watcher.nextFrame('presence', (f) => f.members !== undefined);
    // A "crashed" instance: one heartbeat, one presence entry and message, then silence.
    const prefix = backplanes.prefix();
    await raw.zadd(`${prefix}instances`, Date.now() + 300, 'ghost');
    await raw.hset(`${prefix}presence:ghost`, 'patient:p1\nghost-user', '1');
    await raw.publish(
      `${prefix}control`,
      JSON.stringify({ o: 'ghost', m: { type: 'presence', topic: 'patient:p1', userId: 'ghost-user', present: true } }),
    );
    expect(await watcher.nextFrame('presence')).toMatchObject({ joined: ['ghost-user'] });
    expect(await watcher.nextFrame('presence', () => true, 3_000)).toMatchObject({ left: ['ghost-user'] });
    expect(a.hub.presence('patient:p1')).toEqual(['nurse']);
  });

  it('shareReceipt sends a receipt frame to the user’s connections on every instance', async () => {
    const [a, b] = await startCluster(harness, backplanes, 2);
    if (!a || !b) throw new Error('no hubs');
    const onA = await harness.connectAs(a, 'u1');
    const onB = await harness.connectAs(b, 'u1');
    const other = await harness.connectAs(b, 'u2');
    expect(await a.hub.shareReceipt('u1', 'n42', 'read')).toBe(1);
    expect(await onA.nextFrame('receipt')).toEqual({ type: 'receipt', id: 'n42', action: 'read' });
    expect(await onB.nextFrame('receipt')).toEqual({ type: 'receipt', id: 'n42', action: 'read' });
    await other.roundTrip();
    expect(other.framesOf('receipt')).toHaveLength(0);
  });
});
