import { PostgresInbox } from '@wardcast/postgres';
import { isWardcastError } from '@wardcast/protocol';
import { CloseCode, type PublishStage } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { tokenFor, useHarness } from '../../server/test/helpers/harness.js';
import { Gate, terminateListener, until, useBackplanes } from './helpers/backplane.js';
import { database, newPool, useSchema } from './helpers/db.js';

const custom = (id: string, payload: Record<string, unknown> = {}) =>
  ({ id, kind: 'custom', payload: { title: id, ...payload } }) as const;

describe.skipIf(!database)('PostgreSQL backplane (hubs in one process, one pool each)', () => {
  const schema = useSchema();
  const harness = useHarness();
  const backplanes = useBackplanes(schema);

  it('concurrent publishers on 3 instances never reuse or skip a seq', async () => {
    const hubs = await backplanes.cluster(harness, 3);
    const topics = ['patient:c1', 'patient:c2'];
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, k) =>
        (hubs[k % 3] as (typeof hubs)[number]).hub.publish(topics[k % 2] as string, custom(`c${k}`)),
      ),
    );
    for (const topic of topics) {
      const seqs = results.filter((_, k) => topics[k % 2] === topic).map((r) => r.seq);
      expect(new Set(results.filter((_, k) => topics[k % 2] === topic).map((r) => r.epoch)).size).toBe(1);
      expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
      const rows = await schema.pool.query<{ seq: string; id: string }>(
        `SELECT seq, id FROM "${schema.name}".backplane_stream WHERE topic = $1 ORDER BY seq`,
        [topic],
      );
      expect(rows.rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    }
    console.log(
      '[pg backplane] 300 concurrent publishes from 3 instances on 2 topics: seqs 1..150 per topic, no reuse, no skip',
    );
  });

  it('delivers in order to subscribers on every instance, and resumes from history after a reconnect', async () => {
    const [a, b] = await backplanes.cluster(harness, 2);
    if (!a || !b) throw new Error('no hubs');
    const onA = await harness.subscriber(a, 'u1', ['patient:p1']);
    const onB = await harness.subscriber(b, 'u2', ['patient:p1']);
    const published = [];
    for (let i = 1; i <= 20; i++) published.push(await (i % 2 ? a : b).hub.publish('patient:p1', custom(`o${i}`)));
    await until(() => onA.seqs('patient:p1').length === 20 && onB.seqs('patient:p1').length === 20, 'all 20 arrived');
    const expected = published.map((p) => p.seq);
    expect(onA.seqs('patient:p1')).toEqual(expected);
    expect(onB.seqs('patient:p1')).toEqual(expected);

    // A device that saw up to seq 5 resumes on b: it gets 6..20 from history.
    const since = { epoch: published[0]?.epoch as string, seq: 5 };
    const resumed = await harness.connectAs(b, 'u3');
    const [result] = await resumed.subscribe([{ topic: 'patient:p1', since }]);
    expect(result).toMatchObject({ status: 'ok', recovered: true });
    await until(() => resumed.seqs('patient:p1').length === 15, 'replay');
    expect(resumed.seqs('patient:p1')).toEqual(expected.slice(5));
    // A resume point of another epoch is not "recovered".
    const stale = await harness.connectAs(a, 'u4');
    const [bad] = await stale.subscribe([{ topic: 'patient:p1', since: { epoch: 'other', seq: 3 } }]);
    expect(bad).toMatchObject({ status: 'ok', recovered: false });
  });

  it('stores and delivers an id once, also when two instances publish it at once', async () => {
    const [a, b] = await backplanes.cluster(harness, 2);
    if (!a || !b) throw new Error('no hubs');
    const sub = await harness.subscriber(b, 'u1', ['patient:d1']);
    const [r1, r2] = await Promise.all([
      a.hub.publish('patient:d1', custom('same')),
      b.hub.publish('patient:d1', custom('same')),
    ]);
    expect([r1?.duplicate, r2?.duplicate].sort()).toEqual([false, true]);
    expect(r1?.seq).toBe(r2?.seq);
    const again = await a.hub.publish('patient:d1', custom('same'));
    expect(again).toMatchObject({ duplicate: true, seq: r1?.seq });
    const next = await a.hub.publish('patient:d1', custom('next'));
    expect(next.seq).toBe((r1?.seq ?? 0) + 1);
    await sub.notification('next');
    expect(sub.framesOf('notification').map((n) => n.id)).toEqual(['same', 'next']);
  });

  it('delivers a notification larger than a NOTIFY payload (fetched by position)', async () => {
    const [a, b] = await backplanes.cluster(harness, 2);
    if (!a || !b) throw new Error('no hubs');
    const sub = await harness.subscriber(b, 'u1', ['patient:big']);
    const big = 'x'.repeat(20_000);
    await a.hub.publish('patient:big', custom('small-1'));
    await a.hub.publish('patient:big', custom('large', { blob: big }));
    await a.hub.publish('patient:big', custom('small-2'));
    const got = await sub.notification('large', 10_000);
    expect((got.payload as { blob: string }).blob).toHaveLength(20_000);
    await sub.notification('small-2', 10_000);
    expect(sub.seqs('patient:big')).toEqual([1, 2, 3]);
    console.log('[pg backplane] a 20,000-byte payload crossed instances (NOTIFY carried only its position)');
  });

  it('listener killed with pg_terminate_backend: fan-out resumes, what was published meanwhile arrives', async () => {
    const gate = new Gate();
    const [a, b] = await backplanes.cluster(harness, 2, { gates: [new Gate(), gate] });
    if (!a || !b) throw new Error('no hubs');
    const sub = await harness.subscriber(b, 'u1', ['patient:k1']);
    for (let i = 1; i <= 5; i++) await a.hub.publish('patient:k1', custom(`before${i}`));
    await until(() => sub.seqs('patient:k1').length === 5, 'first 5');
    gate.close();
    expect(await terminateListener(a.pool, b.listenerName)).toBe(1);
    await until(() => b.backplane.health() === 'degraded', 'b degraded');
    for (let i = 1; i <= 30; i++) await a.hub.publish('patient:k1', custom(`during${i}`));
    const downFor = Date.now();
    gate.open();
    await until(() => b.backplane.health() === 'ok', 'b ok again');
    await until(() => sub.seqs('patient:k1').length === 35, 'the 30 published while b was not listening');
    for (let i = 1; i <= 5; i++) await a.hub.publish('patient:k1', custom(`after${i}`));
    await until(() => sub.seqs('patient:k1').length === 40, 'live again');
    expect(sub.seqs('patient:k1')).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    console.log(
      `[pg backplane] listener terminated: 30 published meanwhile, all filled from the table ${Date.now() - downFor} ms after the gate opened; 40/40 in order`,
    );
  });

  it('listener down while the table trimmed past it: an explicit gap, never a silent one', async () => {
    const gate = new Gate();
    const [a, b] = await backplanes.cluster(harness, 2, { gates: [new Gate(), gate], backplane: { maxLen: 5 } });
    if (!a || !b) throw new Error('no hubs');
    const sub = await harness.subscriber(b, 'u1', ['patient:g1']);
    await a.hub.publish('patient:g1', custom('g1'));
    await sub.notification('g1', 10_000);
    gate.close();
    await terminateListener(a.pool, b.listenerName);
    await until(() => b.backplane.health() === 'degraded', 'b degraded');
    for (let i = 2; i <= 20; i++) await a.hub.publish('patient:g1', custom(`g${i}`));
    gate.open();
    await a.hub.publish('patient:g1', custom('g21'));
    await sub.notification('g21', 10_000);
    const seqs = sub.seqs('patient:g1');
    // seq 1, then a jump (the client reports `seq_jump`), then the live ones in order.
    expect(seqs[0]).toBe(1);
    expect(seqs[1]).toBeGreaterThan(2);
    expect(seqs.at(-1)).toBe(21);
    for (let i = 2; i < seqs.length; i++) expect(seqs[i]).toBe((seqs[i - 1] as number) + 1);
    // A resume from seq 1 is refused explicitly.
    const late = await harness.connectAs(b, 'u2');
    const epoch = sub.framesOf('notification')[0]?.epoch as string;
    const [r] = await late.subscribe([{ topic: 'patient:g1', since: { epoch, seq: 1 } }]);
    expect(r).toMatchObject({ status: 'ok', recovered: false });
    console.log(`[pg backplane] maxLen 5, listener down for 19 publishes: subscriber got seqs ${seqs.join(',')}`);
  });

  it('two phases: invisible before the stages commit; a failed stage gives its seq back (no hole)', async () => {
    let release: () => void = () => {};
    let fail = false;
    const stage: PublishStage = {
      name: 'slow',
      run: async (n) => {
        if (n.id === 'held') await new Promise<void>((r) => (release = r));
        if (fail) throw new Error('refused');
      },
    };
    const [a, b] = await backplanes.cluster(harness, 2, { hub: { publishStages: [stage] } });
    if (!a || !b) throw new Error('no hubs');
    const sub = await harness.subscriber(b, 'u1', ['patient:t1']);
    await a.hub.publish('patient:t1', custom('first'));
    const held = a.hub.publish('patient:t1', custom('held'));
    await until(async () => {
      const r = await schema.pool.query(
        `SELECT 1 FROM pg_stat_activity WHERE state = 'idle in transaction' AND query LIKE $1`,
        [`%${schema.name}".backplane_stream%`],
      );
      return (r.rowCount ?? 0) > 0;
    }, 'the reservation is open');
    // Not visible: not to reads on another instance, not to subscribers.
    expect(await b.backplane.position('patient:t1')).toMatchObject({ seq: 1 });
    // A publish on b waits for it (row lock), then gets the next seq.
    const after = b.hub.publish('patient:t1', custom('after'));
    await new Promise((r) => setTimeout(r, 100));
    expect(sub.seqs('patient:t1')).toEqual([1]);
    release();
    expect((await held).seq).toBe(2);
    expect((await after).seq).toBe(3);
    await until(() => sub.seqs('patient:t1').length === 3, 'all three');
    fail = true;
    const error = await a.hub.publish('patient:t1', custom('refused')).catch((e: unknown) => e);
    expect(isWardcastError(error) && error.code).toBe('store_unavailable');
    fail = false;
    expect((await a.hub.publish('patient:t1', custom('reuses'))).seq).toBe(4);
    await sub.notification('reuses');
    expect(sub.seqs('patient:t1')).toEqual([1, 2, 3, 4]);
    expect(sub.framesOf('notification').map((n) => n.id)).not.toContain('refused');
  });

  it('a publish holding its reservation past reservationTtlMs rejects, is delivered to no one, and its seq is reused', async () => {
    let slow = true;
    const stage: PublishStage = {
      name: 'stall',
      run: async () => {
        if (slow) await new Promise((r) => setTimeout(r, 1_500));
      },
    };
    const [a, b] = await backplanes.cluster(harness, 2, {
      hub: { publishStages: [stage] },
      backplane: { reservationTtlMs: 500 },
    });
    if (!a || !b) throw new Error('no hubs');
    const sub = await harness.subscriber(b, 'u1', ['patient:x1']);
    const error = await a.hub.publish('patient:x1', custom('stalled')).catch((e: unknown) => e);
    expect(isWardcastError(error) && error.code).toBe('store_unavailable');
    slow = false;
    expect((await b.hub.publish('patient:x1', custom('next'))).seq).toBe(1);
    await sub.notification('next');
    expect(sub.framesOf('notification').map((n) => n.id)).toEqual(['next']);
  });

  it('a reservation whose session dies (a crashed instance) is rolled back: no hole, the seq is reused', async () => {
    let release: () => void = () => {};
    const stage: PublishStage = {
      name: 'held',
      run: async (n) => {
        if (n.id === 'crashing') await new Promise<void>((r) => (release = r));
      },
    };
    const [a, b] = await backplanes.cluster(harness, 2, { hub: { publishStages: [stage] } });
    if (!a || !b) throw new Error('no hubs');
    const sub = await harness.subscriber(b, 'u1', ['patient:r1']);
    await a.hub.publish('patient:r1', custom('r1'));
    const crashing = a.hub.publish('patient:r1', custom('crashing')).catch((e: unknown) => e);
    const open = async () =>
      schema.pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE state = 'idle in transaction' AND query LIKE $1`,
        [`%${schema.name}".backplane_stream%`],
      );
    await until(async () => ((await open()).rowCount ?? 0) > 0, 'the reservation is open');
    // What PostgreSQL does when the instance holding it dies (its socket closes) or freezes
    // (idle_in_transaction_session_timeout): the session ends and the transaction rolls back.
    for (const { pid } of (await open()).rows) await schema.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    // Meanwhile another instance gets the seq the dead reservation had.
    expect((await b.hub.publish('patient:r1', custom('r2'))).seq).toBe(2);
    release();
    const error = await crashing;
    expect(isWardcastError(error) && (error as { code: string }).code).toBe('store_unavailable');
    await sub.notification('r2');
    expect(sub.framesOf('notification').map((n) => [n.id, n.seq])).toEqual([
      ['r1', 1],
      ['r2', 2],
    ]);
  });

  it('reports degraded and fails publishes loudly when PostgreSQL cannot be reached', async () => {
    const { backplane } = backplanes.make({
      pool: newPool(2, { connectionString: 'postgres://127.0.0.1:1/none', connectionTimeoutMillis: 300 }),
      listener: async () => {
        throw new Error('unreachable');
      },
      commandTimeoutMs: 500,
    });
    const fx = await harness.start({ history: backplane, broker: backplane, authorize: () => true });
    expect(backplane.health()).toBe('degraded');
    const error = await fx.hub.publish('patient:z', custom('z')).catch((e: unknown) => e);
    expect(isWardcastError(error) && error.code).toBe('store_unavailable');
    expect(backplane.health()).toBe('degraded');
  });

  it('works with the default listener (a connection taken from the pool)', async () => {
    const [a, b] = await backplanes.cluster(harness, 2, { backplane: { defaultListener: true } });
    if (!a || !b) throw new Error('no hubs');
    const sub = await harness.subscriber(b, 'u1', ['patient:dl']);
    for (let i = 1; i <= 5; i++) await a.hub.publish('patient:dl', custom(`dl${i}`));
    await until(() => sub.seqs('patient:dl').length === 5, 'all 5');
    expect(sub.seqs('patient:dl')).toEqual([1, 2, 3, 4, 5]);
    expect(b.backplane.health()).toBe('ok');
    await b.hub.close();
    // The listener went back to the pool: the pool still serves queries.
    expect((await b.pool.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
  });

  it('trims history by age and count; idle topics lose their rows and get a new epoch', async () => {
    const { backplane } = backplanes.make({ maxAgeMs: 300, topicTtlMs: 300, maxLen: 3 });
    const fx = await harness.start({ history: backplane, broker: backplane, authorize: () => true });
    const first = await fx.hub.publish('patient:age', custom('a1'));
    for (let i = 2; i <= 5; i++) await fx.hub.publish('patient:age', custom(`a${i}`));
    const count = async () =>
      Number(
        (
          await schema.pool.query<{ n: string }>(
            `SELECT count(*) AS n FROM "${schema.name}".backplane_stream WHERE topic = 'patient:age'`,
          )
        ).rows[0]?.n,
      );
    expect(await count()).toBe(3);
    expect(await backplane.read('patient:age', { epoch: first.epoch, seq: 1 })).toMatchObject({ recovered: false });
    expect(
      (await backplane.read('patient:age', { epoch: first.epoch, seq: 2 })).notifications.map((n) => n.id),
    ).toEqual(['a3', 'a4', 'a5']);
    await new Promise((r) => setTimeout(r, 400));
    await fx.hub.publish('patient:age', custom('a6'));
    expect(await count()).toBe(1);
    // The backplane sweeps idle topics on its own (every min(60 s, maxAgeMs)); sweep() runs one now.
    await until(async () => (await backplane.sweep()) >= 0 && (await count()) === 0, 'the idle topic swept');
    await until(async () => {
      const r = await schema.pool.query(`SELECT 1 FROM "${schema.name}".backplane_topics WHERE topic = 'patient:age'`);
      return r.rows.length === 0;
    }, 'the idle topic row deleted');
    const position = await backplane.position('patient:age');
    expect(position.epoch).not.toBe(first.epoch);
    expect(position.seq).toBe(0);
  });

  it('control: disconnectUser closes the user’s sockets on every instance; read state syncs across instances', async () => {
    const inbox = () => new PostgresInbox({ pool: schema.pool, schema: schema.name });
    const [a, b] = await backplanes.cluster(harness, 2);
    if (!a || !b) throw new Error('no hubs');
    const [c, d] = await backplanes.cluster(harness, 2, { hub: { inbox: inbox() } });
    if (!c || !d) throw new Error('no hubs');

    const onA = await harness.connectAs(a, 'u1');
    const onB = await harness.connectAs(b, 'u1');
    const other = await harness.connectAs(b, 'u2');
    // Presence sync after connect: wait until b knows a (heartbeat rows) so the message is not early.
    expect(a.hub.disconnectUser('u1', 'signed out')).toBe(1);
    for (const client of [onA, onB]) {
      expect(await client.waitClose(10_000)).toEqual({ code: CloseCode.SessionRevoked, reason: 'signed out' });
    }
    await other.roundTrip();

    // Read on one device (instance c) -> receipt on the user's device on instance d.
    const phone = await harness.subscriber(c, 'nurse', ['user:nurse']);
    const desk = await harness.subscriber(d, 'nurse', ['user:nurse']);
    await c.hub.publish('user:nurse', custom('lab-1'));
    await phone.notification('lab-1', 10_000);
    await desk.notification('lab-1', 10_000);
    phone.send({ type: 'read', id: 'lab-1' });
    expect(await desk.nextFrame('receipt', () => true, 10_000)).toMatchObject({ id: 'lab-1', action: 'read' });
    expect(await d.hub.shareReceipt('nurse', 'lab-1', 'ack')).toBeGreaterThanOrEqual(1);
    expect(await phone.nextFrame('receipt', (f) => f.action === 'ack', 10_000)).toMatchObject({ id: 'lab-1' });
  });

  it('control: presence and the per-user connection limit span instances', async () => {
    const [a, b] = await backplanes.cluster(harness, 2, { hub: { maxConnectionsPerUser: 2 } });
    if (!a || !b) throw new Error('no hubs');
    const watcher = await harness.connectAs(a, 'nurse');
    watcher.send({ type: 'subscribe', ref: 'w', topics: [{ topic: 'patient:p9', presence: true }] });
    await watcher.nextFrame('presence', (f) => f.members !== undefined);
    await harness.subscriber(b, 'doctor', ['patient:p9']);
    expect(await watcher.nextFrame('presence', () => true, 10_000)).toMatchObject({ joined: ['doctor'] });
    await until(() => a.hub.presence('patient:p9').includes('doctor'), 'presence on a');

    const first = await harness.connectAs(a, 'u1');
    await harness.connectAs(b, 'u1');
    const third = harness.connect(a, { token: tokenFor('u1') });
    expect((await third.waitClose(10_000)).code).toBe(CloseCode.TooManyConnections);
    first.ws.close(1000);
    await first.waitClose();
    await until(async () => {
      const r = await schema.pool.query(
        `SELECT count(*)::int AS n FROM "${schema.name}".backplane_connections WHERE user_id = 'u1'`,
      );
      return r.rows[0]?.n === 1;
    }, 'slot released');
    await harness.connectAs(b, 'u1');
  });
});
