import {
  type AuditEvent,
  type EscalationRecord,
  type EscalationStore,
  isWardcastError,
  MemoryEscalationStore,
  type PublishInput,
} from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import type { TestClient } from './helpers/client.js';
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

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
    const fx = await harness.start();
    const alice = await harness.subscriber(fx, 'alice', ['user:alice']);
    const bob = await harness.subscriber(fx, 'bob', ['user:bob']);
    const escalated = harness.record(fx, 'escalated');
    const unacknowledged = harness.record(fx, 'unacknowledged');
    const acknowledged = waitForEvent(fx.hub, 'acknowledged');

    await fx.hub.publish(
      'user:alice',
      critical('crit-1', [
        ['alice', 150],
        ['bob', 150],
      ]),
    );
    await alice.notification('crit-1');
    alice.send({ type: 'ack', id: 'crit-1' });
    const event = await acknowledged;
    await sleep(400);
    await bob.roundTrip();

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
    const escalatedEvent = waitForEvent(fx.hub, 'escalated');
    const acknowledged = waitForEvent(fx.hub, 'acknowledged');
    const started = Date.now();

    await fx.hub.publish(
      'user:alice',
      critical('crit-2', [
        ['alice', 100],
        ['bob', 150],
        ['carol', 150],
      ]),
    );
    const resent = await bob.notification('crit-2~1');
    const escalated = await escalatedEvent;
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    bob.send({ type: 'ack', id: 'crit-2~1' });
    const ack = await acknowledged;
    await sleep(300);
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
    const exhausted = waitForEvent(fx.hub, 'unacknowledged');
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
    const acknowledged = waitForEvent(fx.hub, 'acknowledged');
    const unacknowledged = harness.record(fx, 'unacknowledged');

    await fx.hub.publish(
      'user:alice',
      critical('crit-4', [
        ['alice', 80],
        ['bob', 200],
      ]),
    );
    await phone.notification('crit-4~1');
    await desktop.notification('crit-4~1');
    desktop.send({ type: 'ack', id: 'crit-4~1' });
    const event = await acknowledged;
    await sleep(300);

    expect(event).toMatchObject({ id: 'crit-4', userId: 'bob', step: 1, sessionId: sessionIdOf(desktop) });
    expect(event.sessionId).not.toBe(sessionIdOf(phone));
    expect(unacknowledged).toEqual([]);
  });

  it('still counts a late ack of the original by the first recipient after escalating', async () => {
    const fx = await harness.start();
    const alice = await harness.subscriber(fx, 'alice', ['user:alice']);
    const bob = await harness.subscriber(fx, 'bob', ['user:bob']);
    const acknowledged = waitForEvent(fx.hub, 'acknowledged');

    await fx.hub.publish(
      'user:alice',
      critical('crit-5', [
        ['alice', 80],
        ['bob', 200],
      ]),
    );
    await bob.notification('crit-5~1');
    alice.send({ type: 'ack', id: 'crit-5' });

    expect(await acknowledged).toMatchObject({ id: 'crit-5', notificationId: 'crit-5', userId: 'alice', step: 1 });
  });

  it('ignores an ack from a user the notification was not sent to', async () => {
    const fx = await harness.start();
    const eve = await harness.subscriber(fx, 'eve', ['user:eve']);
    const bob = await harness.subscriber(fx, 'bob', ['user:bob']);
    const acknowledged = harness.record(fx, 'acknowledged');
    const ack = waitForEvent(fx.hub, 'ack');

    await fx.hub.publish(
      'user:alice',
      critical('crit-6', [
        ['alice', 150],
        ['bob', 150],
      ]),
    );
    eve.send({ type: 'ack', id: 'crit-6' });
    await ack;
    await bob.notification('crit-6~1');

    expect(acknowledged).toEqual([]);
  });

  it('counts an ack from a subscriber of a patient topic that authorize allows', async () => {
    const fx = await harness.start({ authorize: (p, topic) => topic === 'patient:p9' || topic === `user:${p.userId}` });
    const nurse = await harness.subscriber(fx, 'nurse', ['patient:p9']);
    const acknowledged = waitForEvent(fx.hub, 'acknowledged');
    const escalated = harness.record(fx, 'escalated');

    await fx.hub.publish(
      'patient:p9',
      critical('crit-7', [
        ['dr-lee', 150],
        ['dr-senior', 150],
      ]),
    );
    await nurse.notification('crit-7');
    nurse.send({ type: 'ack', id: 'crit-7' });

    expect(await acknowledged).toMatchObject({ id: 'crit-7', topic: 'patient:p9', userId: 'nurse', step: 0 });
    expect(escalated).toEqual([]);
  });

  it('audits every step, delivery and acknowledgement without payloads or tokens', async () => {
    const fx = await harness.start();
    const bob = await harness.subscriber(fx, 'bob', ['user:bob']);
    const audit = harness.record(fx, 'audit');
    const acknowledged = waitForEvent(fx.hub, 'acknowledged');

    const result = await fx.hub.notify.labResult(
      'alice',
      {
        labOrderId: 'L-778',
        testName: SECRET_TEXT,
        status: 'final',
        abnormal: true,
        critical: true,
        resultAt: new Date().toISOString(),
        value: '6.4',
      },
      {
        id: 'lab:L-778',
        escalation: {
          chain: [
            { userId: 'alice', deadlineMs: 80 },
            { userId: 'bob', deadlineMs: 200 },
          ],
        },
      },
    );
    await bob.notification('lab:L-778~1');
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
    expect(text).not.toContain('6.4');
    expect(text).not.toContain(TOKEN_PREFIX);
  });

  it("audits 'escalation.exhausted'", async () => {
    const fx = await harness.start();
    const audit = harness.record(fx, 'audit');
    const exhausted = waitForEvent(fx.hub, 'unacknowledged');

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
        ['alice', 100],
        ['bob', 200],
        ['carol', 5_000],
      ]),
    );
    await first.hub.close();
    expect(shared.loadPending()).toEqual([
      expect.objectContaining({ id: 'crit-r1', step: 0, status: 'pending', topic: 'user:alice' }),
    ]);
    await sleep(200); // alice's deadline passes while no hub runs

    const gated = new GatedStore(shared);
    const second = await harness.start({ escalations: gated });
    const bob = await harness.subscriber(second, 'bob', ['user:bob']);
    const escalated = waitForEvent(second.hub, 'escalated');
    const acknowledged = waitForEvent(second.hub, 'acknowledged');
    const released = Date.now();
    gated.open();

    await bob.notification('crit-r1~1');
    const event = await escalated;
    expect(Date.now() - released).toBeLessThan(150);
    bob.send({ type: 'ack', id: 'crit-r1~1' });
    const ack = await acknowledged;

    expect(escalatedOnFirst).toEqual([]);
    expect(event).toMatchObject({ id: 'crit-r1', step: 1, userId: 'bob' });
    expect(ack).toMatchObject({ id: 'crit-r1', step: 1, userId: 'bob' });
    await eventually(() => shared.load('crit-r1')?.status === 'acknowledged', 'the record is acknowledged');
    expect(shared.load('crit-r1')).toMatchObject({ step: 1, acknowledgedBy: 'bob' });
    expect(shared.loadPending()).toEqual([]);
  });

  it('resumes at once on construction from a shared MemoryEscalationStore, by the absolute deadline', async () => {
    const shared = new MemoryEscalationStore();
    const first = await harness.start({ escalations: shared });
    const started = Date.now();
    await first.hub.publish(
      'user:alice',
      critical('crit-r2', [
        ['alice', 600],
        ['bob', 5_000],
      ]),
    );
    await first.hub.close();
    await sleep(250);

    const second = await harness.start({ escalations: shared });
    await eventually(() => shared.load('crit-r2')?.step === 1, 'the resumed hub escalated', 2_000);
    const elapsed = Date.now() - started;

    // Scheduled by the stored deadline (~600 ms after publishing), not 600 ms after the restart.
    expect(elapsed).toBeGreaterThanOrEqual(590);
    expect(elapsed).toBeLessThan(820);
    expect(shared.load('crit-r2')).toMatchObject({ status: 'pending', step: 1 });
    await second.hub.close();
    expect(shared.loadPending()).toEqual([expect.objectContaining({ id: 'crit-r2', step: 1 })]);
  });

  it('writes each step and the outcome to the store', async () => {
    const store = new MemoryEscalationStore();
    const fx = await harness.start({ escalations: store });
    const exhausted = waitForEvent(fx.hub, 'unacknowledged');

    await fx.hub.publish(
      'user:alice',
      critical('crit-s1', [
        ['alice', 80],
        ['bob', 80],
      ]),
    );
    const pending = store.load('crit-s1');
    await exhausted;
    await eventually(() => store.load('crit-s1')?.status === 'unacknowledged', 'the outcome was saved');

    expect(pending).toMatchObject({
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
    expect(pending?.deadline).toBeGreaterThan(Date.now() - 1_000);
    expect(store.load('crit-s1')).toMatchObject({ step: 1, status: 'unacknowledged' });
  });

  it('stops its timers at close: nothing escalates after the hub closed', async () => {
    const store = new MemoryEscalationStore();
    const fx = await harness.start({ escalations: store });
    const published: string[] = [];
    fx.hub.on('publish', (e) => published.push(e.id));

    await fx.hub.publish(
      'user:alice',
      critical('crit-c1', [
        ['alice', 80],
        ['bob', 80],
      ]),
    );
    await fx.hub.close();
    await sleep(250);

    expect(published).toEqual(['crit-c1']);
    expect(store.load('crit-c1')).toMatchObject({ step: 0, status: 'pending' });
  });
});
