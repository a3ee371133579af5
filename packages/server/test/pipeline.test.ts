import {
  type EscalationRecord,
  MemoryEscalationStore,
  MemoryInbox,
  type PublishStage,
  type StoredNotification,
} from '@wardcast/server';
import { describe, expect, it } from 'vitest';
import type { TestClient } from './helpers/client.js';
import { eventually, useHarness } from './helpers/harness.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends `frame(id)` the moment a notification arrives, before anything else happens on the client. */
function onArrival(client: TestClient, frame: (id: string) => object): void {
  client.ws.on('message', (data) => {
    const f = JSON.parse(String(data)) as { type: string; id?: string };
    if (f.type === 'notification' && f.id !== undefined) client.send(frame(f.id));
  });
}

/** A memory inbox whose writes take a while, like a remote database. */
class SlowInbox extends MemoryInbox {
  override async record(userId: string, n: StoredNotification): Promise<void> {
    await sleep(20);
    super.record(userId, n);
  }
}

/** A memory escalation store whose writes take a while. */
class SlowEscalations extends MemoryEscalationStore {
  override async save(record: EscalationRecord): Promise<void> {
    await sleep(20);
    super.save(record);
  }
}

describe('the publish pipeline', () => {
  const harness = useHarness();

  it('never loses a read sent the instant a notification arrives: the inbox row committed first', async () => {
    const inbox = new SlowInbox();
    const fx = await harness.start({ inbox });
    const device = await harness.subscriber(fx, 'u1', ['user:u1']);
    const other = await harness.subscriber(fx, 'u1', ['user:u1']);
    onArrival(device, (id) => ({ type: 'read', id }));
    for (let i = 0; i < 30; i++) await fx.hub.publish('user:u1', { kind: 'custom', id: `n${i}` });
    await eventually(() => other.framesOf('receipt').length === 30, 'the other device got 30 read receipts', 10_000);
    const page = inbox.list('u1', { limit: 100 });
    expect(page.unreadCount).toBe(0);
    expect(page.items.every((e) => e.readAt !== undefined)).toBe(true);
  });

  it('stops an escalation acknowledged the instant it arrives: it was registered before delivery', async () => {
    const fx = await harness.start({ escalations: new SlowEscalations() });
    const escalated = harness.record(fx, 'escalated');
    const acknowledged = harness.record(fx, 'acknowledged');
    const doctor = await harness.subscriber(fx, 'dr-lee', ['user:dr-lee']);
    onArrival(doctor, (id) => ({ type: 'ack', id }));
    for (let i = 0; i < 10; i++) {
      await fx.hub.publish('user:dr-lee', {
        kind: 'custom',
        id: `crit-${i}`,
        priority: 'critical',
        escalation: {
          chain: [
            { userId: 'dr-lee', deadlineMs: 1_000 },
            { userId: 'dr-senior', deadlineMs: 60_000 },
          ],
        },
      });
    }
    await eventually(() => acknowledged.length === 10, '10 acknowledged events', 10_000);
    // Past every deadline: nothing may escalate.
    await sleep(1_200);
    expect(escalated).toEqual([]);
  });

  it('delivers a publish whose inbox write fails to no one, and gives its seq to the next publish', async () => {
    const inbox = new MemoryInbox();
    const failing = Object.assign(Object.create(inbox) as MemoryInbox, {
      record(userId: string, n: StoredNotification) {
        if (n.id === 'refused') throw new Error('database refused the row');
        return inbox.record(userId, n);
      },
    });
    const fx = await harness.start({ inbox: failing });
    const device = await harness.subscriber(fx, 'u2', ['user:u2']);
    await fx.hub.publish('user:u2', { kind: 'custom', id: 'a' });
    await expect(fx.hub.publish('user:u2', { kind: 'custom', id: 'refused' })).rejects.toMatchObject({
      code: 'store_unavailable',
    });
    const next = await fx.hub.publish('user:u2', { kind: 'custom', id: 'b' });
    expect(next.seq).toBe(2);
    await device.notification('b');
    expect(device.framesOf('notification').map((n) => n.id)).toEqual(['a', 'b']);
    expect(inbox.list('u2', { limit: 10 }).items.map((e) => e.notification.id)).toEqual(['b', 'a']);
  });

  it('reverts the stages that ran when a later one fails: no inbox row, no escalation', async () => {
    const inbox = new MemoryInbox();
    const escalations = new MemoryEscalationStore();
    const refuse: PublishStage = {
      name: 'refuse',
      run: () => {
        throw new Error('no');
      },
    };
    const fx = await harness.start({ inbox, escalations, publishStages: [refuse] });
    const device = await harness.subscriber(fx, 'u3', ['user:u3']);
    await expect(
      fx.hub.publish('user:u3', {
        kind: 'custom',
        id: 'crit',
        priority: 'critical',
        escalation: { chain: [{ userId: 'u3', deadlineMs: 60_000 }] },
      }),
    ).rejects.toMatchObject({ code: 'store_unavailable' });
    expect(inbox.list('u3', { limit: 10 }).items).toEqual([]);
    expect(escalations.loadPending()).toEqual([]);
    await device.roundTrip();
    expect(device.framesOf('notification')).toEqual([]);
  });

  it('delivers concurrent publishes to a topic in seq order when an earlier one has the slower stage', async () => {
    const slowIds = new Set(['p0', 'p3']);
    const slow: PublishStage = { name: 'slow', run: (n) => (slowIds.has(n.id) ? sleep(50) : undefined) };
    const fx = await harness.start({ publishStages: [slow] });
    const watcher = await harness.subscriber(fx, 'u4', ['user:u4']);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => fx.hub.publish('user:u4', { kind: 'custom', id: `p${i}` })),
    );
    expect(results.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    await watcher.notification('p5');
    expect(watcher.seqs('user:u4')).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('publishes one id sent twice at once exactly once; the second call waits and reports a duplicate', async () => {
    const slow: PublishStage = { name: 'slow', run: () => sleep(30) };
    const fx = await harness.start({ publishStages: [slow] });
    const watcher = await harness.subscriber(fx, 'u5', ['user:u5']);
    const [first, second] = await Promise.all([
      fx.hub.publish('user:u5', { kind: 'custom', id: 'same' }),
      fx.hub.publish('user:u5', { kind: 'custom', id: 'same' }),
    ]);
    expect([first.duplicate, second.duplicate].sort()).toEqual([false, true]);
    expect(first.seq).toBe(second.seq);
    await watcher.roundTrip();
    expect(watcher.framesOf('notification').map((n) => n.id)).toEqual(['same']);
  });
});
