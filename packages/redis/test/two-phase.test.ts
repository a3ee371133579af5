import type { PublishStage } from '@wardcast/server';
import { expect, it } from 'vitest';
import { useHarness } from '../../server/test/helpers/harness.js';
import { startCluster } from './helpers/hubs.js';
import { describeRedis, rawClient, until, useBackplanes } from './helpers/redis.js';

/** A promise the test opens by hand. */
function gate(): { readonly wait: Promise<void>; open(): void } {
  let open = (): void => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/** A publish stage that holds the notifications with the given ids until their gate opens. */
function holding(gates: Map<string, { readonly wait: Promise<void> }>): PublishStage {
  return { name: 'hold', run: (n) => gates.get(n.id)?.wait };
}

describeRedis('the two-phase publish on the Redis backplane', () => {
  const harness = useHarness();
  const backplanes = useBackplanes();
  const raw = rawClient();
  /** The last seq handed out for `topic` (reserved or visible), read straight from Redis. */
  const rawSeq = async (topic: string): Promise<number> =>
    Number((await raw.hget(`${backplanes.prefix()}{${topic}}:meta`, 's')) ?? 0);

  it('shows a notification to no instance, no resume and no position read before its stages committed', async () => {
    const held = gate();
    const [a, b] = await startCluster(harness, backplanes, 2, {
      hub: { publishStages: [holding(new Map([['slow', held]]))] },
    });
    if (!a || !b) throw new Error('no hubs');
    const onB = await harness.subscriber(b, 'u1', ['patient:p1']);
    await a.hub.publish('patient:p1', { kind: 'custom', id: 'first' });
    await onB.notification('first');
    const before = await b.backplane.position('patient:p1');

    let resolved = false;
    const publishing = a.hub.publish('patient:p1', { kind: 'custom', id: 'slow' }).then((r) => {
      resolved = true;
      return r;
    });
    // The reservation exists (the next publish gets the seq after it) but is invisible everywhere.
    await until(async () => (await b.backplane.read('patient:p1', before)).position.seq === before.seq, 'read');
    const resume = await harness.connectAs(b, 'u2');
    const [result] = await resume.subscribe([{ topic: 'patient:p1', since: before }]);
    expect(result).toMatchObject({ status: 'ok', recovered: true, position: before });
    expect(await a.backplane.position('patient:p1')).toEqual(before);
    expect(onB.seqs('patient:p1')).toEqual([1]);
    expect(resolved).toBe(false);

    held.open();
    const published = await publishing;
    expect(published.seq).toBe(2);
    await onB.notification('slow');
    await resume.notification('slow');
    expect(onB.seqs('patient:p1')).toEqual([1, 2]);
    console.log(
      '[two-phase] held publish: invisible to 2 instances, a resume and position reads until its stage committed',
    );
  });

  it('delivers in seq order across instances when the later publish commits first, and resolves it only once delivered', async () => {
    const held = gate();
    const [a, b] = await startCluster(harness, backplanes, 2, {
      hub: { publishStages: [holding(new Map([['early', held]]))] },
    });
    if (!a || !b) throw new Error('no hubs');
    const watcher = await harness.subscriber(b, 'u1', ['patient:order']);
    const early = a.hub.publish('patient:order', { kind: 'custom', id: 'early' });
    // `late` is appended after `early` (seq 2) and committed at once, but must wait for seq 1.
    await until(async () => (await rawSeq('patient:order')) === 1, 'early reserved');
    let lateResolved = false;
    const late = b.hub.publish('patient:order', { kind: 'custom', id: 'late' }).then((r) => {
      lateResolved = true;
      return r;
    });
    await until(async () => (await rawSeq('patient:order')) === 2, 'late reserved');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lateResolved).toBe(false);
    expect(watcher.seqs('patient:order')).toEqual([]);

    held.open();
    const [e, l] = await Promise.all([early, late]);
    expect([e.seq, l.seq]).toEqual([1, 2]);
    await watcher.notification('late');
    expect(watcher.framesOf('notification').map((n) => n.id)).toEqual(['early', 'late']);
  });

  it('skips the reservation of an instance that died mid-publish after reservationTtlMs; later publishes go out', async () => {
    const [a, b] = await startCluster(harness, backplanes, 2, { backplane: { reservationTtlMs: 400 } });
    if (!a || !b) throw new Error('no hubs');
    const watcher = await harness.subscriber(b, 'u1', ['patient:dead']);
    // An instance that reserved a seq and died before committing it.
    const dead = backplanes.make({ reservationTtlMs: 400 });
    const reserved = await dead.append({
      id: 'never',
      topic: 'patient:dead',
      kind: 'custom',
      priority: 'routine',
      createdAt: new Date().toISOString(),
      payload: null,
    });
    expect(reserved.notification.seq).toBe(1);
    const startedAt = Date.now();
    const next = await a.hub.publish('patient:dead', { kind: 'custom', id: 'after' });
    const waited = Date.now() - startedAt;
    expect(next.seq).toBe(2);
    await watcher.notification('after');
    expect(watcher.framesOf('notification').map((n) => n.id)).toEqual(['after']);
    // The dead publisher's commit, should it come back, is refused: nobody will ever receive it.
    await expect(dead.commit(reserved.notification)).rejects.toMatchObject({ code: 'store_unavailable' });
    console.log(`[two-phase] a dead instance's reservation held the topic for ${waited} ms (reservationTtlMs 400)`);
  });

  it('lets a retry of a dead instance’s publish take its reservation over: same seq, no hole, no gap', async () => {
    const [a, b] = await startCluster(harness, backplanes, 2, { backplane: { reservationTtlMs: 400 } });
    if (!a || !b) throw new Error('no hubs');
    const watcher = await harness.subscriber(b, 'u1', ['patient:retry']);
    const dead = backplanes.make({ reservationTtlMs: 400 });
    const draft = (id: string) => ({
      id,
      topic: 'patient:retry',
      kind: 'custom',
      priority: 'routine' as const,
      createdAt: new Date().toISOString(),
      payload: null,
    });
    // The dead instance reserved seq 1 (its publisher never answered) and seq 2 went to a live publish.
    const lost = await dead.append(draft('lost'));
    expect(lost.notification.seq).toBe(1);
    const behind = a.hub.publish('patient:retry', { kind: 'custom', id: 'behind' });
    // The caller retries the lost one on another instance, as it would after a connection error.
    const retried = await b.hub.publish('patient:retry', { kind: 'custom', id: 'lost' });
    expect(retried).toMatchObject({ seq: 1, duplicate: false });
    expect((await behind).seq).toBe(2);
    await watcher.notification('behind');
    expect(watcher.framesOf('notification').map((n) => [n.id, n.seq])).toEqual([
      ['lost', 1],
      ['behind', 2],
    ]);
    // The dead publisher's own commit, should it come back, is refused.
    await expect(dead.commit(lost.notification)).rejects.toMatchObject({ code: 'store_unavailable' });
  });

  it('delivers a publish whose stage fails to no one on any instance, and gives its seq to the next publish', async () => {
    let refusals = 0;
    const refuse: PublishStage = {
      name: 'refuse',
      run: (n) => {
        if (n.id === 'bad' && refusals++ === 0) throw new Error('refused by a stage');
      },
    };
    const [a, b] = await startCluster(harness, backplanes, 2, { hub: { publishStages: [refuse] } });
    if (!a || !b) throw new Error('no hubs');
    const onA = await harness.subscriber(a, 'u1', ['patient:refused']);
    const onB = await harness.subscriber(b, 'u2', ['patient:refused']);
    await b.hub.publish('patient:refused', { kind: 'custom', id: 'ok-1' });
    await expect(a.hub.publish('patient:refused', { kind: 'custom', id: 'bad' })).rejects.toMatchObject({
      code: 'store_unavailable',
    });
    const next = await a.hub.publish('patient:refused', { kind: 'custom', id: 'ok-2' });
    expect(next.seq).toBe(2);
    await onA.notification('ok-2');
    await onB.notification('ok-2');
    for (const client of [onA, onB]) {
      expect(client.framesOf('notification').map((n) => n.id)).toEqual(['ok-1', 'ok-2']);
      expect(client.seqs('patient:refused')).toEqual([1, 2]);
    }
    // The refused id was given back: publishing it again works.
    expect((await a.hub.publish('patient:refused', { kind: 'custom', id: 'bad', payload: 1 })).duplicate).toBe(false);
  });
});
