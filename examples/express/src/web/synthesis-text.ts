import { parsePartialJson } from './partial-json.js';

/** The readable parts of a synthesis, complete or still streaming. */
export interface SynthesisText {
  readonly summary: string;
  readonly differential: readonly { readonly condition: string; readonly likelihood?: number }[];
  readonly recommendations: readonly string[];
}

/**
 * Turns a streamed synthesis (the model's raw output: usually the start of a JSON object, maybe
 * in a Markdown code fence, sometimes plain text) into text a clinician can read as it arrives.
 */
export function readSynthesis(raw: string): SynthesisText {
  const text = raw.replace(/^\s*```(?:json)?\s*/i, '');
  if (!text.trimStart().startsWith('{')) return { summary: text.trim(), differential: [], recommendations: [] };
  const value = parsePartialJson(text);
  const doc = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  return {
    summary: typeof doc.summary === 'string' ? doc.summary : '',
    differential: (Array.isArray(doc.differential) ? doc.differential : []).flatMap((d: unknown) => {
      const entry = typeof d === 'object' && d !== null ? (d as Record<string, unknown>) : {};
      if (typeof entry.condition !== 'string' || entry.condition === '') return [];
      return [
        typeof entry.likelihood === 'number'
          ? { condition: entry.condition, likelihood: entry.likelihood }
          : { condition: entry.condition },
      ];
    }),
    recommendations: (Array.isArray(doc.recommendations) ? doc.recommendations : []).filter(
      (r): r is string => typeof r === 'string' && r !== '',
    ),
  };
}
