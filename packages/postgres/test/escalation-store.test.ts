import { PostgresEscalationStore } from '@wardcast/postgres';
import { isWardcastError } from '@wardcast/protocol';
import type { EscalationRecord } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { database, newPool, sleep, useSchema } from './helpers/db.js';

let counter = 0;
function record(extra: Partial<EscalationRecord> = {}): EscalationRecord {
  counter++;
  return {
    id: `lab:L-${counter}-${Math.random().toString(36).slice(2, 8)}:final`,
    topic: 'user:dr-lee',
    kind: 'lab_result',
    priority: 'critical',
    payload: { labOrderId: `L-${counter}`, testName: 'Potassium', critical: true, values: [6.9, 'mmol/L'] },
    createdAt: new Date(Date.UTC(2026, 5, 1, 8, 0, 0, 123)).toISOString(),
    chain: [
      { userId: 'dr-lee', deadlineMs: 300_000 },
      { userId: 'dr-senior', deadlineMs: 600_000 },
    ],
    step: 0,
    deadline: Date.UTC(2026, 5, 1, 8, 5, 0, 123) + counter,
    status: 'pending',
    ...extra,
  };
}

describe.skipIf(!database)('PostgresEscalationStore', () => {
  const schema = useSchema();
  const store = (options: Partial<ConstructorParameters<typeof PostgresEscalationStore>[0]> = {}) =>
    new PostgresEscalationStore({ pool: schema.pool, schema: schema.name, ...options });
  /** Makes every pending record finished so that each test starts from no claimable record. */
  const clearPending = () => schema.pool.query(`UPDATE "${schema.name}".escalations SET status = 'unacknowledged'`);

  it('round-trips a record exactly, and replaces it on save', async () => {
    const s = store();
    const r = record();
    await s.save(r);
    expect(await s.load(r.id)).toEqual(r);
    const next: EscalationRecord = { ...r, step: 1, deadline: r.deadline + 600_000 };
    await s.save(next);
    expect(await s.load(r.id)).toEqual(next);
    const done: EscalationRecord = { ...next, status: 'acknowledged', acknowledgedBy: 'dr-senior' };
    await s.save(done);
    expect(await s.load(r.id)).toEqual(done);
    expect(await s.load('missing')).toBeUndefined();
    await s.delete(r.id);
    expect(await s.load(r.id)).toBeUndefined();
    await s.close();
  });

  it('hands pending records to the next store once the previous one closed (restart)', async () => {
    await clearPending();
    const a = store();
    const r1 = record();
    const r2 = record({ step: 1 });
    const finished = record({ status: 'unacknowledged' });
    await a.save(r1);
    await a.save(r2);
    await a.save(finished);
    // Held by a live instance: nobody else claims them.
    const b = store();
    expect(await b.loadPending()).toEqual([]);
    await a.close();
    const claimed = await b.loadPending();
    expect(claimed).toEqual([r1, r2].sort((x, y) => x.deadline - y.deadline));
    // Already held by b: not handed out again, to b or anyone.
    expect(await b.loadPending()).toEqual([]);
    expect(await store().loadPending()).toEqual([]);
    await b.close();
  });

  it('takes over the records of an instance that died once its lease expires', async () => {
    await clearPending();
    const dead = store({ leaseMs: 1_000 });
    const r = record();
    await dead.save(r);
    // The instance dies without close(): its renewal stops (simulated by a store that never renews).
    await schema.pool.query(`UPDATE "${schema.name}".escalations SET lease_owner = 'dead-owner' WHERE id = $1`, [r.id]);
    await dead.close();
    const { rows } = await schema.pool.query(`SELECT lease_until FROM "${schema.name}".escalations WHERE id = $1`, [
      r.id,
    ]);
    const leaseUntil = new Date(rows[0].lease_until).getTime();
    const alive = store();
    let claimed: EscalationRecord[] = [];
    const deadline = Date.now() + 10_000;
    while (claimed.length === 0) {
      if (Date.now() > deadline) throw new Error('the expired lease was not taken over');
      claimed = await alive.loadPending();
      if (claimed.length === 0) await sleep(20);
    }
    const now = await schema.pool.query('SELECT now() AS now');
    // Taken over, and only once the dead owner's lease had expired (by the database's clock).
    expect(claimed).toEqual([r]);
    expect(new Date(now.rows[0].now).getTime()).toBeGreaterThanOrEqual(leaseUntil);
    await alive.close();
  });

  it('renews its leases while it runs', async () => {
    await clearPending();
    const a = store({ leaseMs: 1_500 });
    const r = record();
    await a.save(r);
    const leaseOf = async () => {
      const { rows } = await schema.pool.query(
        `SELECT lease_until, now() AS now FROM "${schema.name}".escalations WHERE id = $1`,
        [r.id],
      );
      return { until: new Date(rows[0].lease_until).getTime(), now: new Date(rows[0].now).getTime() };
    };
    const first = await leaseOf();
    // Past the first lease's end (by the database's clock): renewed, so nobody else may claim it.
    const deadline = Date.now() + 10_000;
    let later = await leaseOf();
    while (later.now <= first.until) {
      if (Date.now() > deadline) throw new Error('the first lease did not run out');
      await sleep(50);
      later = await leaseOf();
    }
    expect(later.until).toBeGreaterThan(first.until);
    expect(await store().loadPending()).toEqual([]);
    await a.close();
  });

  it('splits pending records between instances that load at once (FOR UPDATE SKIP LOCKED)', async () => {
    await clearPending();
    const writer = store();
    const records = Array.from({ length: 40 }, () => record());
    for (const r of records) await writer.save(r);
    await writer.close();
    const stores = [0, 1, 2, 3].map(
      () => new PostgresEscalationStore({ pool: schema.track(newPool(2)), schema: schema.name }),
    );
    const loads = await Promise.all(stores.flatMap((s) => [s.loadPending(), s.loadPending()]));
    const ids = loads.flat().map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(records.map((r) => r.id).sort());
    await Promise.all(stores.map((s) => s.close()));
  });

  it('deletes finished records past their retention, never pending ones', async () => {
    await clearPending();
    const s = store();
    const pending = record();
    const done = record({ status: 'acknowledged', acknowledgedBy: 'dr-lee' });
    await s.save(pending);
    await s.save(done);
    await schema.pool.query(`UPDATE "${schema.name}".escalations SET updated_at = now() - interval '40 days'`);
    expect(await s.deleteFinishedOlderThan(30)).toBeGreaterThanOrEqual(1);
    expect(await s.load(done.id)).toBeUndefined();
    expect(await s.load(pending.id)).toEqual(pending);
    await s.close();
  });

  it('acknowledge and advance are compare-and-set, and move the lease', async () => {
    await clearPending();
    const a = store();
    const b = store();
    const r = record();
    await a.save(r);
    const lease = async () =>
      (await schema.pool.query(`SELECT lease_owner FROM "${schema.name}".escalations WHERE id = $1`, [r.id])).rows[0]
        ?.lease_owner;
    expect(await lease()).toBe(a.owner);

    const next: EscalationRecord = { ...r, step: 1, deadline: r.deadline + 600_000 };
    expect(await b.advance(next, 1)).toBe(false);
    expect(await b.advance(next, 0)).toBe(true);
    expect(await lease()).toBe(b.owner); // the instance that advanced it owns it now
    expect(await a.advance({ ...next, step: 2 }, 0)).toBe(false);
    expect(await b.load(r.id)).toEqual(next);

    expect(await a.acknowledge(r.id, 'dr-senior')).toBe(true);
    expect(await b.acknowledge(r.id, 'dr-lee')).toBe(false);
    expect(await b.advance({ ...next, step: 2 }, 1)).toBe(false);
    expect(await a.load(r.id)).toEqual({ ...next, status: 'acknowledged', acknowledgedBy: 'dr-senior' });
    expect(await lease()).toBeNull();
    expect(await a.acknowledge('missing', 'dr-lee')).toBe(false);

    // Exhausting is an advance to a finished status: released.
    const other = record();
    await a.save(other);
    expect(await a.advance({ ...other, status: 'unacknowledged' }, 0)).toBe(true);
    expect(await a.acknowledge(other.id, 'dr-lee')).toBe(false);
    expect(await a.load(other.id)).toMatchObject({ status: 'unacknowledged', step: 0 });
    await Promise.all([a.close(), b.close()]);
  });

  it('instances racing the same step, or two acks and a step: exactly one advance and one ack win', async () => {
    await clearPending();
    const writer = store();
    const records = Array.from({ length: 30 }, () => record());
    for (const r of records) await writer.save(r);
    const stores = [0, 1, 2].map(
      () => new PostgresEscalationStore({ pool: schema.track(newPool(4)), schema: schema.name }),
    );
    const steps = await Promise.all(
      records.map((r) => Promise.all(stores.map((s, i) => s.advance({ ...r, step: 1, deadline: r.deadline + i }, 0)))),
    );
    for (const outcome of steps) expect(outcome.filter(Boolean)).toHaveLength(1);
    const raced = await Promise.all(
      records.map((r) =>
        Promise.all([
          stores[0]?.acknowledge(r.id, 'dr-senior'),
          stores[1]?.advance({ ...r, step: 2 }, 1),
          stores[2]?.acknowledge(r.id, 'dr-lee'),
        ]),
      ),
    );
    let advanced = 0;
    for (const [ackA, step, ackB] of raced) {
      // One ack ends it; the step counts only if it got in before that ack (then the ack ends step 2).
      expect([ackA, ackB].filter(Boolean)).toHaveLength(1);
      if (step) advanced++;
    }
    const rows = await schema.pool.query(
      `SELECT status, step FROM "${schema.name}".escalations WHERE id = ANY($1::text[])`,
      [records.map((r) => r.id)],
    );
    expect(rows.rows.every((row) => row.status === 'acknowledged')).toBe(true);
    expect(rows.rows.filter((row) => row.step === 2)).toHaveLength(advanced);
    console.log(
      `[escalation-store] 30 records x 3 racing instances: exactly 1 advance won each; 1 of 2 racing acks won each (${advanced} steps got in before the ack)`,
    );
    await Promise.all([writer, ...stores].map((s) => s.close()));
  });

  it('asks the hub to resume periodically and refuses bad options', () => {
    expect(store().resumeIntervalMs).toBe(10_000);
    expect(store({ resumeIntervalMs: 500 }).resumeIntervalMs).toBe(500);
    for (const options of [{}, { pool: schema.pool, leaseMs: 0 }, { pool: schema.pool, schema: 'a b' }]) {
      let error: unknown;
      try {
        new PostgresEscalationStore(options as ConstructorParameters<typeof PostgresEscalationStore>[0]);
      } catch (e) {
        error = e;
      }
      expect(isWardcastError(error) && error.code).toBe('invalid_option');
    }
  });
});
