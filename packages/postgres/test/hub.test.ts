import type { WebSocketConstructor } from '@wardcast/client';
import { NotificationsStore } from '@wardcast/client/react';
import { PostgresEscalationStore, PostgresInbox } from '@wardcast/postgres';
import { createNodeHandler, type EscalatedEvent, type StreamPosition } from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { TestClient } from '../../server/test/helpers/client.js';
import { SpyStore } from '../../server/test/helpers/escalation.js';
import { eventually, type Fixture, type Harness, tokenFor, useHarness } from '../../server/test/helpers/harness.js';
import { database, newPool, sleep, useSchema } from './helpers/db.js';

const custom = (id: string, extra: Record<string, unknown> = {}) =>
  ({ id, kind: 'custom', payload: { title: `title ${id}`, message: `message ${id}`, ...extra } }) as const;

/** Escalation tests: a deadline no test reaches, and how long to wait for what should happen. */
const ESCALATION_LONG = 60_000;
const ESCALATION_WAIT = 15_000;

/** Polls an async `condition` until it holds; rejects with `what` after `timeoutMs`. */
async function eventuallyAsync(condition: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(20);
  }
}

let users = 0;
const newUser = (): string => `u${++users}-${Math.random().toString(36).slice(2, 8)}`;

/** Subscribes a raw test client with an explicit subscribe entry and returns the result. */
async function subscribe(client: TestClient, entry: Record<string, unknown>) {
  const ref = `s${Math.random().toString(36).slice(2)}`;
  client.send({ type: 'subscribe', ref, topics: [entry] });
  const reply = await client.nextFrame('subscribed', (f) => f.ref === ref);
  return reply.topics[0];
}

/** GET /v1/notifications as `userId`. */
async function listOverHttp(fx: Fixture, userId: string, query = 'limit=100') {
  const res = await fetch(`http://127.0.0.1:${fx.port}/v1/notifications?${query}`, {
    headers: { authorization: `Bearer ${tokenFor(userId)}` },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: HttpPage }).data;
}

interface HttpPage {
  items: { id: string; seq: number; epoch: string; read_at: string | null; acknowledged_at: string | null }[];
  next_cursor: string | null;
  unread_count: number;
}

describe.skipIf(!database)('NotificationHub with the Postgres inbox and escalation store', () => {
  const schema = useSchema();
  const harness = useHarness();
  const inbox = () => new PostgresInbox({ pool: schema.pool, schema: schema.name });
  const escalations = (options: Partial<ConstructorParameters<typeof PostgresEscalationStore>[0]> = {}) =>
    new PostgresEscalationStore({ pool: schema.pool, schema: schema.name, ...options });

  /** A hub with a Postgres inbox whose server also answers the HTTP endpoints. */
  async function start(harnessToUse: Harness = harness, extra: Parameters<Harness['start']>[0] = {}) {
    const fx = await harnessToUse.start({ inbox: inbox(), ...extra });
    const handler = createNodeHandler(fx.hub);
    fx.server.removeAllListeners('request');
    fx.server.on('request', (req, res) => handler(req, res));
    return fx;
  }

  it('resolves publish to a user topic only after the inbox row is committed', async () => {
    const fx = await start();
    const reader = schema.track(newPool(1));
    const u = newUser();
    for (let i = 1; i <= 15; i++) {
      const result = await fx.hub.publish(`user:${u}`, custom(`c-${i}`));
      // Another connection, right after publish resolved.
      const { rows } = await reader.query(
        `SELECT id, epoch, seq::int FROM "${schema.name}".inbox WHERE user_id = $1 AND id = $2`,
        [u, `c-${i}`],
      );
      expect(rows).toEqual([{ id: `c-${i}`, epoch: result.epoch, seq: result.seq }]);
    }
    // A duplicate publish records nothing more.
    expect((await fx.hub.publish(`user:${u}`, custom('c-1'))).duplicate).toBe(true);
    const count = await reader.query(`SELECT count(*)::int AS n FROM "${schema.name}".inbox WHERE user_id = $1`, [u]);
    expect(count.rows[0]).toEqual({ n: 15 });
    // Other topics do not go to the inbox.
    await fx.hub.publish('broadcast', custom('b-1'));
    const none = await reader.query(`SELECT count(*)::int AS n FROM "${schema.name}".inbox WHERE id = 'b-1'`);
    expect(none.rows[0]).toEqual({ n: 0 });
  });

  it('offline user: 50 notifications reach a resuming and a fresh device exactly once, in order; read state is shared live', async () => {
    const fx = await start();
    const u = newUser();
    const topic = `user:${u}`;
    // Device A was online once, so it has a resume point; then the user goes offline.
    const before = await harness.connectAs(fx, u, { label: 'A (before)' });
    const first = await subscribe(before, { topic, unread: true });
    expect(first?.status).toBe('ok');
    const since = first?.position as StreamPosition;
    before.terminate();
    await eventually(() => fx.hub.stats().connections === 0, 'device A is gone');

    const ids = Array.from({ length: 50 }, (_, i) => `n-${i + 1}`);
    for (const id of ids) await fx.hub.publish(topic, custom(id));

    // A comes back with its resume point; B is a fresh device with none.
    const a = await harness.connectAs(fx, u, { label: 'A' });
    const b = await harness.connectAs(fx, u, { label: 'B' });
    const [ra, rb] = await Promise.all([
      subscribe(a, { topic, since, unread: true }),
      subscribe(b, { topic, unread: true }),
    ]);
    expect(ra).toMatchObject({ status: 'ok', recovered: true, position: { epoch: since.epoch, seq: 50 } });
    expect(rb).toMatchObject({ status: 'ok', recovered: false, position: { epoch: since.epoch, seq: 50 } });
    for (const device of [a, b]) {
      const got = device.framesOf('notification');
      expect(got.map((n) => n.id)).toEqual(ids);
      expect(got.map((n) => n.seq)).toEqual(ids.map((_, i) => i + 1));
      // Replayed before the `subscribed` reply.
      const subscribedAt = device.frames.findIndex((f) => f.type === 'subscribed');
      expect(device.frames.slice(0, subscribedAt).filter((f) => f.type === 'notification')).toHaveLength(50);
    }

    // Device A reads ten: B gets a receipt for each, live; A gets exactly its own.
    const readOnA = ids.slice(0, 10);
    for (const id of readOnA) a.send({ type: 'read', id });
    for (const id of readOnA) {
      await b.nextFrame('receipt', (r) => r.id === id && r.action === 'read');
      await a.nextFrame('receipt', (r) => r.id === id && r.action === 'read');
    }
    // Over HTTP: both devices get it. An ack on B: A gets an `ack` receipt.
    const res = await fetch(`http://127.0.0.1:${fx.port}/v1/notifications/n-11/read`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokenFor(u)}` },
    });
    expect(res.status).toBe(200);
    await a.nextFrame('receipt', (r) => r.id === 'n-11');
    await b.nextFrame('receipt', (r) => r.id === 'n-11');
    b.send({ type: 'ack', id: 'n-12' });
    await a.nextFrame('receipt', (r) => r.id === 'n-12' && r.action === 'ack');
    await b.nextFrame('receipt', (r) => r.id === 'n-12' && r.action === 'ack');
    // An unknown id: refused (`unknown_notification`), nothing to either device.
    a.send({ type: 'read', id: 'not-in-inbox', ref: 'unknown' });
    expect((await a.nextFrame('error', (f) => f.ref === 'unknown')).code).toBe('unknown_notification');
    await a.roundTrip();
    await b.roundTrip();

    const receipted = (device: TestClient) => new Set(device.framesOf('receipt').map((r) => r.id));
    const page = await listOverHttp(fx, u);
    const readIds = new Set(page.items.filter((i) => i.read_at !== null).map((i) => i.id));
    expect([...readIds].sort()).toEqual([...readOnA, 'n-11', 'n-12'].sort());
    expect(page.unread_count).toBe(38);
    expect(receipted(a)).toEqual(readIds);
    expect(receipted(b)).toEqual(readIds);
    // Each device got each receipt once.
    for (const device of [a, b]) {
      const counts = new Map<string, number>();
      for (const r of device.framesOf('receipt')) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
    }
    expect(page.items.find((i) => i.id === 'n-12')?.acknowledged_at).not.toBeNull();
    // The HTTP answer is the store's: same order, ids, seqs and read state.
    const stored = await inbox().list(u, { limit: 100 });
    expect(page.items.map((i) => [i.id, i.seq, i.read_at, i.acknowledged_at])).toEqual(
      stored.items.map((e) => [e.notification.id, e.notification.seq, e.readAt ?? null, e.acknowledgedAt ?? null]),
    );
    expect(page.unread_count).toBe(stored.unreadCount);

    // A third fresh device gets only what is still unread, in order.
    const c = await harness.connectAs(fx, u, { label: 'C' });
    await subscribe(c, { topic, unread: true });
    expect(c.framesOf('notification').map((n) => n.id)).toEqual(ids.slice(12));
    // Without `unread`, a fresh device gets nothing replayed (as before).
    const d = await harness.connectAs(fx, u, { label: 'D' });
    await subscribe(d, { topic });
    expect(d.framesOf('notification')).toEqual([]);
  });

  it('replays from the inbox after a hub restart (new epoch): no duplicates, seq order, then live', async () => {
    const fx1 = await start();
    const u = newUser();
    const topic = `user:${u}`;
    const early = await harness.connectAs(fx1, u);
    await subscribe(early, { topic, unread: true });
    for (let i = 1; i <= 5; i++) await fx1.hub.publish(topic, custom(`old-${i}`));
    await early.nextFrame('notification', (n) => n.id === 'old-5');
    const since = { epoch: early.framesOf('notification')[0]?.epoch as string, seq: 3 };
    early.send({ type: 'read', id: 'old-1' });
    await early.nextFrame('receipt', (r) => r.id === 'old-1');
    await fx1.hub.close();

    // A new process: memory history starts a new epoch; the inbox is the same.
    const fx2 = await start();
    for (let i = 1; i <= 3; i++) await fx2.hub.publish(topic, custom(`new-${i}`));
    const device = await harness.connectAs(fx2, u);
    const result = await subscribe(device, { topic, since, unread: true });
    expect(result).toMatchObject({ status: 'ok', recovered: false, position: { seq: 3 } });
    // The old epoch's unread first (old-1 was read; old-2 and old-3 are covered by the resume
    // point, in that same epoch), then the new epoch, each in seq order.
    expect(device.framesOf('notification').map((n) => n.id)).toEqual(['old-4', 'old-5', 'new-1', 'new-2', 'new-3']);
    await fx2.hub.publish(topic, custom('live-1'));
    await device.notification('live-1');
    expect(device.framesOf('notification').map((n) => n.id)).toEqual([
      'old-4',
      'old-5',
      'new-1',
      'new-2',
      'new-3',
      'live-1',
    ]);
  });

  it('keeps seq order and loses nothing when publishes race a fresh device’s subscribe', async () => {
    const fx = await start();
    const u = newUser();
    const topic = `user:${u}`;
    for (let i = 1; i <= 20; i++) await fx.hub.publish(topic, custom(`pre-${i}`));
    const device = await harness.connectAs(fx, u);
    const racing = Promise.all(Array.from({ length: 40 }, (_, i) => fx.hub.publish(topic, custom(`race-${i}`))));
    await subscribe(device, { topic, unread: true });
    await racing;
    await device.roundTrip();
    await sleep(50);
    const got = device.framesOf('notification');
    const unique = new Map(got.map((n) => [n.id, n.seq]));
    expect(unique.size).toBe(60);
    // What an app sees after the client's dedupe (by id, and by seq on the same stream) is
    // everything, in strictly increasing seq.
    const delivered: number[] = [];
    const seen = new Set<string>();
    for (const n of got) {
      if (seen.has(n.id) || n.seq <= (delivered[delivered.length - 1] ?? 0)) continue;
      seen.add(n.id);
      delivered.push(n.seq);
    }
    expect(delivered).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });

  it('two app devices (@wardcast/client React store): same list, read on one shows as read on the other', async () => {
    const fx = await start();
    const u = newUser();
    for (let i = 1; i <= 50; i++) await fx.hub.publish(`user:${u}`, custom(`s-${i}`));
    const device = () =>
      new NotificationsStore(() => ({
        url: fx.url,
        token: () => tokenFor(u),
        topics: [`user:${u}`],
        WebSocket: WebSocket as unknown as WebSocketConstructor,
        maxItems: 100,
      }));
    const phone = device();
    const desk = device();
    const stops = [phone.start(), desk.start()];
    try {
      await eventually(
        () => phone.getSnapshot().notifications.length === 50 && desk.getSnapshot().notifications.length === 50,
        'both devices have the 50 offline notifications',
        5_000,
      );
      for (const s of [phone, desk]) {
        expect(s.getSnapshot().notifications.map((n) => n.id)).toEqual(
          Array.from({ length: 50 }, (_, i) => `s-${50 - i}`),
        );
        expect(s.getSnapshot().unreadCount).toBe(50);
      }
      phone.markRead('s-50');
      phone.markRead('s-7');
      phone.ack('s-8');
      await eventually(() => desk.getSnapshot().unreadCount === 47, 'the desk sees the reads', 5_000);
      expect([...desk.getSnapshot().readIds].sort()).toEqual(['s-50', 's-7', 's-8']);
      await eventually(() => phone.getSnapshot().unreadCount === 47, 'the phone counts its ack as read', 5_000);
      const page = await listOverHttp(fx, u);
      expect(page.unread_count).toBe(47);
    } finally {
      for (const stop of stops) stop();
    }
  });

  it('escalation survives a restart: the deadline passes while no hub runs, the next hub escalates at once', async () => {
    const u = newUser();
    const senior = `${u}-senior`;
    const fxA = await start(harness, { escalations: escalations() });
    await fxA.hub.publish(`user:${u}`, {
      ...custom('crit-1'),
      priority: 'critical',
      escalation: {
        chain: [
          { userId: u, deadlineMs: ESCALATION_LONG },
          { userId: senior, deadlineMs: ESCALATION_LONG },
        ],
      },
    });
    await fxA.hub.close();
    const row = await schema.pool.query(
      `SELECT status, step, lease_owner FROM "${schema.name}".escalations WHERE id = 'crit-1'`,
    );
    expect(row.rows).toEqual([{ status: 'pending', step: 0, lease_owner: null }]);
    // The deadline passed an hour ago, while no hub ran (instead of sleeping past a short one).
    await schema.pool.query(
      `UPDATE "${schema.name}".escalations SET deadline = now() - interval '1 hour' WHERE id = 'crit-1'`,
    );

    // "Another process": its own pool and stores.
    const pool = schema.track(newPool(4));
    const startedAt = Date.now();
    const fxB = await start(harness, {
      inbox: new PostgresInbox({ pool, schema: schema.name }),
      escalations: new PostgresEscalationStore({ pool, schema: schema.name }),
    });
    const step = async () =>
      (await pool.query(`SELECT step, status, deadline FROM "${schema.name}".escalations WHERE id = 'crit-1'`)).rows[0];
    await eventuallyAsync(async () => (await step())?.step === 1, 'hub B escalates', ESCALATION_WAIT);
    // At once: hub B escalated after it started, not a fresh 60 s deadline after it (the step's
    // deadline is the moment it escalated plus the next step's deadlineMs).
    const escalatedAt = new Date((await step()).deadline).getTime() - ESCALATION_LONG;
    expect(escalatedAt).toBeGreaterThanOrEqual(startedAt - 1_000);
    // The next recipient gets it over a real socket (replayed from the inbox: they connect after).
    const recipient = await harness.connectAs(fxB, senior);
    await subscribe(recipient, { topic: `user:${senior}`, unread: true });
    const n = await recipient.notification('crit-1~1', ESCALATION_WAIT);
    expect(n).toMatchObject({ kind: 'custom', priority: 'critical', payload: { title: 'title crit-1' } });
    // Their ack ends the escalation, durably.
    recipient.send({ type: 'ack', id: 'crit-1~1' });
    await recipient.nextFrame('receipt', (r) => r.id === 'crit-1~1', ESCALATION_WAIT);
    await eventuallyAsync(
      async () => (await step())?.status === 'acknowledged',
      'the ack is recorded',
      ESCALATION_WAIT,
    );
    const saved = await escalations().load('crit-1');
    expect(saved).toMatchObject({ status: 'acknowledged', acknowledgedBy: senior, step: 1 });
  });

  it('two running hubs sharing the store: only the owner escalates; a dead owner’s escalation is taken over', async () => {
    const u = newUser();
    const senior = `${u}-senior`;
    const chain = (first: number) => ({
      chain: [
        { userId: u, deadlineMs: first },
        { userId: senior, deadlineMs: ESCALATION_LONG },
      ],
    });
    const leaseMs = 1_500;
    const storeB = new SpyStore(escalations({ leaseMs, resumeIntervalMs: 100 }));
    const storeA = escalations({ leaseMs });
    const fxA = await start(harness, { escalations: storeA });
    const fxB = await start(harness, { escalations: storeB });
    const onA: EscalatedEvent[] = harness.record(fxA, 'escalated');
    const onB: EscalatedEvent[] = harness.record(fxB, 'escalated');

    // Owned by A, which stays alive (and renews its lease): B, polling, never touches it.
    await fxA.hub.publish(`user:${u}`, { ...custom('own-1'), priority: 'critical', escalation: chain(300) });
    await eventually(() => onA.length === 1, 'A escalates its own record', ESCALATION_WAIT);
    const polls = storeB.of('loadPending').length;
    await eventually(() => storeB.of('loadPending').length >= polls + 5, 'B polls the store again', ESCALATION_WAIT);
    expect(onB).toHaveLength(0);
    const owner = await schema.pool.query(`SELECT lease_owner FROM "${schema.name}".escalations WHERE id = 'own-1'`);
    expect(owner.rows).toEqual([{ lease_owner: storeA.owner }]);

    // A record whose owner died (its lease is not renewed any more): B takes it over after the lease.
    await fxA.hub.publish(`user:${u}`, {
      ...custom('orphan-1'),
      priority: 'critical',
      escalation: chain(ESCALATION_LONG),
    });
    await schema.pool.query(
      `UPDATE "${schema.name}".escalations SET lease_owner = 'crashed', deadline = now() - interval '1 second'
       WHERE id = 'orphan-1'`,
    );
    const crashedAt = Date.now();
    await fxA.hub.close(); // stands for the crash: A's timers are gone, and it held no lease on the record
    await eventually(() => onB.some((e) => e.id === 'orphan-1'), 'B takes the orphan over', ESCALATION_WAIT);
    const takeover = Date.parse(onB.find((e) => e.id === 'orphan-1')?.at ?? '') - crashedAt;
    console.log(
      `[escalation] orphaned record taken over by hub B ${takeover} ms after its owner died (leaseMs ${leaseMs})`,
    );
    expect(onA.map((e) => e.id)).toEqual(['own-1']);
    expect(onB.filter((e) => e.id === 'orphan-1')).toHaveLength(1);
    expect(onB[0]).toMatchObject({ id: 'orphan-1', step: 1, userId: senior, notificationId: 'orphan-1~1' });
  });
});
