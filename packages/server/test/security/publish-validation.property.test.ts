import { CLINICAL_KIND_SCHEMAS, type ClinicalKinds } from '@wardcast/protocol/kinds';
import { isWardcastError, NotificationHub, type WardcastError } from '@wardcast/server';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { testAuthenticate } from '../helpers/harness.js';
import { expectNoMarker, MARKER, marked, markedJson } from './marker.js';

/**
 * `invalid_payload` (and the other publish input errors) name the kind, the field and what was
 * expected, never the value: a payload field carrying a patient name in the wrong place must not
 * come back in the error (which callers log). Each built-in kind gets a valid payload with one
 * field replaced by arbitrary JSON carrying a marker.
 */

const DATE = '2026-11-23T06:50:41Z';
const PATIENT = `Jane ${MARKER} Doe`;

/** One valid payload per built-in kind. */
const VALID: { readonly [K in keyof ClinicalKinds]: ClinicalKinds[K] } = {
  appointment: { appointmentId: 'a1', status: 'scheduled', startsAt: DATE, location: 'Ward 3', message: 'm' },
  lab_result: {
    labOrderId: 'L1',
    testName: 'K',
    testCode: '2823-3',
    status: 'final',
    abnormal: false,
    critical: false,
    resultAt: DATE,
    value: '5.1',
    unit: 'mmol/L',
    referenceRange: '3.5-5.0',
  },
  ai_analysis: { analysisId: 'an-1', analysisType: 'ecg', status: 'running', summary: 's' },
  diagnosis_update: {
    assessmentId: 'as-1',
    patientId: 'p9',
    status: 'preliminary',
    summary: 's',
    differential: [{ condition: 'c', likelihood: 0.5 }],
    riskScore: 3,
    model: { name: 'm', version: '1' },
    reviewedBy: 'dr-lee',
  },
  assessment_progress: { assessmentId: 'as-1', stage: 'scoring', percent: 50, partialText: 't', reason: 'r' },
  system_alert: { severity: 'warning', message: 'm', until: DATE },
};

const KINDS = Object.keys(CLINICAL_KIND_SCHEMAS) as (keyof ClinicalKinds)[];
const RUNS_PER_KIND = 150;

const hub = new NotificationHub({ authenticate: testAuthenticate });
afterAll(() => hub.close());

let published = 0;

/** Publishes and returns the rejection, or `undefined` when the publish succeeded. */
async function rejection(kind: string, payload: unknown): Promise<WardcastError | undefined> {
  try {
    await hub.publish('user:echo-test', { kind, id: `n${++published}`, payload });
    return undefined;
  } catch (error) {
    if (!isWardcastError(error)) throw error;
    return error;
  }
}

/** A value to put in a field: arbitrary marked JSON, a marked string, or a marked value nested in an object or array. */
const fieldValue = fc.oneof(
  markedJson(['name', 'version', 'condition', 'likelihood']),
  marked,
  marked.map((m) => [m]),
  marked.map((m) => ({ name: m, version: 1, condition: m, likelihood: m })),
  marked.map((m) => [{ condition: m, likelihood: m }]),
);

describe('publish validation never repeats a payload value', () => {
  it.each(KINDS)('invalid_payload for %s names the field, never the marked value', async (kind) => {
    const fields = Object.keys(VALID[kind]);
    let rejected = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...fields), fieldValue, async (field, value) => {
        const payload = { ...VALID[kind], [field]: value };
        const error = await rejection(kind, payload);
        if (!error) return;
        rejected++;
        expect(error.code).toBe('invalid_payload');
        expect(error.message.startsWith(`${kind} payload: ${field}`), error.message).toBe(true);
        expectNoMarker(error.message, `${kind}.${field} error`);
        expectNoMarker(String(error.stack), `${kind}.${field} stack`);
      }),
      { numRuns: RUNS_PER_KIND },
    );
    expect(rejected, 'most replacements were invalid').toBeGreaterThan(RUNS_PER_KIND / 3);
    console.log(
      `[security] publish ${kind}: ${RUNS_PER_KIND} payloads with a marked field, ${rejected} invalid_payload, none repeated the value`,
    );
  });

  it('invalid_payload for a whole payload of arbitrary JSON never repeats it, for every kind', async () => {
    let rejected = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...KINDS), markedJson(), async (kind, payload) => {
        const error = await rejection(kind, payload);
        if (!error) return;
        rejected++;
        expect(error.code).toBe('invalid_payload');
        expectNoMarker(error.message, `${kind} error`);
      }),
      { numRuns: 300 },
    );
    console.log(`[security] publish: 300 arbitrary payloads, ${rejected} invalid_payload, none repeated input`);
  });

  it("a defined kind's own refine message that quotes the value is replaced; unknown keys are counted", async () => {
    hub.defineKind('acme.bed_request', {
      schema: z.strictObject({
        ward: z
          .string()
          .refine((v) => v.startsWith('W'), { error: (issue) => `no ward called ${String(issue.input)}` }),
      }),
    });

    const quoted = await rejection('acme.bed_request', { ward: PATIENT });
    const unknown = await rejection('acme.bed_request', { ward: 'W1', [PATIENT]: 1 });

    expect(quoted?.message).toBe('acme.bed_request payload: ward: invalid string');
    expect(unknown?.message).toBe('acme.bed_request payload: 1 unknown field');
    console.log('[security] defineKind: a quoting refine message and an unknown key were not repeated');
  });

  it('the other publish input errors never repeat the topic, id, priority or escalation users', async () => {
    const cases: [string, Record<string, unknown>][] = [
      [`user:${MARKER} with spaces`, { kind: 'custom', payload: {} }],
      ['user:ok', { kind: 'custom', id: `${MARKER}${'x'.repeat(130)}`, payload: {} }],
      ['user:ok', { kind: 'custom', priority: MARKER, payload: {} }],
      ['user:ok', { kind: `Upper${MARKER}`, payload: {} }],
      [
        'user:ok',
        {
          kind: 'custom',
          priority: 'critical',
          payload: {},
          escalation: {
            chain: [
              { userId: MARKER, deadlineMs: 1_000 },
              { userId: MARKER, deadlineMs: 1_000 },
            ],
          },
        },
      ],
      [
        'user:ok',
        {
          kind: 'custom',
          priority: 'critical',
          payload: {},
          escalation: { chain: [{ userId: `${MARKER} x`, deadlineMs: 1 }] },
        },
      ],
    ];
    for (const [topic, input] of cases) {
      const error = await hub.publish(topic, input as never).then(
        () => undefined,
        (e: unknown) => e as WardcastError,
      );
      expect(error, JSON.stringify(input)).toBeDefined();
      expectNoMarker(String(error?.message), `${error?.code} error`);
    }
    console.log(
      `[security] publish: ${cases.length} invalid topics/ids/priorities/kinds/escalations, none repeated the value`,
    );
  });
});
