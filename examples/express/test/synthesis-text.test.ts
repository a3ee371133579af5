import { describe, expect, it } from 'vitest';
import { readSynthesis } from '../src/web/synthesis-text.js';

const full = JSON.stringify({
  summary: 'Presenting with "fever".\nNEWS2 7 (high).',
  differential: [
    { condition: 'Sepsis', likelihood: 0.5 },
    { condition: 'Delirium', likelihood: 0.35 },
  ],
  recommendations: ['Blood cultures.', 'Lactate.'],
});

describe('readSynthesis', () => {
  it('reads every prefix of a streamed JSON synthesis without throwing or showing JSON', () => {
    for (let end = 0; end <= full.length; end++) {
      const text = readSynthesis(full.slice(0, end));
      expect(JSON.parse(full).summary.startsWith(text.summary)).toBe(true);
      for (const part of [text.summary, ...text.recommendations, ...text.differential.map((d) => d.condition)]) {
        expect(part).not.toMatch(/[{}[\]]|"summary"/);
      }
    }
  });

  it('keeps the unfinished summary while it streams, and complete entries only once they are complete', () => {
    expect(readSynthesis('{"summary":"Presenting with fev').summary).toBe('Presenting with fev');
    const partial = readSynthesis(`${full.slice(0, full.indexOf('Delirium'))}`);
    expect(partial.differential).toEqual([{ condition: 'Sepsis', likelihood: 0.5 }]);
    expect(readSynthesis(full)).toEqual(JSON.parse(full));
  });

  it('decodes escapes, and shows plain text or fenced JSON as it comes', () => {
    expect(readSynthesis(full).summary).toBe('Presenting with "fever".\nNEWS2 7 (high).');
    expect(readSynthesis('```json\n{"summary":"A\\u00e9').summary).toBe('Aé');
    expect(readSynthesis('The patient is stable.').summary).toBe('The patient is stable.');
  });
});
