import { PostgresEscalationStore } from '@wardcast/postgres';
import {
  type AcknowledgedEvent,
  type AuditEvent,
  type EscalatedEvent,
  type EscalationRecord,
  type EscalationStore,
  MemoryEscalationStore,
} from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { describeRedis, useBackplanes } from '../../redis/test/helpers/redis.js';
import type { TestClient } from '../../server/test/helpers/client.js';
import { chainOf, type Instance, instances, SpyStore, until } from '../../server/test/helpers/escalation.js';
import { type Fixture, useHarness } from '../../server/test/helpers/harness.js';
import { database, newPool, useSchema } from './helpers/db.js';

/** Generous: conditions are polled, never slept on. */
const WAIT = 15_000;
/** A deadline no test reaches. */
const LONG = 60_000;

let users = 0;
const newUser = (): string => `u${++users}-${Math.random().toString(36).slice(2, 8)}`;

const critical = (id: string, chain: readonly (readonly [string, number])[]) =>
  ({
    id,
    kind: 'custom',
    priority: 'critical',
    payload: { title: `title ${id}`, message: 'potassium 6.9' },
    escalation: chainOf(...chain),
  }) as const;

type Payload<E> = E extends 'acknowledged' ? AcknowledgedEvent : E extends 'escalated' ? EscalatedEvent : AuditEvent;

const idsOf = (client: TestClient, id: string) => client.framesOf('notification').filter((n) => n.id === id);

describeRedis('escalations across hub instances (Redis backplane)', () => {
  const harness = useHarness();
  const backplanes = useBackplanes();

  /** A hub on its own backplane of this test's cluster (one key prefix), with its own escalation store. */
  async function hub(escalations: EscalationStore): Promise<Fixture> {
    const backplane = backplanes.make({ instanceId: `hub-${Math.random().toString(36).slice(2, 8)}` });
    return harness.start({ history: backplane, broker: backplane, escalations });
  }

  /** The `event` payloads of hubs A and B. */
  function record<E extends 'acknowledged' | 'escalated' | 'audit'>(
    [a, b]: readonly [Fixture, Fixture],
    event: E,
  ): [Payload<E>[], Payload<E>[]] {
    return [harness.record(a, event) as Payload<E>[], harness.record(b, event) as Payload<E>[]];
  }

  describe.skipIf(!database)('with the PostgreSQL escalation store', () => {
    const schema = useSchema();
    const store = (options: Partial<ConstructorParameters<typeof PostgresEscalationStore>[0]> = {}) =>
      new PostgresEscalationStore({ pool: schema.pool, schema: schema.name, ...options });
    const row = async (id: string) =>
      (
        await schema.pool.query(
          `SELECT status, step, acknowledged_by, lease_owner FROM "${schema.name}".escalations WHERE id = $1`,
          [id],
        )
      ).rows[0];

    it('an ack received by hub B ends hub A’s escalation within 1 s: row acknowledged, no step, one event', async () => {
      const u = newUser();
      const senior = `${u}-senior`;
      const storeA = new SpyStore(store());
      const a = await hub(storeA);
      const b = await hub(store());
      const [ackedOnA, ackedOnB] = record([a, b], 'acknowledged');
      const [escalatedOnA, escalatedOnB] = record([a, b], 'escalated');
      const [auditA, auditB] = record([a, b], 'audit');
      const device = await harness.subscriber(b, u, [`user:${u}`]);
      const seniorDevice = await harness.subscriber(a, senior, [`user:${senior}`]);

      const publishedAt = Date.now();
      await a.hub.publish(
        `user:${u}`,
        critical('crit-b1', [
          [u, 5_000],
          [senior, LONG],
        ]),
      );
      await device.notification('crit-b1', WAIT);
      const ackedAt = Date.now();
      device.send({ type: 'ack', id: 'crit-b1' });

      await until(async () => (await row('crit-b1'))?.status === 'acknowledged', 'the row is acknowledged', WAIT);
      const rowAfter = Date.now() - ackedAt;
      // A got the relayed ack, saw the record ended in the store, and stopped tracking it.
      await until(
        () => storeA.of('load', 'crit-b1').some((c) => c.result === 'acknowledged'),
        'hub A stops tracking',
        WAIT,
      );
      const stoppedAfter = (storeA.of('load', 'crit-b1').find((c) => c.result === 'acknowledged')?.at ?? 0) - ackedAt;
      console.log(
        `[escalation] PostgreSQL store: ack on B -> row acknowledged in ${rowAfter} ms, hub A stopped tracking in ${stoppedAfter} ms`,
      );
      expect(stoppedAfter).toBeLessThan(1_000);
      expect(await row('crit-b1')).toEqual({ status: 'acknowledged', step: 0, acknowledged_by: u, lease_owner: null });

      // Past A's deadline: nothing was escalated anywhere.
      await until(() => Date.now() > publishedAt + 6_000, "A's deadline passed", WAIT);
      await seniorDevice.roundTrip();
      expect(idsOf(seniorDevice, 'crit-b1~1')).toEqual([]);
      expect([...escalatedOnA, ...escalatedOnB]).toEqual([]);
      expect(storeA.of('advance')).toEqual([]);
      expect(ackedOnA).toEqual([]);
      expect(ackedOnB).toEqual([
        expect.objectContaining({ id: 'crit-b1', userId: u, step: 0, notificationId: 'crit-b1' }),
      ]);
      const acknowledgedAudits = [...auditA, ...auditB].filter((e) => e.type === 'escalation.acknowledged');
      expect(acknowledgedAudits).toHaveLength(1);
    });

    it('an ack of a re-sent <id>~<step> on an instance that does not track it ends the escalation', async () => {
      const u = newUser();
      const senior = `${u}-senior`;
      const chief = `${u}-chief`;
      const a = await hub(store());
      const b = await hub(store());
      const [ackedOnA, ackedOnB] = record([a, b], 'acknowledged');
      const [escalatedOnA, escalatedOnB] = record([a, b], 'escalated');
      const seniorDevice = await harness.subscriber(b, senior, [`user:${senior}`]);

      await a.hub.publish(
        `user:${u}`,
        critical('crit-b2', [
          [u, 200],
          [senior, LONG],
          [chief, LONG],
        ]),
      );
      await seniorDevice.notification('crit-b2~1', WAIT);
      seniorDevice.send({ type: 'ack', id: 'crit-b2~1' });
      await until(async () => (await row('crit-b2'))?.status === 'acknowledged', 'the row is acknowledged', WAIT);
      await until(() => ackedOnA.length + ackedOnB.length > 0, 'the ack is reported', WAIT);

      expect(await row('crit-b2')).toMatchObject({ status: 'acknowledged', step: 1, acknowledged_by: senior });
      expect(escalatedOnA.map((e) => e.step)).toEqual([1]);
      expect(escalatedOnB).toEqual([]);
      expect(ackedOnA).toEqual([]);
      expect(ackedOnB).toEqual([
        expect.objectContaining({ id: 'crit-b2', notificationId: 'crit-b2~1', userId: senior, step: 1 }),
      ]);
    });

    it('two managers racing the step of one record: exactly one advances it, each step sent once', async () => {
      const ownerA = store();
      const ownerB = store();
      const record: EscalationRecord = {
        id: `race-${Math.random().toString(36).slice(2, 8)}`,
        topic: 'user:alice',
        kind: 'custom',
        priority: 'critical',
        payload: { note: 'n' },
        createdAt: new Date().toISOString(),
        chain: chainOf(['alice', 300], ['bob', 400], ['carol', LONG]).chain,
        step: 0,
        deadline: Date.now() + 300,
        status: 'pending',
      };
      await ownerA.save(record);
      // Both track it (as two instances that each believe they own it, e.g. after a stall), and
      // both get past their re-check and send step 1 before either records it: a real race.
      let all: Instance[] = [];
      const bothSent = () => all.every((i) => i.host.published.some((p) => p.id === `${record.id}~1`));
      const both = (inner: PostgresEscalationStore) =>
        new SpyStore(inner, {
          loadPending: async () => [(await inner.load(record.id)) as EscalationRecord],
          advance: async (next) => {
            if (next.step === 1) await until(bothSent, 'both instances sent step 1', WAIT);
            return undefined;
          },
        });
      const spies = [both(ownerA), both(ownerB)];
      all = instances(spies);
      expect(await Promise.all(all.map((i) => i.manager.resume()))).toEqual([1, 1]);

      const escalated = () => all.flatMap((i) => i.host.of('escalated'));
      await until(() => escalated().length === 2, 'steps 1 and 2 are reported', WAIT);
      const published = all.flatMap((i) => i.host.published);
      const advances = spies.flatMap((s) => s.of('advance'));
      const winners = all.filter((i) => i.host.of('escalated').length > 0);
      console.log(
        `[escalation] racing managers on PostgreSQL: ${advances.filter((c) => c.result === true).length} advances won, ${advances.filter((c) => c.result === false).length} lost; ${published.filter((p) => p.duplicate).length} re-sends deduped`,
      );

      expect(escalated().map((e) => e.step)).toEqual([1, 2]);
      expect(winners).toHaveLength(1);
      expect(
        published
          .filter((p) => !p.duplicate)
          .map((p) => p.id)
          .sort(),
      ).toEqual([`${record.id}~1`, `${record.id}~2`]);
      expect(advances.map((c) => c.result).sort()).toEqual([false, true, true]);
      expect(published.map((p) => p.id).sort()).toEqual([`${record.id}~1`, `${record.id}~1`, `${record.id}~2`]);
      const winner = winners[0] === all[0] ? ownerA : ownerB;
      expect(await row(record.id)).toEqual({
        status: 'pending',
        step: 2,
        acknowledged_by: null,
        lease_owner: winner.owner,
      });
      await Promise.all(all.map((i) => i.manager.stop()));
    });

    it('the tracking instance dies between sending a step and recording it: another takes over, each step once', async () => {
      const u = newUser();
      const senior = `${u}-senior`;
      const chief = `${u}-chief`;
      const leaseMs = 1_000;
      const resumeIntervalMs = 100;
      const poolA = schema.track(newPool(2));
      const storeA = new SpyStore(
        new PostgresEscalationStore({ pool: poolA, schema: schema.name, leaseMs, resumeIntervalMs }),
      );
      let crashedAt = 0;
      storeA.hooks.advance = async () => {
        // "kill -9" right after step 1 went out: no more writes, no more lease renewals.
        crashedAt = Date.now();
        await poolA.end();
        return false;
      };
      const a = await hub(storeA);
      const b = await hub(store({ leaseMs, resumeIntervalMs }));
      const [escalatedOnA, escalatedOnB] = record([a, b], 'escalated');
      const seniorDevice = await harness.subscriber(b, senior, [`user:${senior}`]);
      const chiefDevice = await harness.subscriber(b, chief, [`user:${chief}`]);

      await a.hub.publish(
        `user:${u}`,
        critical('crit-t1', [
          [u, 300],
          [senior, 600],
          [chief, LONG],
        ]),
      );
      await seniorDevice.notification('crit-t1~1', WAIT);
      await until(() => crashedAt > 0, 'hub A sent step 1 and died', WAIT);
      expect(await row('crit-t1')).toMatchObject({ status: 'pending', step: 0 });

      await until(() => escalatedOnB.length === 2, 'hub B took over and escalated steps 1 and 2', WAIT);
      const takeover = Date.parse(escalatedOnB[0]?.at ?? '') - crashedAt;
      await chiefDevice.notification('crit-t1~2', WAIT);
      await seniorDevice.roundTrip();
      await chiefDevice.roundTrip();
      console.log(
        `[escalation] takeover after the owner died: step 1 recorded by hub B ${takeover} ms later (leaseMs ${leaseMs} + resumeIntervalMs ${resumeIntervalMs}); step 1 sent ${idsOf(seniorDevice, 'crit-t1~1').length}x, step 2 ${idsOf(chiefDevice, 'crit-t1~2').length}x`,
      );

      expect(takeover).toBeGreaterThanOrEqual(0);
      expect(takeover).toBeLessThan(leaseMs + resumeIntervalMs + 10_000);
      expect(escalatedOnA).toEqual([]);
      expect(escalatedOnB.map((e) => [e.step, e.notificationId])).toEqual([
        [1, 'crit-t1~1'],
        [2, 'crit-t1~2'],
      ]);
      // Step 1's re-send by B was deduped by the shared history: each recipient got it once.
      expect(idsOf(seniorDevice, 'crit-t1~1')).toHaveLength(1);
      expect(idsOf(chiefDevice, 'crit-t1~2')).toHaveLength(1);
      expect(await row('crit-t1')).toMatchObject({ status: 'pending', step: 2 });
    });
  });

  describe('with memory escalation stores (one per instance)', () => {
    it('an ack received by hub B is relayed to hub A, which ends its escalation within 1 s', async () => {
      const u = newUser();
      const senior = `${u}-senior`;
      const storeA = new MemoryEscalationStore();
      const a = await hub(storeA);
      const b = await hub(new MemoryEscalationStore());
      const [ackedOnA, ackedOnB] = record([a, b], 'acknowledged');
      const [escalatedOnA, escalatedOnB] = record([a, b], 'escalated');
      const device = await harness.subscriber(b, u, [`user:${u}`]);
      const seniorDevice = await harness.subscriber(b, senior, [`user:${senior}`]);

      const publishedAt = Date.now();
      await a.hub.publish(
        `user:${u}`,
        critical('crit-m1', [
          [u, 5_000],
          [senior, LONG],
        ]),
      );
      await device.notification('crit-m1', WAIT);
      const ackedAt = Date.now();
      device.send({ type: 'ack', id: 'crit-m1' });
      await until(() => ackedOnA.length > 0, 'hub A ends the escalation', WAIT);
      const endedAfter = Date.parse(ackedOnA[0]?.at ?? '') - ackedAt;
      console.log(`[escalation] memory stores: ack on B relayed, hub A ended the escalation in ${endedAfter} ms`);

      expect(endedAfter).toBeLessThan(1_000);
      expect(ackedOnA).toEqual([
        expect.objectContaining({ id: 'crit-m1', userId: u, step: 0, notificationId: 'crit-m1', sessionId: 'remote' }),
      ]);
      expect(storeA.load('crit-m1')).toMatchObject({ status: 'acknowledged', acknowledgedBy: u });
      await until(() => Date.now() > publishedAt + 6_000, "A's deadline passed", WAIT);
      await seniorDevice.roundTrip();
      expect(idsOf(seniorDevice, 'crit-m1~1')).toEqual([]);
      expect([...escalatedOnA, ...escalatedOnB]).toEqual([]);
      expect(ackedOnB).toEqual([]);
    });
  });
});
