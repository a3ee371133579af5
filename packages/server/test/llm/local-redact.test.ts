import { describe, expect, it } from 'vitest';
import { createLocalAdapter, LOCAL_MODEL, LOCAL_MODEL_VERSION, templateSynthesis } from '../../src/llm/local.js';
import { defaultRedact } from '../../src/llm/redact.js';
import { createResilientLlm } from '../../src/llm/resilient.js';
import { synthesisJsonSchema, synthesisSchema } from '../../src/llm/schema.js';
import { input, intake, risk, vitals } from './helpers/fixtures.js';

describe('local adapter', () => {
  it('streams a deterministic, schema-valid synthesis from the context', async () => {
    const llm = createResilientLlm({ adapters: [createLocalAdapter({ delayMs: 0, chunkSize: 10 })] });
    const deltas: string[] = [];
    const first = await llm.synthesize(input, { onText: (d) => deltas.push(d) });
    const second = await llm.synthesize(input);
    expect(first.synthesis).toEqual(second.synthesis);
    expect(first).toMatchObject({ adapter: 'local', model: LOCAL_MODEL, version: LOCAL_MODEL_VERSION, attempts: 1 });
    expect(synthesisSchema.parse(first.synthesis)).toEqual(first.synthesis);
    expect(deltas.length).toBeGreaterThan(10);
    expect(JSON.parse(deltas.join(''))).toEqual(first.synthesis);

    const { summary, differential, recommendations } = first.synthesis;
    expect(summary).toContain('67-year-old woman presenting with Fever and shortness of breath');
    expect(summary).toContain('NEWS2 9 (high clinical risk)');
    expect(differential.map((d) => d.condition)).toContain('Sepsis');
    expect(recommendations[0]).toMatch(/critical care outreach/);
    expect(recommendations.join(' ')).toContain('penicillin');
    // The context it templates from is redacted, so identifiers never reach the output either.
    expect(JSON.stringify(first.synthesis)).not.toContain('jane.doe');
  });

  it('templates every band and stays within the schema for odd input', () => {
    for (const band of ['low', 'low-medium', 'medium', 'high'] as const) {
      const out = templateSynthesis({
        intake: { chiefComplaint: 'x'.repeat(20_000), allergies: Array(200).fill('latex') },
        vitals,
        risk: { ...risk, band },
      });
      expect(synthesisSchema.safeParse(out).success).toBe(true);
    }
    expect(synthesisSchema.safeParse(templateSynthesis(undefined)).success).toBe(true);
  });

  it('streams with pauses and stops when aborted', async () => {
    const adapter = createLocalAdapter({ delayMs: 5, chunkSize: 8 });
    const controller = new AbortController();
    let seen = 0;
    await expect(
      adapter.generate({
        system: '',
        prompt: '',
        jsonSchema: synthesisJsonSchema,
        signal: controller.signal,
        context: { intake, vitals, risk },
        onText: () => {
          seen += 1;
          if (seen === 3) controller.abort();
        },
      }),
    ).rejects.toMatchObject({ name: 'LlmError', kind: 'aborted' });
    expect(seen).toBe(3);
  });
});

describe('defaultRedact', () => {
  it('masks direct identifiers', () => {
    const text = [
      'Email jane.doe@example.org or J.Smith+ward@nhs.net',
      'Phone +1 (555) 123-4567, 07700 900123, 555.123.4567',
      'MRN 00482913, MRN: A-99812, medical record number 1234567',
      'NHS no. 943 476 5919; SSN 123-45-6789',
      'DOB: 04/07/1956, born on 3 March 1950',
      'portal https://portal.example.org/patient/42 from 10.0.0.12',
    ].join('\n');
    const out = defaultRedact(text);
    for (const secret of [
      'jane.doe',
      'J.Smith',
      '555',
      '900123',
      '00482913',
      '99812',
      '1234567',
      '943 476 5919',
      '123-45-6789',
      '1956',
      '1950',
      'portal.example.org',
      '10.0.0.12',
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('[EMAIL]');
    expect(out).toContain('[PHONE]');
    expect(out).toContain('[MRN]');
    expect(out).toContain('[NHS_NUMBER]');
    expect(out).toContain('[DOB]');
  });

  it('leaves clinical numbers alone', () => {
    const text =
      'BP 104/68, HR 112, RR 24, SpO2 93%, T 38.6, NEWS2 9, metformin 500 mg, 2024-05-01 10:30, weight 72.5 kg';
    expect(defaultRedact(text)).toBe(text);
    const prompt = JSON.stringify({ vitals, risk }, null, 2);
    expect(defaultRedact(prompt)).toBe(prompt);
  });
});
