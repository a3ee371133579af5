import type {
  Intake,
  LlmAdapter,
  LlmRequest,
  LlmResponse,
  RiskScore,
  Synthesis,
  Vitals,
} from '../../../src/assessment/types.js';
import type { LlmSynthesizeInput } from '../../../src/llm/resilient.js';

export const intake: Intake = {
  chiefComplaint: 'Fever and shortness of breath for two days',
  history: 'Type 2 diabetes. Contact: jane.doe@example.org, +1 (555) 123-4567. MRN 00482913.',
  medications: ['metformin 500 mg BD'],
  allergies: ['penicillin'],
  age: 67,
  sex: 'female',
};

export const vitals: Vitals = {
  respirationRate: 24,
  spo2: 93,
  onOxygen: false,
  systolicBp: 104,
  pulse: 112,
  consciousness: 'A',
  temperature: 38.6,
};

export const risk: RiskScore = {
  scorer: 'news2',
  total: 9,
  band: 'high',
  parameters: { respirationRate: 2, spo2: 2, onOxygen: 0, systolicBp: 1, pulse: 2, consciousness: 0, temperature: 1 },
};

export const input: LlmSynthesizeInput = { intake, vitals, risk, patientId: 'p-123' };

export const synthesis: Synthesis = {
  summary: '67-year-old woman with fever and dyspnoea; NEWS2 9 (high).',
  differential: [
    { condition: 'Community-acquired pneumonia', likelihood: 0.6 },
    { condition: 'Sepsis', likelihood: 0.4 },
  ],
  recommendations: ['Emergency review by the critical care outreach team.', 'Blood cultures and lactate.'],
};

export const synthesisJson = JSON.stringify(synthesis);

/** An adapter scripted with a function per call. */
export function scriptedAdapter(
  name: string,
  script: (call: number, request: LlmRequest) => Promise<LlmResponse> | LlmResponse,
): LlmAdapter & { calls: LlmRequest[] } {
  const calls: LlmRequest[] = [];
  return {
    name,
    model: `${name}-model`,
    calls,
    async generate(request) {
      calls.push(request);
      return script(calls.length, request);
    },
  };
}

/** A sleep that records delays and resolves at once (still honouring aborts). */
export function recordingSleep(): { sleep: (ms: number, signal: AbortSignal) => Promise<void>; delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms, signal) => {
      delays.push(ms);
      if (signal.aborted) throw signal.reason;
    },
  };
}
