import { describe, expect, it } from 'vitest';
import { tokenFor, useHarness } from '../../server/test/helpers/harness.js';
import { connect2, hello, ready2 } from '../../server/test/helpers/protocol2.js';
import { useBackplanes } from './helpers/backplane.js';
import { database, useSchema } from './helpers/db.js';

/**
 * Protocol 2 (`hello`/`ready`, docs/protocol.md) on hub instances sharing the PostgreSQL backplane: a
 * device that saw seq N on one instance resumes on another with one `hello`.
 */
describe.skipIf(!database)('protocol 2 across hub instances on the PostgreSQL backplane', () => {
  const schema = useSchema();
  const harness = useHarness();
  const backplanes = useBackplanes(schema);

  it('resumes on another instance with hello + since: the missed notifications, then ready, then live', async () => {
    const [a, b] = await backplanes.cluster(harness, 2);
    if (!a || !b) throw new Error('no hubs');
    const { client: first } = await ready2(harness, a, 'u1', [{ topic: 'patient:p1' }]);
    for (let i = 1; i <= 4; i++) await (i % 2 ? a : b).hub.publish('patient:p1', { kind: 'custom', id: `o${i}` });
    await first.notification('o4');
    const seen = first.framesOf('notification').at(-1);
    if (!seen) throw new Error('no notification');
    first.terminate();
    for (let i = 5; i <= 7; i++) await (i % 2 ? a : b).hub.publish('patient:p1', { kind: 'custom', id: `o${i}` });

    const again = connect2(harness, b, { label: 'u1 again' });
    const ready = await hello(again, {
      token: tokenFor('u1'),
      topics: [{ topic: 'patient:p1', since: { epoch: seen.epoch, seq: seen.seq } }],
    });
    await a.hub.publish('patient:p1', { kind: 'custom', id: 'o8' });
    await again.notification('o8');

    expect(first.seqs('patient:p1')).toEqual([1, 2, 3, 4]);
    expect(ready.topics).toEqual([
      { topic: 'patient:p1', status: 'ok', recovered: true, position: { epoch: seen.epoch, seq: 7 } },
    ]);
    expect(again.frames.map((f) => (f.type === 'notification' ? f.seq : f.type))).toEqual([5, 6, 7, 'ready', 8]);
  });
});
