import type { PhiLevel } from '@wardcast/protocol';
import { describe, expect, it } from 'vitest';
import * as wsModule from 'ws';
import { Registry } from '../src/core/registry.js';
import { prepare } from '../src/ws/ws-socket.js';

/**
 * Issue 12, target 4 ("cheap publishes"): the shortcuts of the publish-to-one path, held to what
 * they replace.
 */

/** `ws`'s frame builder (not in its type declarations). */
const { Sender } = wsModule as unknown as {
  Sender: {
    frame(
      data: Buffer,
      options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean },
    ): Buffer[];
  };
};

/** The frame as `ws` builds it: `Sender.frame` of the UTF-8 text, its parts joined. */
function wsFrame(text: string): Buffer {
  const parts = Sender.frame(Buffer.from(text), { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false });
  return Buffer.concat(parts);
}

describe('ws transport: single-buffer frame', () => {
  const cases: [string, string][] = [
    ['empty', ''],
    ['short', '{"type":"notification"}'],
    ['125 bytes (largest 7-bit length)', 'a'.repeat(125)],
    ['126 bytes (16-bit length)', 'a'.repeat(126)],
    ['a typical notification (~510 bytes)', JSON.stringify({ type: 'notification', payload: 'x'.repeat(480) })],
    ['65,535 bytes (largest 16-bit length)', 'b'.repeat(65_535)],
    ['65,536 bytes (64-bit length)', 'c'.repeat(65_536)],
    ['200,000 bytes', 'd'.repeat(200_000)],
    ['multi-byte UTF-8', '{"note":"Kalium ↑ 6,1 mmol/L — 患者 🚑 naïve"}'],
    // 42 three-byte characters: 42 UTF-16 units, 126 UTF-8 bytes (the length is counted in bytes).
    ['multi-byte UTF-8 crossing 125 bytes', '€'.repeat(42)],
    ['multi-byte UTF-8 crossing 65,535 bytes', `${'é'.repeat(32_767)}xy`],
    ['lone surrogate (written as U+FFFD, as ws does)', `a\ud800b`],
  ];
  for (const [name, text] of cases) {
    it(`equals ws's framing byte for byte: ${name}`, () => {
      const frame = prepare(text);
      expect(frame.equals(wsFrame(text))).toBe(true);
      expect(frame[0]).toBe(0x81);
    });
  }

  for (const [name, text] of cases) {
    it(`frames the same bytes when told the UTF-8 length: ${name}`, () => {
      expect(prepare(text, Buffer.byteLength(text)).equals(wsFrame(text))).toBe(true);
    });
  }

  it('is one buffer holding the header and the text', () => {
    const text = 'é'.repeat(100);
    const frame = prepare(text);
    expect(frame.length).toBe(4 + 200);
    expect(frame.readUInt16BE(2)).toBe(200);
    expect(frame.subarray(4).toString('utf8')).toBe(text);
  });
});

describe('registry: subscribers not live at the full level', () => {
  const topic = 'ward:4b';
  const others = (registry: Registry<string>) => registry.subscribers(topic)?.others;
  const live = (registry: Registry<string>, conn: string, level: PhiLevel = 'full') => {
    registry.beginSync(topic, conn);
    registry.goLive(topic, conn, level);
  };

  it('counts syncing and reduced-level subscribers through every change', () => {
    const registry = new Registry<string>();
    registry.beginSync(topic, 'a');
    expect(others(registry)).toBe(1);
    registry.goLive(topic, 'a', 'full');
    expect(others(registry)).toBe(0);
    live(registry, 'b', 'id-only');
    live(registry, 'c', 'empty');
    expect(others(registry)).toBe(2);
    registry.setLevel(topic, 'b', 'full');
    expect(others(registry)).toBe(1);
    registry.setLevel(topic, 'a', 'empty');
    expect(others(registry)).toBe(2);
    // Subscribing again goes through syncing.
    registry.beginSync(topic, 'a');
    expect(others(registry)).toBe(2);
    registry.goLive(topic, 'a', 'full');
    expect(others(registry)).toBe(1);
    registry.unsubscribe(topic, 'c');
    expect(others(registry)).toBe(0);
    registry.unsubscribe(topic, 'a');
    registry.unsubscribe(topic, 'b');
    expect(registry.subscribers(topic)).toBeUndefined();
  });

  it('matches the sizes of the sets under random changes', () => {
    const registry = new Registry<string>();
    const levels: PhiLevel[] = ['full', 'id-only', 'empty'];
    let x = 7;
    const next = (n: number) => {
      x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
      return x % n;
    };
    for (let i = 0; i < 2000; i++) {
      const conn = `c${next(8)}`;
      const op = next(4);
      if (op === 0) registry.beginSync(topic, conn);
      else if (op === 1) registry.goLive(topic, conn, levels[next(3)] as PhiLevel);
      else if (op === 2) registry.setLevel(topic, conn, levels[next(3)] as PhiLevel);
      else registry.unsubscribe(topic, conn);
      const subs = registry.subscribers(topic);
      if (subs) {
        expect(subs.others).toBe(subs.count('id-only') + subs.count('empty') + subs.syncingCount);
        expect(subs.syncingCount).toBe((subs.syncing?.size ?? 0) + (subs.syncOne === undefined ? 0 : 1));
        expect(subs.liveCount + subs.others).toBeGreaterThan(0);
      }
    }
  });
});
