import { describe, expect, it } from 'vitest';
import { useHarness } from './helpers/harness.js';

/**
 * Issue 12, target 4: a notification frame carries its UTF-8 length (an ASCII envelope plus the
 * payload measured alone), and an ASCII frame is copied into the socket buffer as is. Over real
 * sockets, whatever the payload's characters, every subscriber gets exactly what was published.
 */

const harness = useHarness();

const NOTES = [
  'plain ASCII',
  'Kalium erhöht: naïve café',
  '患者 カリウム 6.1 mmol/L',
  'ambulance 🚑 on its way',
  'a lone surrogate \ud800 escaped by JSON',
  'quotes " and backslashes \\ and a tab \t',
];

describe('notification frames on the wire', () => {
  it('delivers every payload exactly, to one subscriber and to several, whatever its characters', async () => {
    const fx = await harness.start({ authorize: () => true });
    const solo = await harness.subscriber(fx, 'alice', ['user:alice']);
    const ward = await Promise.all(['b', 'c', 'd'].map((u) => harness.subscriber(fx, u, ['ward:7'])));

    for (const [i, note] of NOTES.entries()) {
      await fx.hub.publish('user:alice', { kind: 'custom', id: `a${i}`, payload: { note } });
      await fx.hub.publish('ward:7', { kind: 'custom', id: `w${i}`, payload: { note, i } });
    }
    const last = NOTES.length - 1;
    await solo.notification(`a${last}`);
    await Promise.all(ward.map((c) => c.notification(`w${last}`)));

    expect(solo.framesOf('notification').map((n) => n.payload)).toEqual(NOTES.map((note) => ({ note })));
    for (const c of ward) {
      expect(c.framesOf('notification').map((n) => n.payload)).toEqual(NOTES.map((note, i) => ({ note, i })));
    }
  });
});
