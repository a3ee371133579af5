import { MemoryHistoryStore } from '@wardcast/server';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './helpers/build.js';
import { useCli } from './helpers/cli.js';
import { type HubFixture, nextEvent, tokenFor, useHubs } from './helpers/hub.js';

const hubs = useHubs();
const cli = useCli();

beforeAll(ensureBuilt, 120_000);

const custom = (title: string, message: string) => ({
  kind: 'custom',
  priority: 'routine' as const,
  payload: { title, message },
});

/** Starts `wardcast listen` as `user` and resolves once the hub has subscribed it to `topic`. */
async function listening(f: HubFixture, user: string, topic: string, extra: readonly string[] = []) {
  const subscribed = nextEvent(f.hub, 'subscribe', (e) => e.topic === topic);
  const p = cli.spawn(['listen', '--url', f.wsUrl, '--token', tokenFor(user), ...extra]);
  await p.causes(subscribed);
  return p;
}

describe('wardcast listen', () => {
  it('prints a published notification as one readable line: time, topic, seq, kind, priority, summary', async () => {
    const f = await hubs.start();
    const p = await listening(f, 'u1', 'user:u1', ['--topic', 'user:u1']);
    await f.hub.publish('user:u1', { ...custom('Ward round', 'starts at 9'), priority: 'critical' });

    const line = await p.line('stdout', 'user:u1');
    expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} {2}user:u1 {2}#1 {2}custom {2}CRITICAL {2}Ward round: starts at 9$/);
    expect(p.text('stderr')).toContain(`connected as u1; subscribing to user:u1`);
  });

  it('prints one JSON object per line with --json', async () => {
    const f = await hubs.start();
    const p = await listening(f, 'u1', 'user:u1', ['--topic', 'user:u1', '--json']);
    const first = await f.hub.publish('user:u1', custom('one', 'first'));
    await f.hub.publish('user:u1', custom('two', 'second'));

    await p.line('stdout', (l) => l.includes('"second"'));
    const parsed = p.lines.stdout.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed).toHaveLength(2);
    expect(parsed[0]).toEqual({
      id: first.id,
      topic: 'user:u1',
      epoch: first.epoch,
      seq: 1,
      kind: 'custom',
      priority: 'routine',
      createdAt: expect.any(String),
      payload: { title: 'one', message: 'first' },
    });
    expect(parsed[1]).toMatchObject({ seq: 2, payload: { title: 'two', message: 'second' } });
  });

  it("subscribes to the token user's own topic when no --topic is given", async () => {
    const f = await hubs.start();
    const p = await listening(f, 'dr-lee', 'user:dr-lee');
    await f.hub.publish('user:dr-lee', custom('hello', 'you'));
    await p.line('stdout', 'user:dr-lee  #1  custom');
  });

  it('listens to several topics given by repeated and comma-separated --topic', async () => {
    const f = await hubs.start({ authorize: () => true });
    const second = nextEvent(f.hub, 'subscribe', (e) => e.topic === 'broadcast');
    const p = await listening(f, 'u1', 'patient:p9', ['--topic', 'user:u1,patient:p9', '--topic', 'broadcast']);
    await p.causes(second);
    await f.hub.publish('patient:p9', custom('vitals', 'updated'));
    await f.hub.publish('broadcast', custom('maintenance', 'tonight'));
    await p.line('stdout', 'broadcast  #1');
    expect(p.text('stdout')).toContain('patient:p9  #1  custom  routine  vitals: updated');
  });

  it('summarizes a clinical payload and strips control characters from it', async () => {
    const f = await hubs.start();
    const p = await listening(f, 'u1', 'user:u1', ['--topic', 'user:u1']);
    await f.hub.publish('user:u1', {
      kind: 'lab_result',
      priority: 'critical',
      payload: {
        labOrderId: 'L-1',
        testName: 'Potassium\u001b[2J',
        status: 'final',
        abnormal: true,
        critical: true,
        resultAt: new Date().toISOString(),
        value: '6.9',
        unit: 'mmol/L',
      },
    });
    const line = await p.line('stdout', 'lab_result');
    expect(line).toMatch(/lab_result {2}CRITICAL {2}L-1 Potassium \[2J 6\.9 mmol\/L final CRITICAL$/);
    expect(line).not.toContain('\u001b');
  });

  it('asks for a reduced PHI level with --phi and prints what the hub sends', async () => {
    const f = await hubs.start();
    const p = await listening(f, 'u1', 'user:u1', ['--topic', 'user:u1', '--phi', 'id-only', '--json']);
    await f.hub.publish('user:u1', {
      kind: 'lab_result',
      priority: 'urgent',
      payload: {
        labOrderId: 'L-2',
        testName: 'HIV-1 RNA',
        status: 'final',
        abnormal: true,
        critical: false,
        resultAt: new Date().toISOString(),
      },
    });
    const n = JSON.parse(await p.line('stdout', 'L-2')) as Record<string, unknown>;
    expect(n).toMatchObject({ kind: 'lab_result', phi: 'id-only', payload: { labOrderId: 'L-2', status: 'final' } });
    expect(JSON.stringify(n)).not.toContain('HIV');
  });

  it('replays what came after --since <epoch>:<seq>', async () => {
    const f = await hubs.start();
    const first = await f.hub.publish('user:u1', custom('one', 'missed'));
    await f.hub.publish('user:u1', custom('two', 'missed too'));
    await f.hub.publish('user:u1', custom('three', 'missed as well'));

    const p = cli.spawn([
      'listen',
      '--url',
      f.wsUrl,
      '--token',
      tokenFor('u1'),
      '--topic',
      'user:u1',
      '--since',
      `${first.epoch}:1`,
    ]);
    await p.line('stdout', '#3');
    expect(p.lines.stdout.map((l) => /#(\d+)/.exec(l)?.[1])).toEqual(['2', '3']);
    expect(p.text('stderr')).not.toContain('gap');
  });

  it('reports on stderr a gap when history cannot cover --since', async () => {
    const f = await hubs.start();
    await f.hub.publish('user:u1', custom('one', 'kept'));
    const p = cli.spawn([
      'listen',
      '--url',
      f.wsUrl,
      '--token',
      tokenFor('u1'),
      '--topic',
      'user:u1',
      '--since',
      'user:u1=some-other-epoch:7',
    ]);
    const gap = await p.line('stderr', 'gap on user:u1');
    expect(gap).toContain('history_exceeded');
  });

  it('exits 0 on SIGTERM and on SIGINT', async () => {
    const f = await hubs.start();
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const p = await listening(f, 'u1', 'user:u1');
      const gone = nextEvent(f.hub, 'disconnect');
      p.child.kill(signal);
      expect(await p.exit()).toEqual({ code: 0, signal: null });
      // It closed its socket on the way out rather than vanishing.
      expect((await gone).code).toBe(1000);
    }
  });

  it('follows the hub through a restart with --reconnect, resuming where it left off', async () => {
    /** History that outlives the hub using it, as Redis would. */
    class DurableHistory extends MemoryHistoryStore {
      override close(): void {}
    }
    const history = new DurableHistory();
    const first = await hubs.start({ history });
    const p = await listening(first, 'u1', 'user:u1', ['--topic', 'user:u1', '--reconnect']);
    await first.hub.publish('user:u1', custom('before', 'restart'));
    await p.line('stdout', '#1');

    await first.close();
    await p.line('stderr', /connection lost \(4503 ServerShuttingDown/);
    const second = await hubs.start({ history, port: first.port });
    const resubscribed = nextEvent(second.hub, 'subscribe', (e) => e.topic === 'user:u1');
    await second.hub.publish('user:u1', custom('during', 'the outage'));
    expect((await p.causes(resubscribed)).recovered).toBe(true);
    await p.line('stdout', '#2');
    await second.hub.publish('user:u1', custom('after', 'restart'));
    await p.line('stdout', '#3');
    expect(p.lines.stdout).toHaveLength(3);
    // stderr is another pipe: its line may be read after stdout's #3 although it was written before.
    await p.line('stderr', /reconnected as u1/);
  });
});
