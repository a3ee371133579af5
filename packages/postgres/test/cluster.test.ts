/**
 * Issue 9, the production topology: 3 hub processes (the built packages) behind a round-robin TCP
 * balancer, one Redis (history + broker, @wardcast/redis) and the PostgreSQL inbox and escalation
 * store, with @wardcast/client devices connected through the balancer. Each test prints one line
 * with what it measured.
 */
import type { ClientNotification } from '@wardcast/client';
import { afterEach, beforeAll, expect, it } from 'vitest';
import {
  assertBuilt,
  Cluster,
  type ClusterHub,
  type ClusterOptions,
  type ClusterSchema,
  createSchema,
  describeCluster,
  inParallel,
  type PublishReply,
  passDeadline,
  until,
  waitFor,
} from './helpers/cluster.js';
import { type Device, openDevices } from './helpers/cluster-devices.js';

const rand = (): string => Math.random().toString(36).slice(2, 8);

/** Escalation row columns the tests read. */
interface EscalationRow {
  id: string;
  status: string;
  step: number;
  acknowledged_by: string | null;
  lease_owner: string | null;
  created_at: Date;
  deadline: Date;
}

describeCluster('issue 9: 3 hub processes behind a balancer, Redis backplane, PostgreSQL inbox + escalations', () => {
  const cleanups: (() => Promise<void>)[] = [];
  const devices: Device[] = [];

  beforeAll(() => assertBuilt());

  afterEach(async () => {
    for (const d of devices.splice(0)) d.stop();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  });

  /** A schema and a cluster of their own for one test. */
  async function setup(options: Omit<ClusterOptions, 'schema'> = {}) {
    const schema = await createSchema();
    cleanups.push(() => schema.drop());
    const cluster = await Cluster.start({ schema: schema.name, ...options });
    cleanups.push(() => cluster.close());
    return { schema, cluster };
  }

  async function escalationRow(schema: ClusterSchema, id: string): Promise<EscalationRow | undefined> {
    const { rows } = await schema.pool.query<EscalationRow>(
      `SELECT id, status, step, acknowledged_by, lease_owner, created_at, deadline
       FROM "${schema.name}".escalations WHERE id = $1`,
      [id],
    );
    return rows[0];
  }

  /** Publishes `<tag>-<user>` to each user (from the instances in turn) until every device has its user's. */
  async function warmUp(cluster: Cluster, list: readonly Device[], tag: string): Promise<void> {
    const users = [...new Set(list.map((d) => d.user))];
    const replies = await Promise.all(
      users.map((user, i) =>
        (cluster.hubs[i % cluster.hubs.length] as ClusterHub).publish(`user:${user}`, {
          id: `${tag}-${user}`,
          kind: 'custom',
          payload: { title: 'warm-up' },
        }),
      ),
    );
    expect(replies.filter((r) => !r.ok)).toEqual([]);
    await until(
      () => list.every((d) => d.has(`${tag}-${d.user}`)),
      'every device has its warm-up notification',
      15_000,
      () => list.filter((d) => !d.has(`${tag}-${d.user}`)).map((d) => `${d.label}: ${d.client.status.state}`),
    );
  }

  it('1. devices that read and ack the instant a notification arrives: 500 notifications, no read lost, no acked escalation fired, unread counts agree', async () => {
    const { schema, cluster } = await setup();
    const run = rand();
    const users = Array.from({ length: 5 }, (_, i) => `t1${run}-u${i}`);
    const TOTAL = 500;
    const DEADLINE_MS = 5_000;
    type Action = 'read' | 'ack' | 'unread';
    const plan = Array.from({ length: TOTAL }, (_, k) => {
      const user = users[k % users.length] as string;
      const turn = Math.floor(k / users.length) % 5;
      // Per user: 60 routine ones read on arrival, 20 critical ones acked on arrival, 20 left unread.
      const action: Action = turn === 0 ? 'ack' : turn === 1 ? 'unread' : 'read';
      return { k, id: `n${k}-${action}`, user, action, publisher: cluster.hubs[k % 3] as ClusterHub };
    });
    const actionOf = new Map<string, Action>(plan.map((p) => [p.id, p.action]));
    const actionFor = (id: string): Action => actionOf.get(id) ?? (id.startsWith('warm-') ? 'read' : 'unread');

    // The app on each user's first device reads or acks in its 'notification' handler; the second only watches.
    const act = (n: ClientNotification, device: Device): void => {
      const action = actionFor(n.id);
      if (action === 'read') device.store.markRead(n.id);
      else if (action === 'ack') device.store.ack(n.id);
    };
    const { devices: opened, instances } = await openDevices(
      cluster,
      users.flatMap((user) => [
        { user, label: `${user}/reader`, onNotification: act },
        { user, label: `${user}/watcher` },
      ]),
      devices,
    );
    const readers = opened.filter((_, i) => i % 2 === 0);
    const watchers = opened.filter((_, i) => i % 2 === 1);
    for (let i = 0; i < users.length; i++) expect(instances[2 * i]).not.toBe(instances[2 * i + 1]);
    await warmUp(cluster, opened, 'warm');

    const started = Date.now();
    const replies = new Map<string, PublishReply>();
    let lastCriticalAt = 0;
    await inParallel(TOTAL, 12, async (k) => {
      const p = plan[k] as (typeof plan)[number];
      const base = { id: p.id, kind: 'custom', payload: { title: `result #${k}`, k } };
      const input =
        p.action === 'ack'
          ? {
              ...base,
              priority: 'critical',
              escalation: {
                chain: [
                  { userId: p.user, deadlineMs: DEADLINE_MS },
                  { userId: `${p.user}-senior`, deadlineMs: 60_000 },
                ],
              },
            }
          : { ...base, priority: 'routine' };
      replies.set(p.id, await p.publisher.publish(`user:${p.user}`, input));
      if (p.action === 'ack') lastCriticalAt = Math.max(lastCriticalAt, Date.now());
    });
    const publishMs = Date.now() - started;
    const failed = [...replies].filter(([, r]) => !r.ok);
    expect(failed, 'every publish resolves').toEqual([]);

    const expectedIds = (user: string) => [`warm-${user}`, ...plan.filter((p) => p.user === user).map((p) => p.id)];
    const delivered = await waitFor(() => opened.every((d) => expectedIds(d.user).every((id) => d.has(id))), 20_000);
    const notDelivered = opened.flatMap((d) =>
      expectedIds(d.user)
        .filter((id) => !d.has(id))
        .map((id) => `${d.label}:${id}`),
    );

    // Acked escalations must not fire: wait out the last critical's deadline (plus slack) first.
    await passDeadline(lastCriticalAt + DEADLINE_MS + 1_500);

    type InboxRow = { user_id: string; id: string; read: boolean; acked: boolean };
    const inboxRows = async () =>
      (
        await schema.pool.query<InboxRow>(
          `SELECT user_id, id, read_at IS NOT NULL AS read, acknowledged_at IS NOT NULL AS acked
           FROM "${schema.name}".inbox`,
        )
      ).rows;
    const escalationRows = async () =>
      (await schema.pool.query<EscalationRow>(`SELECT id, status, step FROM "${schema.name}".escalations`)).rows;
    const dbUnread = (rows: readonly InboxRow[]) => {
      const unread = new Map<string, number>(users.map((u) => [u, 0]));
      for (const r of rows) if (!r.read) unread.set(r.user_id, (unread.get(r.user_id) ?? 0) + 1);
      return unread;
    };
    const readSet = (user: string) => new Set(expectedIds(user).filter((id) => actionFor(id) !== 'unread'));
    const measure = async () => {
      const rows = await inboxRows();
      const unread = dbUnread(rows);
      const escalations = await escalationRows();
      return {
        rows,
        escalations,
        unread,
        lostReads: rows.filter((r) => actionFor(r.id) !== 'unread' && !r.read).map((r) => r.id),
        lostAcks: rows.filter((r) => actionFor(r.id) === 'ack' && !r.acked).map((r) => r.id),
        missingRows: users.flatMap((u) => expectedIds(u).filter((id) => !rows.some((r) => r.id === id))),
        pendingEscalations: escalations.filter((e) => e.status !== 'acknowledged' || e.step !== 0).map((e) => e.id),
        unreadMismatch: opened
          .filter((d) => d.unreadCount !== unread.get(d.user))
          .map((d) => `${d.label} shows ${d.unreadCount}, db ${unread.get(d.user)}`),
        receiptsMissing: watchers.flatMap((w) =>
          [...readSet(w.user)].filter((id) => !w.receipts.some((r) => r.id === id)),
        ),
      };
    };
    // Everything converges at once or not at all: one bounded wait for all of it.
    let m = await measure();
    await waitFor(
      async () => {
        m = await measure();
        return (
          m.lostReads.length === 0 &&
          m.lostAcks.length === 0 &&
          m.pendingEscalations.length === 0 &&
          m.unreadMismatch.length === 0 &&
          m.receiptsMissing.length === 0
        );
      },
      5_000,
      100,
    );
    const fired = cluster.eventsNamed('escalated');
    // The inbox as the HTTP API serves it, through the balancer (any instance).
    const httpUnread = new Map<string, number>();
    for (const user of users) {
      const res = await fetch(`${cluster.httpUrl}/v1/notifications?limit=1`, {
        headers: { authorization: `Bearer tok_${user}` },
      });
      expect(res.status).toBe(200);
      httpUnread.set(user, ((await res.json()) as { data: { unread_count: number } }).data.unread_count);
    }
    const httpMismatch = users.filter((u) => httpUnread.get(u) !== m.unread.get(u));
    const reads = plan.filter((p) => p.action === 'read').length + users.length;
    const acks = plan.filter((p) => p.action === 'ack').length;
    const gaps = opened.reduce((n, d) => n + d.gaps.length, 0);
    console.log(
      `[cluster 1] ${TOTAL} notifications (+${users.length} warm-up) to ${users.length} users x 2 devices on ` +
        `${new Set(instances).size} instances, published in ${publishMs} ms from all 3: ` +
        `delivered to every device: ${delivered ? 'yes' : `NO (${notDelivered.length} missing)`}; ` +
        `reads lost ${m.lostReads.length}/${reads + acks}, acks not recorded ${m.lostAcks.length}/${acks}, ` +
        `acked escalations fired ${fired.length}/${acks} (rows not acknowledged at step 0: ${m.pendingEscalations.length}), ` +
        `device unread != db on ${m.unreadMismatch.length}/${opened.length} devices` +
        `${m.unreadMismatch.length ? ` (e.g. ${m.unreadMismatch[0]})` : ''}, http unread != db for ${httpMismatch.length}, ` +
        `receipts missing on watchers ${m.receiptsMissing.length}/${reads + acks}, gaps ${gaps}`,
    );

    expect(notDelivered, 'every device gets every notification of its user').toEqual([]);
    expect(m.missingRows, 'every notification has its inbox row').toEqual([]);
    expect(m.lostReads, 'reads made on arrival are all recorded').toEqual([]);
    expect(m.lostAcks, 'acks made on arrival are all recorded').toEqual([]);
    expect(
      fired.map((e) => `${e.info.id} by ${cluster.short(e.instance)}`),
      'no acknowledged escalation fires',
    ).toEqual([]);
    expect(m.pendingEscalations, 'every escalation row is acknowledged at step 0').toEqual([]);
    expect(m.unreadMismatch, 'each device shows the database unread count').toEqual([]);
    for (const user of users) expect(m.unread.get(user)).toBe(20);
    expect(httpMismatch, 'GET /v1/notifications unread_count is the database count').toEqual([]);
    expect(m.receiptsMissing, 'the other device gets a receipt for every read and ack').toEqual([]);
    expect(gaps, 'per-topic order holds across instances: no device saw a seq jump').toBe(0);
    for (const d of [...readers, ...watchers]) expect(d.errors, d.label).toEqual([]);
  }, 60_000);

  it('2a. an ack that reaches instance B stops the escalation instance A tracks, within 1 s', async () => {
    const { schema, cluster } = await setup();
    const run = rand();
    const doctor = `t2a${run}-doc`;
    const senior = `t2a${run}-senior`;
    const DEADLINE_MS = 4_000;
    const ackSentAt = new Map<string, number>();
    const {
      devices: [doc, sen],
      instances: [docOn],
    } = await openDevices(
      cluster,
      [
        {
          user: doctor,
          label: 'doctor',
          // Acks a critical result the moment it arrives.
          onNotification: (n, device) => {
            if (!n.id.startsWith('crit-')) return;
            ackSentAt.set(n.id, Date.now());
            device.store.ack(n.id);
          },
        },
        { user: senior, label: 'senior' },
      ],
      devices,
    );
    if (!doc || !sen || !docOn) throw new Error('devices did not open');
    await warmUp(cluster, [doc, sen], 'warm');
    const a = cluster.hubs.find((h) => h.name !== docOn) as ClusterHub;

    const publishedAt = Date.now();
    const reply = await a.publish(`user:${doctor}`, {
      id: 'crit-1',
      kind: 'custom',
      priority: 'critical',
      payload: { test: 'potassium', value: 6.9 },
      escalation: {
        chain: [
          { userId: doctor, deadlineMs: DEADLINE_MS },
          { userId: senior, deadlineMs: 60_000 },
        ],
      },
    });
    expect(reply).toMatchObject({ ok: true });
    const trackedBy = (await escalationRow(schema, 'crit-1'))?.lease_owner ?? undefined;
    await until(() => ackSentAt.has('crit-1'), 'the doctor’s device got crit-1', 10_000);
    const sentAt = ackSentAt.get('crit-1') as number;
    let stoppedAt: number | undefined;
    await waitFor(
      async () => {
        if ((await escalationRow(schema, 'crit-1'))?.status !== 'acknowledged') return false;
        stoppedAt = Date.now();
        return true;
      },
      Math.max(1_000, publishedAt + DEADLINE_MS + 1_500 - Date.now()),
    );
    // Whatever happened, the step must not fire: wait out its deadline.
    await passDeadline(publishedAt + DEADLINE_MS + 1_500);
    const final = await escalationRow(schema, 'crit-1');
    const fired = cluster.eventsNamed('escalated', (e) => e.info.id === 'crit-1');
    const ackedOn = cluster.eventsNamed('ack', (e) => e.info.id === 'crit-1').map((e) => cluster.short(e.instance));
    const acknowledgedBy = cluster
      .eventsNamed('acknowledged', (e) => e.info.id === 'crit-1')
      .map((e) => cluster.short(e.instance));
    const stopMs = stoppedAt === undefined ? undefined : stoppedAt - sentAt;
    console.log(
      `[cluster 2a] crit-1 published on ${cluster.short(a.name)} (escalation leased to ${cluster.short(trackedBy)}), ` +
        `doctor's device on ${cluster.short(docOn)} acked it ${sentAt - publishedAt} ms after publish ` +
        `(ack frame handled on [${ackedOn}]); escalation row acknowledged ` +
        `${stopMs === undefined ? 'NEVER' : `${stopMs} ms after the ack`} ` +
        `(final: ${final?.status}, step ${final?.step}); 'acknowledged' event on [${acknowledgedBy}]; ` +
        `escalated events ${fired.length}; senior got crit-1~1: ${sen.has('crit-1~1') ? 'YES' : 'no'}`,
    );

    expect(ackedOn, 'the ack went to the device’s instance').toContain(cluster.short(docOn));
    expect(cluster.short(docOn)).not.toBe(cluster.short(a.name));
    // A tracks it (its lease; released already if the ack was that fast).
    expect(trackedBy ?? a.name, 'the publishing instance tracks the escalation').toBe(a.name);
    expect(final, 'the escalation row is acknowledged by the doctor').toMatchObject({
      status: 'acknowledged',
      step: 0,
      acknowledged_by: doctor,
    });
    expect(stopMs, 'stopped within 1 s of the ack').toBeLessThan(1_000);
    expect(
      fired.map((e) => `step ${e.info.step} by ${cluster.short(e.instance)}`),
      'no step fired',
    ).toEqual([]);
    expect(sen.has('crit-1~1'), 'the senior was not paged').toBe(false);
  }, 45_000);

  it('2b. kill -9 the instance tracking a pending escalation (twice): another one escalates on time, each step exactly once', async () => {
    const { schema, cluster } = await setup({ leaseMs: 1_000, resumeIntervalMs: 200 });
    const run = rand();
    const doctor = `t2b${run}-doc`;
    const senior = `t2b${run}-senior`;
    const chief = `t2b${run}-chief`;
    const STEP_MS = [3_000, 3_000, 2_000] as const;
    const {
      devices: [doc, sen, chf],
    } = await openDevices(
      cluster,
      [
        { user: doctor, label: 'doctor' },
        { user: senior, label: 'senior' },
        { user: chief, label: 'chief' },
      ],
      devices,
    );
    if (!doc || !sen || !chf) throw new Error('devices did not open');
    await warmUp(cluster, [doc, sen, chf], 'warm');

    const reply = await (cluster.hubs[0] as ClusterHub).publish(`user:${doctor}`, {
      id: 'esc-1',
      kind: 'custom',
      priority: 'critical',
      payload: { test: 'troponin', value: 'critical high' },
      escalation: {
        chain: [
          { userId: doctor, deadlineMs: STEP_MS[0] },
          { userId: senior, deadlineMs: STEP_MS[1] },
          { userId: chief, deadlineMs: STEP_MS[2] },
        ],
      },
    });
    expect(reply).toMatchObject({ ok: true });
    const started = await escalationRow(schema, 'esc-1');
    expect(started, 'the escalation is registered when publish resolves').toMatchObject({
      status: 'pending',
      step: 0,
    });
    const step0Due = (started as EscalationRow).deadline.getTime();
    const tracker1 = (started as EscalationRow).lease_owner;
    expect(tracker1, 'a live instance holds the lease').toSatisfy(
      (owner: string | null) => owner !== null && cluster.hubs.some((h) => h.name === owner),
    );
    await cluster.hub(tracker1 as string).kill();
    const killed1At = Date.now();

    const stepEvent = (step: number) =>
      cluster.eventsNamed('escalated', (e) => e.info.id === 'esc-1' && e.info.step === step)[0];
    await until(
      () => stepEvent(1) !== undefined,
      'step 1 fires',
      step0Due + 5_000 - Date.now(),
      () => cluster.events.filter((e) => !['subscribe', 'authenticated', 'disconnect'].includes(e.name)),
    );
    const step1 = stepEvent(1) as NonNullable<ReturnType<typeof stepEvent>>;
    // The instance that escalated tracks the next step: kill it too, right away.
    const tracker2 = step1.instance;
    await cluster.hub(tracker2).kill();
    const step1Due = Date.parse(step1.info.deadline);
    await until(() => stepEvent(2) !== undefined, 'step 2 fires', step1Due + 5_000 - Date.now());
    const step2 = stepEvent(2) as NonNullable<ReturnType<typeof stepEvent>>;
    const exhausted = () => cluster.eventsNamed('unacknowledged', (e) => e.info.id === 'esc-1');
    await until(
      () => exhausted().length > 0,
      'the chain runs out',
      Date.parse(step2.info.deadline) + 5_000 - Date.now(),
    );
    await until(() => sen.has('esc-1~1') && chf.has('esc-1~2'), 'the senior and the chief got their steps', 10_000);
    const final = await escalationRow(schema, 'esc-1');
    const steps = cluster.eventsNamed('escalated', (e) => e.info.id === 'esc-1');
    const late1 = step1.at - step0Due;
    const late2 = step2.at - step1Due;
    const late3 = (exhausted()[0]?.at ?? 0) - Date.parse(step2.info.deadline);
    console.log(
      `[cluster 2b] esc-1 leased to ${cluster.short(tracker1 ?? undefined)}, killed ${killed1At - (step0Due - STEP_MS[0])} ms into step 0; ` +
        `step 1 by ${cluster.short(step1.instance)} ${late1} ms after its deadline; killed it; ` +
        `step 2 by ${cluster.short(step2.instance)} ${late2} ms after its deadline; chain exhausted ${late3} ms after the last deadline ` +
        `(${exhausted().length} unacknowledged event(s)); escalated events [${steps.map((e) => `${e.info.step}@${cluster.short(e.instance)}`)}]; ` +
        `received: senior ~1 x${sen.count('esc-1~1')}, chief ~2 x${chf.count('esc-1~2')}, doctor esc-1 x${doc.count('esc-1')}; ` +
        `final row ${final?.status} step ${final?.step}`,
    );

    expect(step1.instance).not.toBe(tracker1);
    expect(step2.instance).not.toBe(tracker2);
    expect(steps.map((e) => e.info.step).sort(), 'each step published exactly once').toEqual([1, 2]);
    expect(exhausted(), 'the chain ends once').toHaveLength(1);
    // On time: not before the deadline, and not later than the takeover bound allows.
    for (const late of [late1, late2]) {
      expect(late).toBeGreaterThanOrEqual(-50);
      expect(late).toBeLessThan(1_500);
    }
    expect(sen.count('esc-1~1')).toBe(1);
    expect(chf.count('esc-1~2')).toBe(1);
    expect(sen.has('esc-1~2') || chf.has('esc-1~1') || doc.has('esc-1~1')).toBe(false);
    expect(final).toMatchObject({ status: 'unacknowledged', step: 2 });
  }, 45_000);

  it('2c. a tracker that stalls past its lease (SIGSTOP) and wakes up (SIGCONT) neither repeats a step nor escalates after the ack', async () => {
    const { schema, cluster } = await setup({ leaseMs: 1_000, resumeIntervalMs: 200 });
    const run = rand();
    const doctor = `t2c${run}-doc`;
    const senior = `t2c${run}-senior`;
    const chief = `t2c${run}-chief`;
    const STEP_MS = [2_500, 3_000, 2_000] as const;
    const ackSentAt = new Map<string, number>();
    const {
      devices: [doc, sen, chf],
      instances: [docOn, senOn],
    } = await openDevices(
      cluster,
      [
        { user: doctor, label: 'doctor' },
        {
          user: senior,
          label: 'senior',
          // The senior acks the escalated copy the moment it arrives.
          onNotification: (n, device) => {
            if (!n.id.endsWith('~1')) return;
            ackSentAt.set(n.id, Date.now());
            device.store.ack(n.id);
          },
        },
        { user: chief, label: 'chief' },
      ],
      devices,
    );
    if (!doc || !sen || !chf || !docOn || !senOn) throw new Error('devices did not open');
    await warmUp(cluster, [doc, sen, chf], 'warm');

    // Published on the doctor's instance, which is not the senior's: that one will stall.
    const reply = await cluster.hub(docOn).publish(`user:${doctor}`, {
      id: 'stall-1',
      kind: 'custom',
      priority: 'critical',
      payload: { test: 'lactate', value: 7.1 },
      escalation: {
        chain: [
          { userId: doctor, deadlineMs: STEP_MS[0] },
          { userId: senior, deadlineMs: STEP_MS[1] },
          { userId: chief, deadlineMs: STEP_MS[2] },
        ],
      },
    });
    expect(reply).toMatchObject({ ok: true });
    const started = (await escalationRow(schema, 'stall-1')) as EscalationRow;
    expect(started).toMatchObject({ status: 'pending', step: 0 });
    const stalled = cluster.hub(started.lease_owner ?? docOn);
    expect(stalled.name, 'the senior is not on the instance that stalls').not.toBe(senOn);
    stalled.pause();
    const step0Due = started.deadline.getTime();

    const stepEvents = () => cluster.eventsNamed('escalated', (e) => e.info.id === 'stall-1');
    await until(
      () => stepEvents().some((e) => e.info.step === 1),
      'another instance escalates step 1',
      step0Due + 5_000 - Date.now(),
    );
    const step1 = stepEvents()[0] as (typeof cluster.events)[number];
    await until(() => ackSentAt.has('stall-1~1'), 'the senior acks stall-1~1', 10_000);
    const ackedAt = ackSentAt.get('stall-1~1') as number;
    let recordedAt: number | undefined;
    await waitFor(async () => {
      if ((await escalationRow(schema, 'stall-1'))?.status !== 'acknowledged') return false;
      recordedAt = Date.now();
      return true;
    }, 3_000);
    // The stalled instance wakes up: its timer for step 0 is overdue and fires at once.
    stalled.resume();
    const resumedAt = Date.now();
    const step2Due = Date.parse(step1.info.deadline);
    // Nothing may happen now, up to the step-2 deadline and beyond: wait it out.
    await passDeadline(Math.max(step2Due, resumedAt) + 1_500);
    const final = await escalationRow(schema, 'stall-1');
    const steps = stepEvents();
    const exhausted = cluster.eventsNamed('unacknowledged', (e) => e.info.id === 'stall-1');
    console.log(
      `[cluster 2c] stall-1 leased to ${cluster.short(stalled.name)}, which was paused (SIGSTOP); ` +
        `step 1 by ${cluster.short(step1.instance)} ${step1.at - step0Due} ms after its deadline; senior on ` +
        `${cluster.short(senOn)} acked ${ackedAt - step0Due} ms after that deadline, row acknowledged ` +
        `${recordedAt === undefined ? 'NEVER' : `${recordedAt - ackedAt} ms after the ack`}; ` +
        `${cluster.short(stalled.name)} resumed ${resumedAt - step1.at} ms after step 1; escalated events ` +
        `[${steps.map((e) => `${e.info.step}@${cluster.short(e.instance)}`)}], unacknowledged events ${exhausted.length}; ` +
        `chief paged: ${chf.has('stall-1~2') ? 'YES' : 'no'}; final row ${final?.status} step ${final?.step} by ${final?.acknowledged_by}`,
    );

    expect(step1.instance).not.toBe(stalled.name);
    expect(
      steps.map((e) => `step ${e.info.step} by ${cluster.short(e.instance)}`),
      'step 1 exactly once, and nothing after the ack',
    ).toEqual([`step 1 by ${cluster.short(step1.instance)}`]);
    expect(exhausted).toEqual([]);
    expect(chf.has('stall-1~2'), 'the chief is not paged after the senior acked').toBe(false);
    expect(sen.count('stall-1~1')).toBe(1);
    expect(final, 'the acknowledgement stands').toMatchObject({
      status: 'acknowledged',
      step: 1,
      acknowledged_by: senior,
    });
  }, 45_000);

  it('3. a publish whose inbox write fails (a NUL the jsonb column refuses) is delivered to no one, on any instance', async () => {
    const { schema, cluster } = await setup();
    const user = `t3${rand()}-nurse`;
    const topic = `user:${user}`;
    const { devices: opened, instances } = await openDevices(
      cluster,
      [1, 2, 3, 4].map((i) => ({ user, label: `device ${i}` })),
      devices,
    );
    const live = opened.slice(0, 3);
    const returning = opened[3] as Device;
    expect(new Set(instances.slice(0, 3)).size, 'a subscriber on each instance').toBe(3);
    await warmUp(cluster, opened, 'warm');
    // The fourth device goes offline (with its resume point) and comes back after both publishes.
    const offlineSession = returning.sessionId;
    returning.client.close();
    await until(
      () => cluster.eventsNamed('disconnect', (e) => e.info.sessionId === offlineSession).length > 0,
      'the returning device is disconnected',
      10_000,
    );

    const bad = await (cluster.hubs[0] as ClusterHub).publish(topic, {
      id: 'bad-1',
      kind: 'custom',
      priority: 'urgent',
      payload: { note: 'scanner text with a NUL \u0000 inside' },
    });
    const afterAt = Date.now();
    const after = await (cluster.hubs[1] as ClusterHub).publish(topic, {
      id: 'after-1',
      kind: 'custom',
      priority: 'urgent',
      payload: { note: 'a clean one' },
    });
    expect(after, 'the next publish resolves').toMatchObject({ ok: true });
    // Per-topic order: once the next one arrived, the refused one would have arrived before it.
    const allGotAfter = await waitFor(() => live.every((d) => d.has('after-1')), 10_000);
    const afterMs = Date.now() - afterAt;
    returning.client.connect();
    const returnedGotAfter = await waitFor(() => returning.has('after-1'), 10_000);
    const { rows } = await schema.pool.query<{ id: string }>(
      `SELECT id FROM "${schema.name}".inbox WHERE user_id = $1 ORDER BY seq`,
      [user],
    );
    const res = await fetch(`${cluster.httpUrl}/v1/notifications?limit=100`, {
      headers: { authorization: `Bearer tok_${user}` },
    });
    const listed = ((await res.json()) as { data: { items: { id: string }[] } }).data.items.map((i) => i.id);
    const gotBad = opened.filter((d) => d.has('bad-1'));
    console.log(
      `[cluster 3] publish with a NUL on ${cluster.short(cluster.hubs[0]?.name)}: ` +
        `${bad.ok ? 'RESOLVED' : `rejected ${bad.code}`}; received by ${gotBad.length}/4 devices ` +
        `[${gotBad.map((d) => `${d.label}@${cluster.short(cluster.instanceOf(d.sessionId))}`)}]; ` +
        `next publish received by the 3 live devices: ${allGotAfter ? `yes, within ${afterMs} ms` : 'NO'}, ` +
        `by the returning one (resume): ${returnedGotAfter ? 'yes' : 'NO'}; inbox rows [${rows.map((r) => r.id)}]; ` +
        `gaps ${opened.reduce((n, d) => n + d.gaps.length, 0)}`,
    );

    expect(bad).toMatchObject({ ok: false, code: 'store_unavailable' });
    expect(
      gotBad.map((d) => d.label),
      'no device, live or resuming, receives the refused notification',
    ).toEqual([]);
    expect(allGotAfter && returnedGotAfter, 'the next publish is received by every device').toBe(true);
    expect(
      opened.flatMap((d) => d.gaps.map((g) => `${d.label}: ${g.reason}`)),
      'received normally: the refused publish left no hole in the stream',
    ).toEqual([]);
    expect(rows.map((r) => r.id)).toEqual([`warm-${user}`, 'after-1']);
    expect(res.status).toBe(200);
    expect(listed).not.toContain('bad-1');
    expect(listed).toContain('after-1');
  }, 45_000);
});
