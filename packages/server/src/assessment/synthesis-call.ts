/** Helpers around one call to the synthesizer: abort racing, outcome checks, error messages. */
import { ErrorCode, WardcastError } from '@wardcast/protocol';
import type { SynthesisOutcome } from './model.js';
import type { Synthesis } from './types.js';

/** The message of anything thrown, short and single-line. */
export function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s+/g, ' ').slice(0, 500);
}

/** Rejects with the signal's reason as soon as it aborts, whatever `promise` does. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  promise.catch(() => {});
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Checks what a synthesizer returned; throws `llm_failed` if it is not a synthesis. */
export function checkOutcome(outcome: SynthesisOutcome | undefined): Synthesis {
  const s = outcome?.synthesis;
  if (
    typeof outcome?.model !== 'string' ||
    typeof s?.summary !== 'string' ||
    !Array.isArray(s.differential) ||
    !s.differential.every((d) => typeof d?.condition === 'string' && typeof d.likelihood === 'number')
  ) {
    throw new WardcastError(ErrorCode.LlmFailed, 'the synthesizer returned no valid synthesis');
  }
  return { summary: s.summary, differential: s.differential, recommendations: s.recommendations ?? [] };
}
