import {
  type AuditEvent,
  type EscalationRecord,
  type EscalationStore,
  isWardcastError,
  MemoryEscalationStore,
  type PublishInput,
} from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import { parseEscalatedId } from '../src/escalation/validate.js';
import type { TestClient } from './helpers/client.js';
import { chainOf, type Instance, instances, SpyStore, storedCritical, until } from './helpers/escalation.js';
import { eventually, TOKEN_PREFIX, useHarness, waitForEvent } from './helpers/harness.js';

const harness = useHarness();

const SECRET_TEXT = 'POTASSIUM_SECRET_VALUE';

/** A critical publish input with an escalation chain of `[userId, deadlineMs]` pairs. */
function critical(id: string, chain: readonly (readonly [string, number])[]): PublishInput {
  return {
    id,
    kind: 'custom',
    priority: 'critical',
    payload: { note: SECRET_TEXT },
    escalation: { chain: chain.map(([userId, deadlineMs]) => ({ userId, deadlineMs })) },
  };
}

/** Long enough that no step fires during a test, even on a loaded machine. */
const LONG = 60_000;
/** How long tests wait for something that should happen (conditions are polled, not slept on). */
const WAIT = 10_000;

function sessionIdOf(client: TestClient): string {
  const welcome = client.framesOf('welcome')[0];
  if (!welcome) throw new Error('no welcome frame');
  return welcome.sessionId;
}

function notificationIds(client: TestClient): string[] {
  return client.framesOf('notification').map((n) => n.id);
}

/** An {@link EscalationStore} whose `loadPending` waits until `open()` is called. */
class GatedStore implements EscalationStore {
  readonly inner: EscalationStore;
  readonly #gate: Promise<void>;
  open: () => void = () => {};

  constructor(inner: EscalationStore) {
    this.inner = inner;
    this.#gate = new Promise((resolve) => {
      this.open = resolve;
    });
  }
  save(record: EscalationRecord) {
    return this.inner.save(record);
  }
  load(id: string) {
    return this.inner.load(id);
  }
  async loadPending() {
    await this.#gate;
    return this.inner.loadPending();
  }
  delete(id: string) {
    return this.inner.delete(id);
  }
}

describe('critical-result escalation', () => {
  it('stops at an ack within the deadline: acknowledged, nothing sent to the next user', async () => {
    const store = new MemoryEscalationStore();
    const fx = await harness.start({ escalations: store });
    const alice = await harness.subscriber(fx, 'alice', ['user:alice']);
    const bob = await harness.subscriber(fx, 'bob', ['user:bob']);
    const escalated = harness.record(fx, 'escalated');
    const unacknowledged = harness.record(fx, 'unacknowledged');
    const acknowledged = waitForEvent(fx.hub, 'acknowledged', undefined, WAIT);

    await fx.hub.publish(
      'user:alice',
      critical('crit-1', [
        ['alice', LONG],
        ['bob', LONG],
      ]),
    );
    await alice.notification('crit-1', WAIT);
    alice.send({ type: 'ack', id: 'crit-1' });
    const event = await acknowledged;
    await bob.roundTrip();

    // Finished in the store: no timer of it is left to fire.
    await eventually(() => store.load('crit-1')?.status === 'acknowledged', 'the record is acknowledged', WAIT);

    expect(event).toMatchObject({
      id: 'crit-1',
      notificationId: 'crit-1',
      topic: 'user:alice',
      step: 0,
      userId: 'alice',
      sessionId: sessionIdOf(alice),
    });
    expect(typeof event.at).toBe('string');
    expect(escalated).toEqual([]);
    expect(unacknowledged).toEqual([]);
    expect(notificationIds(bob)).toEqual([]);
  });

  it('re-sends to the next user when nobody acks, and that user’s ack stops the chain', async () => {
    const fx = await harness.start();
    await harness.subscriber(fx, 'alice', ['user:alice']);
    const bob = await harness.subscriber(fx, 'bob', ['user:bob']);
    const carol = await harness.subscriber(fx, 'carol', ['user:carol']);
    const unacknowledged = harness.record(fx, 'unacknowledged');
    const escalatedEvent = waitForEvent(fx.hub, 'escalated', undefined, WAIT);
    const acknowledged = waitForEvent(fx.hub, 'acknowledged', undefined, WAIT);
    const started = Date.now();

    await fx.hub.publish(
      'user:alice',
      critical('crit-2', [
        ['alice', 100],
        ['bob', LONG],
        ['carol', LONG],
      ]),
    );
    const resent = await bob.notification('crit-2~1', WAIT);
    const escalated = await escalatedEvent;
    // Never before the deadline (a timer fires late under load, never early).
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    bob.send({ type: 'ack', id: 'crit-2~1' });
    const ack = await acknowledged;
    await carol.roundTrip();

    expect(resent).toMatchObject({
      topic: 'user:bob',
      kind: 'custom',
      priority: 'critical',
      payload: { note: SECRET_TEXT },
    });
    expect(escalated).toMatchObject({
      id: 'crit-2',
      topic: 'user:alice',
      step: 1,
      userId: 'bob',
      notificationId: 'crit-2~1',
    });
    expect(Date.parse(escalated.deadline)).toBeGreaterThan(Date.parse(escalated.at));
    expect(ack).toMatchObject({ id: 'crit-2', notificationId: 'crit-2~1', step: 1, userId: 'bob' });
    expect(notificationIds(carol)).toEqual([]);
    expect(unacknowledged).toEqual([]);
  });

  it("reports 'unacknowledged' when the chain runs out", async () => {
    const fx = await harness.start();
    const bob = await harness.subscriber(fx, 'bob', ['user:bob']);
    const escalated = harness.record(fx, 'escalated');
    const acknowledged = harness.record(fx, 'acknowledged');
    const exhausted = waitForEvent(fx.hub, 'unacknowledged', undefined, WAIT);
    const started = Date.now();

    await fx.hub.publish(
      'user:alice',
      critical('crit-3', [
        ['alice', 80],
        ['bob', 80],
      ]),
    );
    const event = await exhausted;

    expect(Date.now() - started).toBeGreaterThanOrEqual(155);
    expect(event).toMatchObject({ id: 'crit-3', topic: 'user:alice', step: 1, userId: 'bob' });
    expect(escalated.map((e) => e.step)).toEqual([1]);
    expect(acknowledged).toEqual([]);
    expect(notificationIds(bob)).toEqual(['crit-3~1']);
  });

  it('counts an ack from a second device of the escalated user', async () => {
    const fx = await harness.start();
    const phone = await harness.subscriber(fx, 'bob', ['user:bob']);
    const desktop = await harness.subscriber(fx, 'bob', ['user:bob']);
    const acknowledged = waitForEvent(fx.hub, 'acknowledged', undefined, WAIT);
    const unacknowledged = harness.record(fx, 'unacknowledged');

    await fx.hub.publish(
      'user:alice',
      critical('crit-4', [
        ['alice', 80],
        ['bob', LONG],
      ]),
    );
    await phone.notification('crit-4~1', WAIT);
    await desktop.notification('crit-4~1', WAIT);
    desktop.send({ type: 'ack', id: 'crit-4~1' });
    const event = await acknowledged;

    expect(event).toMatchObject({ id: 'crit-4', userId: 'bob', step: 1, sessionId: sessionIdOf(desktop) });
    expect(event.sessionId).not.toBe(sessionIdOf(phone));
    expect(unacknowledged).toEqual([]);
  });

  it('still counts a late ack of the original by the first recipient after escalating', async () => {
    const fx = await harness.start();
    const alice = await harness.subscriber(fx, 'alice', ['user:alice']);
    const bob = await harness.subscriber(fx, 'bob', ['user:bob']);
    const acknowledged = waitForEvent(fx.hub, 'acknowledged', undefined, WAIT);

    await fx.hub.publish(
      'user:alice',
      critical('crit-5', [
        ['alice', 80],
        ['bob', LONG],
      ]),
    );
    await bob.notification('crit-5~1', WAIT);
    alice.send({ type: 'ack', id: 'crit-5' });

    expect(await acknowledged).toMatchObject({ id: 'crit-5', notificationId: 'crit-5', userId: 'alice', step: 1 });
  });

  it('refuses an ack from a user the notification was not sent to, and escalates on', async () => {
    const fx = await harness.start();
    const eve = await harness.subscriber(fx, 'eve', ['user:eve']);
    const bob = await harness.subscriber(fx, 'bob', ['user:bob']);
    const acknowledged = harness.record(fx, 'acknowledged');
    const acks = harness.record(fx, 'ack');

    await fx.hub.publish(
      'user:alice',
      critical('crit-6', [
        ['alice', 150],
        ['bob', LONG],
      ]),
    );
    eve.send({ type: 'ack', id: 'crit-6', ref: 'e1' });
    const refused = await eve.nextFrame('error', (f) => f.ref === 'e1');
    // The chain went on past eve's ack.
    await bob.notification('crit-6~1', WAIT);

    expect(refused.code).toBe('unknown_notification');
    expect(eve.framesOf('receipt')).toEqual([]);
    expect(acks).toEqual([]);
    expect(acknowledged).toEqual([]);
  });

  it('counts an ack from a subscriber of a patient topic that authorize allows', async () => {
    const fx = await harness.start({ authorize: (p, topic) => topic === 'patient:p9' || topic === `user:${p.userId}` });
    const nurse = await harness.subscriber(fx, 'nurse', ['patient:p9']);
    const acknowledged = waitForEvent(fx.hub, 'acknowledged', undefined, WAIT);
    const escalated = harness.record(fx, 'escalated');

    await fx.hub.publish(
      'patient:p9',
      critical('crit-7', [
        ['dr-lee', LONG],
        ['dr-senior', LONG],
      ]),
    );
    await nurse.notification('crit-7', WAIT);
    nurse.send({ type: 'ack', id: 'crit-7' });

    expect(await acknowledged).toMatchObject({ id: 'crit-7', topic: 'patient:p9', userId: 'nurse', step: 0 });
    expect(escalated).toEqual([]);
  });

  it('audits every step, delivery and acknowledgement without payloads or tokens', async () => {
    const fx = await harness.start();
    const bob = await harness.subscriber(fx, 'bob', ['user:bob']);
    const audit = harness.record(fx, 'audit');
    const acknowledged = waitForEvent(fx.hub, 'acknowledged', undefined, WAIT);

    const result = await fx.hub.notify.labResult(
      'alice',
      {
        labOrderId: 'L-778',
        testName: SECRET_TEXT,
        status: 'final',
        abnormal: true,
        critical: true,
        resultAt: new Date().toISOString(),
        value: 'K+ 6.4 mmol/L (phi-value)',
      },
      {
        id: 'lab:L-778',
        escalation: {
          chain: [
            { userId: 'alice', deadlineMs: 80 },
            { userId: 'bob', deadlineMs: LONG },
          ],
        },
      },
    );
    await bob.notification('lab:L-778~1', WAIT);
    bob.send({ type: 'ack', id: 'lab:L-778~1' });
    await acknowledged;

    const escalation = audit.filter((e) => e.type.startsWith('escalation.'));
    expect(result).toMatchObject({ id: 'lab:L-778', topic: 'user:alice', kind: 'lab_result' });
    expect(escalation).toEqual([
      expect.objectContaining({
        type: 'escalation.started',
        notificationId: 'lab:L-778',
        topic: 'user:alice',
        userId: 'alice',
        step: 0,
        sessionId: undefined,
      }),
      expect.objectContaining({
        type: 'escalation.step',
        notificationId: 'lab:L-778',
        topic: 'user:bob',
        userId: 'bob',
        step: 1,
      }),
      expect.objectContaining({
        type: 'escalation.acknowledged',
        notificationId: 'lab:L-778',
        userId: 'bob',
        step: 1,
        sessionId: sessionIdOf(bob),
      }),
    ]);
    for (const e of escalation as AuditEvent[]) expect(typeof e.at).toBe('string');
    const text = JSON.stringify(audit);
    expect(text).not.toContain(SECRET_TEXT);
    // A distinctive value: a bare '6.4' can occur in an audit timestamp ('...56.433Z').
    expect(text).not.toContain('phi-value');
    expect(text).not.toContain(TOKEN_PREFIX);
  });

  it("audits 'escalation.exhausted'", async () => {
    const fx = await harness.start();
    const audit = harness.record(fx, 'audit');
    const exhausted = waitForEvent(fx.hub, 'unacknowledged', undefined, WAIT);

    await fx.hub.publish('user:alice', critical('crit-8', [['alice', 80]]));
    await exhausted;

    expect(audit.map((e) => e.type)).toEqual(['escalation.started', 'escalation.exhausted']);
    expect(audit[1]).toMatchObject({ notificationId: 'crit-8', userId: 'alice', step: 0, topic: 'user:alice' });
    expect(JSON.stringify(audit)).not.toContain(SECRET_TEXT);
  });

  it('starts nothing for a duplicate publish of the same id', async () => {
    const fx = await harness.start();
    const audit = harness.record(fx, 'audit');
    const input = critical('crit-9', [
      ['alice', 150],
      ['bob', 150],
    ]);

    await fx.hub.publish('user:alice', input);
    const again = await fx.hub.publish('user:alice', input);

    expect(again.duplicate).toBe(true);
    expect(audit.filter((e) => e.type === 'escalation.started')).toHaveLength(1);
  });
});

describe('escalation policy validation', () => {
  const cases: [string, PublishInput][] = [
    ['a priority other than critical', { ...critical('v1', [['alice', 100]]), priority: 'urgent' }],
    [
      'the default priority',
      { kind: 'custom', id: 'v2', escalation: { chain: [{ userId: 'alice', deadlineMs: 100 }] } },
    ],
    ['an empty chain', { ...critical('v3', []) }],
    ['a chain that is not an array', { ...critical('v4', []), escalation: { chain: 'alice' as never } }],
    [
      'a user twice',
      critical('v5', [
        ['alice', 100],
        ['alice', 100],
      ]),
    ],
    ['a zero deadline', critical('v6', [['alice', 0]])],
    ['a negative deadline', critical('v7', [['alice', -5]])],
    ['a NaN deadline', critical('v8', [['alice', Number.NaN]])],
    ['an empty user id', critical('v9', [['', 100]])],
    ['a user id that cannot be a topic', critical('v10', [['al ice', 100]])],
    [
      'an id too long for the re-sent ids',
      critical('x'.repeat(127), [
        ['alice', 100],
        ['bob', 100],
      ]),
    ],
    ['a null policy', { ...critical('v11', [['alice', 100]]), escalation: null as never }],
  ];

  it.each(cases)('rejects %s with invalid_notification before storing anything', async (_name, input) => {
    const store = new MemoryEscalationStore();
    const fx = await harness.start({ escalations: store });
    const alice = await harness.subscriber(fx, 'alice', ['user:alice']);
    const published = harness.record(fx, 'publish');
    const audit = harness.record(fx, 'audit');

    const error = await fx.hub.publish('user:alice', input).catch((e: unknown) => e);
    await alice.roundTrip();

    expect(isWardcastError(error) && error.code).toBe('invalid_notification');
    expect(published).toEqual([]);
    expect(audit.filter((e) => e.type.startsWith('escalation.'))).toEqual([]);
    expect(store.loadPending()).toEqual([]);
    expect(notificationIds(alice)).toEqual([]);
  });

  it('rejects an escalation on a non-critical lab result from the helper', async () => {
    const fx = await harness.start();
    const error = await fx.hub.notify
      .labResult(
        'alice',
        {
          labOrderId: 'L-1',
          testName: 'Sodium',
          status: 'final',
          abnormal: false,
          critical: false,
          resultAt: new Date().toISOString(),
        },
        { escalation: { chain: [{ userId: 'alice', deadlineMs: 100 }] } },
      )
      .catch((e: unknown) => e);

    expect(isWardcastError(error) && error.code).toBe('invalid_notification');
  });
});

describe('escalation state in the store', () => {
  it('keeps pending records when the hub closes, and a new hub resumes them (deadline passed while down)', async () => {
    const shared = new MemoryEscalationStore();
    const first = await harness.start({ escalations: shared });
    const escalatedOnFirst = harness.record(first, 'escalated');
    await first.hub.publish(
      'user:alice',
      critical('crit-r1', [
        ['alice', LONG],
        ['bob', LONG],
        ['carol', LONG],
      ]),
    );
    await first.hub.close();
    const pending = shared.loadPending();
    expect(pending).toEqual([
      expect.objectContaining({ id: 'crit-r1', step: 0, status: 'pending', topic: 'user:alice' }),
    ]);
    // Alice's deadline passed an hour ago, while no hub ran.
    shared.save({ ...(pending[0] as EscalationRecord), deadline: Date.now() - 3_600_000 });

    const gated = new GatedStore(shared);
    const second = await harness.start({ escalations: gated });
    const bob = await harness.subscriber(second, 'bob', ['user:bob']);
    const escalated = waitForEvent(second.hub, 'escalated', undefined, WAIT);
    const acknowledged = waitForEvent(second.hub, 'acknowledged', undefined, WAIT);
    const released = Date.now();
    gated.open();

    // At once: long before a fresh deadline (60 s) would have passed.
    await bob.notification('crit-r1~1', WAIT);
    const event = await escalated;
    expect(Date.parse(event.at)).toBeGreaterThanOrEqual(released - 5);
    bob.send({ type: 'ack', id: 'crit-r1~1' });
    const ack = await acknowledged;

    expect(escalatedOnFirst).toEqual([]);
    expect(event).toMatchObject({ id: 'crit-r1', step: 1, userId: 'bob' });
    expect(ack).toMatchObject({ id: 'crit-r1', step: 1, userId: 'bob' });
    await eventually(() => shared.load('crit-r1')?.status === 'acknowledged', 'the record is acknowledged', WAIT);
    expect(shared.load('crit-r1')).toMatchObject({ step: 1, acknowledgedBy: 'bob' });
    expect(shared.loadPending()).toEqual([]);
  });

  it('resumes at once on construction from a shared MemoryEscalationStore, by the absolute deadline', async () => {
    const shared = new MemoryEscalationStore();
    const first = await harness.start({ escalations: shared });
    await first.hub.publish(
      'user:alice',
      critical('crit-r2', [
        ['alice', LONG],
        ['bob', LONG],
      ]),
    );
    await first.hub.close();
    // The stored deadline is what counts: 700 ms from now, not alice's 60 s from the restart.
    const due = Date.now() + 700;
    shared.save({ ...(shared.load('crit-r2') as EscalationRecord), deadline: due });

    const second = await harness.start({ escalations: shared });
    const event = await waitForEvent(second.hub, 'escalated', undefined, WAIT);

    // Not before the stored deadline (timers fire late under load, never early).
    expect(Date.parse(event.at)).toBeGreaterThanOrEqual(due - 20);
    expect(event).toMatchObject({ id: 'crit-r2', step: 1, userId: 'bob' });
    expect(shared.load('crit-r2')).toMatchObject({ status: 'pending', step: 1 });
    await second.hub.close();
    expect(shared.loadPending()).toEqual([expect.objectContaining({ id: 'crit-r2', step: 1 })]);
  });

  it('writes each step and the outcome to the store', async () => {
    const memory = new MemoryEscalationStore();
    const store = new SpyStore(memory);
    const saved: EscalationRecord[] = [];
    store.hooks.save = (record) => {
      saved.push(structuredClone(record));
    };
    const fx = await harness.start({ escalations: store });
    const exhausted = waitForEvent(fx.hub, 'unacknowledged', undefined, WAIT);

    await fx.hub.publish(
      'user:alice',
      critical('crit-s1', [
        ['alice', 80],
        ['bob', 80],
      ]),
    );
    await exhausted;
    await eventually(() => memory.load('crit-s1')?.status === 'unacknowledged', 'the outcome was saved', WAIT);

    // Saved (pending, step 0) by the publish itself; the step and the outcome are compare-and-set.
    expect(saved).toHaveLength(1);
    expect(saved[0]).toMatchObject({
      id: 'crit-s1',
      topic: 'user:alice',
      kind: 'custom',
      priority: 'critical',
      payload: { note: SECRET_TEXT },
      chain: [
        { userId: 'alice', deadlineMs: 80 },
        { userId: 'bob', deadlineMs: 80 },
      ],
      step: 0,
      status: 'pending',
    });
    expect(saved[0]?.deadline).toBeGreaterThan(Date.now() - WAIT);
    expect(store.of('advance').map((c) => c.result)).toEqual([true, true]);
    expect(memory.load('crit-s1')).toMatchObject({ step: 1, status: 'unacknowledged' });
  });

  it('stops its timers at close: nothing escalates after the hub closed', async () => {
    const store = new MemoryEscalationStore();
    const fx = await harness.start({ escalations: store });
    const published: string[] = [];
    fx.hub.on('publish', (e) => published.push(e.id));

    const publishedAt = Date.now();
    await fx.hub.publish(
      'user:alice',
      critical('crit-c1', [
        ['alice', 1_000],
        ['bob', LONG],
      ]),
    );
    await fx.hub.close();
    // Past the deadline the closed hub's timer would have fired at.
    await until(() => Date.now() > publishedAt + 1_500, 'the deadline passed');

    expect(published).toEqual(['crit-c1']);
    expect(store.load('crit-c1')).toMatchObject({ step: 0, status: 'pending' });
  });
});

describe('escalation as a publish stage', () => {
  it('refuses a publish whose escalation record cannot be saved: store_unavailable, delivered to no one, nothing tracked', async () => {
    const store = new SpyStore(new MemoryEscalationStore());
    store.hooks.save = (record) => {
      if (record.id === 'crit-f1') throw new Error('database is down');
    };
    const fx = await harness.start({ escalations: store });
    const alice = await harness.subscriber(fx, 'alice', ['user:alice']);
    const audit = harness.record(fx, 'audit');
    const escalated = harness.record(fx, 'escalated');

    const error = await fx.hub
      .publish(
        'user:alice',
        critical('crit-f1', [
          ['alice', 100],
          ['bob', LONG],
        ]),
      )
      .catch((e: unknown) => e);
    expect(isWardcastError(error) && error.code).toBe('store_unavailable');
    await alice.roundTrip();
    expect(notificationIds(alice)).toEqual([]);

    // A later escalation with a longer first deadline fires; crit-f1's (shorter) would have fired first.
    await fx.hub.publish(
      'user:alice',
      critical('crit-f2', [
        ['alice', 150],
        ['bob', LONG],
      ]),
    );
    await eventually(() => escalated.length > 0, 'crit-f2 escalates', WAIT);
    expect(escalated.map((e) => e.id)).toEqual(['crit-f2']);
    expect(audit.filter((e) => e.type === 'escalation.started').map((e) => e.notificationId)).toEqual(['crit-f2']);
    expect(notificationIds(alice)).toEqual(['crit-f2']);
  });

  it('cancels the escalation of a publish abandoned after it started (a later stage failed): record deleted, nothing escalates', async () => {
    const store = new MemoryEscalationStore();
    const fx = await harness.start({
      escalations: store,
      publishStages: [
        {
          name: 'outbox',
          run(n) {
            if (n.id === 'crit-x1') throw new Error('outbox refused');
          },
        },
      ],
    });
    const alice = await harness.subscriber(fx, 'alice', ['user:alice']);
    const escalated = harness.record(fx, 'escalated');

    const error = await fx.hub
      .publish(
        'user:alice',
        critical('crit-x1', [
          ['alice', 100],
          ['bob', LONG],
        ]),
      )
      .catch((e: unknown) => e);
    expect(isWardcastError(error)).toBe(true);
    await eventually(() => store.load('crit-x1') === undefined, 'the record is deleted', WAIT);
    await alice.roundTrip();
    expect(notificationIds(alice)).toEqual([]);

    await fx.hub.publish(
      'user:alice',
      critical('crit-x2', [
        ['alice', 150],
        ['bob', LONG],
      ]),
    );
    await eventually(() => escalated.length > 0, 'crit-x2 escalates', WAIT);
    expect(escalated.map((e) => e.id)).toEqual(['crit-x2']);
  });

  it('cancel never rejects: a failing delete is reported as an error event', async () => {
    const store = new SpyStore(new MemoryEscalationStore());
    store.hooks.delete = () => {
      throw new Error('database is down');
    };
    const fx = await harness.start({
      escalations: store,
      publishStages: [
        {
          name: 'outbox',
          run() {
            throw new Error('outbox refused');
          },
        },
      ],
    });
    const errors = harness.record(fx, 'error');

    const error = await fx.hub.publish('user:alice', critical('crit-x3', [['alice', LONG]])).catch((e: unknown) => e);

    expect(isWardcastError(error)).toBe(true);
    await eventually(
      () => errors.some((e) => e.code === 'store_unavailable' && /delete/.test(e.message)),
      'the failed delete is reported',
      WAIT,
    );
  });
});

describe('escalations across instances (manager level, in one process)', () => {
  it('relays an ack received by an instance that does not track it; the tracking one ends it (per-instance stores)', async () => {
    const stores = [new MemoryEscalationStore(), new MemoryEscalationStore()];
    const [a, b] = instances(stores);
    if (!a || !b) throw new Error('two instances');
    await a.manager.start(storedCritical('x1'), chainOf(['alice', LONG], ['bob', LONG]));

    await b.manager.onAck({ sessionId: 'session-on-b', userId: 'alice', id: 'x1' });
    await until(() => a.host.of('acknowledged').length === 1, 'the tracking instance ends it');

    expect(b.host.broadcasts).toEqual([{ userId: 'alice', id: 'x1' }]);
    expect(a.host.of('acknowledged')[0]).toMatchObject({
      id: 'x1',
      notificationId: 'x1',
      userId: 'alice',
      step: 0,
      sessionId: 'remote',
    });
    expect(b.host.of('acknowledged')).toEqual([]);
    expect(stores[0]?.load('x1')).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'alice' });
    expect(a.host.of('audit').map((e) => e.type)).toEqual(['escalation.started', 'escalation.acknowledged']);
    await Promise.all([a.manager.stop(), b.manager.stop()]);
  });

  it('counts a relayed ack of a re-sent <id>~<step>, and ignores one from a user who may not acknowledge', async () => {
    const [a, b] = instances([new MemoryEscalationStore(), new MemoryEscalationStore()]);
    if (!a || !b) throw new Error('two instances');
    const checked: string[] = [];
    a.host.allow = (_sessionId, userId) => {
      checked.push(userId);
      return false;
    };
    await a.manager.start(storedCritical('x2'), chainOf(['alice', 50], ['bob', LONG]));
    await until(() => a.host.of('escalated').length === 1, 'step 1 is sent');

    // Eve is not in the chain, and authorize (asked with a bare { userId }) says no.
    await b.manager.onAck({ sessionId: 's-eve', userId: 'eve', id: 'x2~1' });
    await until(() => checked.includes('eve'), 'the tracking instance checked eve');
    expect(a.host.of('acknowledged')).toEqual([]);

    await b.manager.onAck({ sessionId: 's-bob', userId: 'bob', id: 'x2~1' });
    await until(() => a.host.of('acknowledged').length === 1, 'bob’s relayed ack ends it');
    expect(a.host.of('acknowledged')[0]).toMatchObject({ id: 'x2', notificationId: 'x2~1', userId: 'bob', step: 1 });
    await Promise.all([a.manager.stop(), b.manager.stop()]);
  });

  it('with a shared store, the receiving instance ends it by compare-and-set; the tracking one stops silently', async () => {
    const shared = new MemoryEscalationStore();
    const storeA = new SpyStore(shared);
    const [a, b] = instances([storeA, shared]);
    if (!a || !b) throw new Error('two instances');
    await a.manager.start(storedCritical('x3'), chainOf(['alice', LONG], ['bob', LONG]));

    const ackedAt = Date.now();
    await b.manager.onAck({ sessionId: 'session-on-b', userId: 'alice', id: 'x3' });
    // The relayed ack makes A look at the store and stop.
    await until(
      () => storeA.of('load', 'x3').some((c) => c.result === 'acknowledged'),
      'the tracking instance saw it ended',
    );
    const stoppedAfter = (storeA.of('load', 'x3')[0]?.at ?? 0) - ackedAt;

    expect(b.host.of('acknowledged')).toEqual([
      expect.objectContaining({ id: 'x3', userId: 'alice', sessionId: 'session-on-b' }),
    ]);
    expect(a.host.of('acknowledged')).toEqual([]);
    expect(shared.load('x3')).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'alice' });
    expect(storeA.of('acknowledge')).toEqual([]);
    console.log(`[escalation] shared memory store: tracking instance stopped ${stoppedAfter} ms after the ack`);
    await Promise.all([a.manager.stop(), b.manager.stop()]);
  });

  it('never follows an ack recorded by another instance with a step', async () => {
    const shared = new MemoryEscalationStore();
    const storeA = new SpyStore(shared);
    const [a] = instances([storeA]);
    if (!a) throw new Error('one instance');
    await a.manager.start(storedCritical('x4'), chainOf(['alice', 150], ['bob', LONG]));
    // Acknowledged by an instance whose relay was lost.
    expect(shared.acknowledge('x4', 'alice')).toBe(true);

    await until(
      () => storeA.of('load', 'x4').some((c) => c.result === 'acknowledged'),
      'the deadline passed and the record was re-checked',
    );
    expect(a.host.published).toEqual([]);
    expect(a.host.of('escalated')).toEqual([]);
    expect(a.host.of('acknowledged')).toEqual([]);
    await a.manager.stop();
  });

  it('two instances racing the same step: exactly one advances it; each step is sent and reported once', async () => {
    const shared = new MemoryEscalationStore();
    // Both get past their re-check and send step 1 before either records it: a real race.
    let all: Instance[] = [];
    const bothSent = () => all.every((i) => i.host.published.some((p) => p.id === 'x5~1'));
    const racing = () =>
      new SpyStore(shared, {
        advance: async (next) => {
          if (next.step === 1) await until(bothSent, 'both instances sent step 1', WAIT);
          return undefined;
        },
      });
    const spies = [racing(), racing()];
    all = instances(spies);
    const record: EscalationRecord = {
      id: 'x5',
      topic: 'user:alice',
      kind: 'custom',
      priority: 'critical',
      payload: { note: 'n' },
      createdAt: new Date().toISOString(),
      chain: chainOf(['alice', 100], ['bob', 300], ['carol', LONG]).chain,
      step: 0,
      deadline: Date.now() + 100,
      status: 'pending',
    };
    shared.save(record);
    // The memory store hands every pending record to every caller: both track it.
    expect(await Promise.all(all.map((i) => i.manager.resume()))).toEqual([1, 1]);

    const escalated = () => all.flatMap((i) => i.host.of('escalated'));
    await until(() => escalated().length === 2, 'steps 1 and 2 are reported', WAIT);
    const fresh = all.flatMap((i) => i.host.published).filter((p) => !p.duplicate);

    expect(escalated().map((e) => e.step)).toEqual([1, 2]);
    const advances = spies.flatMap((spy) => spy.of('advance').map((c) => c.result));
    console.log(
      `[escalation] racing managers (memory store): advances ${JSON.stringify(advances)}, ${all.flatMap((i) => i.host.published).filter((p) => p.duplicate).length} re-send deduped`,
    );
    expect(advances.sort()).toEqual([false, true, true]);
    expect(fresh.map((p) => `${p.topic} ${p.id}`).sort()).toEqual(['user:bob x5~1', 'user:carol x5~2']);
    expect(shared.load('x5')).toMatchObject({ status: 'pending', step: 2 });
    // Step 2 came from whoever won step 1; the other stopped at step 1.
    const winners = all.filter((i) => i.host.of('escalated').length > 0);
    expect(winners).toHaveLength(1);
    await Promise.all(all.map((i) => i.manager.stop()));
  });

  it('takes over a step that was sent but not advanced (the owner died): re-sent deduped, each step once, none skipped', async () => {
    const shared = new MemoryEscalationStore();
    const owner = new SpyStore(shared);
    let crashed = false;
    owner.hooks.advance = () => {
      // The owner dies between sending step 1 and recording it: it never writes again.
      crashed = true;
      return false;
    };
    const [a, b] = instances([owner, shared]);
    if (!a || !b) throw new Error('two instances');
    await a.manager.start(storedCritical('x6'), chainOf(['alice', 50], ['bob', 200], ['carol', LONG]));
    await until(() => crashed, 'the owner sent step 1 and died');
    expect(a.host.published.map((p) => p.id)).toEqual(['x6~1']);
    expect(shared.load('x6')).toMatchObject({ status: 'pending', step: 0 });

    // Another instance takes it over (as a lease expiry lets it).
    expect(await b.manager.resume()).toBe(1);
    await until(() => b.host.of('escalated').length === 2, 'the new owner reports steps 1 and 2', WAIT);

    expect(b.host.published.map((p) => [p.id, p.duplicate])).toEqual([
      ['x6~1', true],
      ['x6~2', false],
    ]);
    expect(b.host.of('escalated').map((e) => e.step)).toEqual([1, 2]);
    expect(a.host.of('escalated')).toEqual([]);
    expect(shared.load('x6')).toMatchObject({ status: 'pending', step: 2 });
    await Promise.all([a.manager.stop(), b.manager.stop()]);
  });
});

describe('escalation ids and the memory store', () => {
  it('parses re-sent ids', () => {
    expect(parseEscalatedId('lab:L-778:final~2')).toEqual({ id: 'lab:L-778:final', step: 2 });
    expect(parseEscalatedId('a~b~12')).toEqual({ id: 'a~b', step: 12 });
    for (const id of ['plain', 'x~0', 'x~01', '~1', 'x~', 'x~-1', 'x~1.5', 'x~1234567']) {
      expect(parseEscalatedId(id)).toBeUndefined();
    }
  });

  it('acknowledge and advance are compare-and-set', () => {
    const store = new MemoryEscalationStore();
    const record: EscalationRecord = {
      id: 'cas',
      topic: 'user:alice',
      kind: 'custom',
      priority: 'critical',
      payload: null,
      createdAt: new Date().toISOString(),
      chain: chainOf(['alice', 100], ['bob', 100]).chain,
      step: 0,
      deadline: Date.now() + 100,
      status: 'pending',
    };
    store.save(record);
    const next = { ...record, step: 1 };
    expect(store.advance(next, 1)).toBe(false);
    expect(store.advance(next, 0)).toBe(true);
    expect(store.advance({ ...next, step: 2 }, 0)).toBe(false);
    expect(store.acknowledge('cas', 'bob')).toBe(true);
    expect(store.acknowledge('cas', 'alice')).toBe(false);
    expect(store.advance({ ...next, step: 2 }, 1)).toBe(false);
    expect(store.acknowledge('missing', 'bob')).toBe(false);
    expect(store.load('cas')).toMatchObject({ step: 1, status: 'acknowledged', acknowledgedBy: 'bob' });
  });
});
