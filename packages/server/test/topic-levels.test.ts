import { describe, expect, it } from 'vitest';
import { TopicLevels } from '../src/core/topic-levels.js';

describe('TopicLevels (a session topics, one kept in fields)', () => {
  it('behaves as a Map through one topic, two, and back', () => {
    const levels = new TopicLevels();
    expect(levels.size).toBe(0);
    expect(levels.sole).toBeUndefined();
    levels.set('ward:4b', 'id-only');
    expect([levels.size, levels.get('ward:4b'), levels.has('ward:4b'), levels.sole]).toEqual([
      1,
      'id-only',
      true,
      'ward:4b',
    ]);
    levels.set('ward:4b', 'empty');
    expect([levels.size, levels.get('ward:4b')]).toEqual([1, 'empty']);
    levels.set('user:u1', 'full');
    expect(levels.size).toBe(2);
    // With a second topic there is no sole one: callers iterate.
    expect(levels.sole).toBeUndefined();
    expect([...levels.keys()]).toEqual(['ward:4b', 'user:u1']);
    expect([...levels]).toEqual([
      ['ward:4b', 'empty'],
      ['user:u1', 'full'],
    ]);
    expect(levels.delete('ward:4b')).toBe(true);
    expect(levels.delete('ward:4b')).toBe(false);
    expect([...levels.keys()]).toEqual(['user:u1']);
    levels.clear();
    expect([levels.size, levels.sole, [...levels.keys()]]).toEqual([0, undefined, []]);
  });

  it('has no sole topic once the only one is deleted', () => {
    const levels = new TopicLevels();
    levels.set('user:u1', 'full');
    expect(levels.delete('user:u1')).toBe(true);
    expect(levels.sole).toBeUndefined();
    expect(levels.has('user:u1')).toBe(false);
  });
});
