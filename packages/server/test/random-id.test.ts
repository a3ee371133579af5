import { describe, expect, it } from 'vitest';
import { randomId } from '../src/core/random-id.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('randomId', () => {
  it('writes version 4 UUIDs as crypto.randomUUID does, none twice, across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const id = randomId();
      expect(id).toMatch(UUID_V4);
      seen.add(id);
    }
    expect(seen.size).toBe(2_000);
    expect(randomId()).toMatch(UUID_V4);
  });

  it('returns strings that later calls leave unchanged', () => {
    const first = randomId();
    const copy = `${first}`;
    for (let i = 0; i < 300; i++) randomId();
    expect(first).toBe(copy);
  });
});
