/**
 * `@wardcast/server/llm/ai-sdk`: an {@link LlmAdapter} over the Vercel AI SDK v6 (`ai`, an
 * optional peer dependency), so any AI SDK provider (`@ai-sdk/openai`, `@ai-sdk/anthropic`,
 * `@ai-sdk/google`, a gateway model id, …) can serve the assessment pipeline.
 *
 * @packageDocumentation
 * @module \@wardcast/server/llm/ai-sdk
 */

import { ErrorCode, WardcastError } from '@wardcast/protocol';
import { jsonSchema, type LanguageModel, Output, streamText } from 'ai';
import type { LlmAdapter, LlmRequest, LlmResponse } from '../assessment/types.js';
import { LlmError } from '../assessment/types.js';
import {
  errorMessage,
  httpError,
  isAbortError,
  isLlmError,
  isNetworkError,
  parseJsonOutput,
  parseRetryAfter,
} from './errors.js';

/**
 * Options of {@link createAiSdkAdapter}.
 *
 * @example
 * ```ts
 * import { anthropic } from '@ai-sdk/anthropic';
 * createAiSdkAdapter({ model: anthropic('claude-sonnet-4-5'), name: 'anthropic' });
 * ```
 *
 * @category LLM
 */
export interface AiSdkAdapterOptions {
  /** An AI SDK language model, e.g. `openai('gpt-4o')` from `@ai-sdk/openai`. */
  readonly model: LanguageModel;
  /** Adapter name in results and events. @default 'ai-sdk' */
  readonly name?: string;
}

/**
 * Creates an adapter that calls `streamText` with `output: Output.object({ schema })` (structured
 * output in AI SDK v6), forwards text deltas to `onText` and parses the assembled JSON. The AI
 * SDK's own retries are disabled (`maxRetries: 0`); the signal is passed as `abortSignal`.
 *
 * Errors become {@link LlmError}s: an `APICallError` maps by its status like the other adapters
 * (with `Retry-After` from its response headers); connection failures → `network`; abort →
 * `aborted`; anything else → `server`.
 *
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai';
 * import { createResilientLlm } from '@wardcast/server/llm';
 * import { createAiSdkAdapter } from '@wardcast/server/llm/ai-sdk';
 *
 * const llm = createResilientLlm({ adapters: [createAiSdkAdapter({ model: openai('gpt-4o') })] });
 * ```
 *
 * @category LLM
 */
export function createAiSdkAdapter(options: AiSdkAdapterOptions): LlmAdapter {
  const { model } = options;
  if (model === undefined || model === null) {
    throw new WardcastError(ErrorCode.InvalidOption, 'ai-sdk: `model` is required');
  }
  const modelId = typeof model === 'string' ? model : model.modelId;
  const name = options.name ?? 'ai-sdk';

  return {
    name,
    model: modelId,
    async generate(request: LlmRequest): Promise<LlmResponse> {
      let text = '';
      let reportedModel: string | undefined;
      try {
        const result = streamText({
          model,
          system: request.system,
          prompt: request.prompt,
          output: Output.object({
            schema: jsonSchema<unknown>({ ...request.jsonSchema }),
            name: request.schemaName ?? 'synthesis',
          }),
          abortSignal: request.signal,
          maxRetries: 0,
          // Errors arrive as `error` parts below; this only stops the SDK from logging them.
          onError: () => {},
        });
        for await (const part of result.fullStream) {
          if (part.type === 'text-delta') {
            text += part.text;
            request.onText?.(part.text);
          } else if (part.type === 'finish-step') {
            reportedModel ??= part.response.modelId || undefined;
          } else if (part.type === 'error') {
            throw part.error;
          } else if (part.type === 'abort') {
            throw new LlmError('aborted', `${name}: aborted`, { cause: request.signal.reason });
          }
        }
      } catch (error) {
        throw toAiSdkError(error, name, request.signal);
      }
      if (request.signal.aborted) throw new LlmError('aborted', `${name}: aborted`, { cause: request.signal.reason });
      return { output: parseJsonOutput(text), text, model: reportedModel ?? modelId };
    },
  };
}

/**
 * Maps an error from the AI SDK (or a provider's `APICallError`) to an {@link LlmError}.
 *
 * @example
 * ```ts
 * try { await generateText({ model, prompt }); } catch (err) { throw toAiSdkError(err, 'ai-sdk'); }
 * ```
 *
 * @category LLM
 */
export function toAiSdkError(error: unknown, name = 'ai-sdk', signal?: AbortSignal): LlmError {
  if (isLlmError(error)) return error;
  if (signal?.aborted || isAbortError(error)) return new LlmError('aborted', `${name}: aborted`, { cause: error });
  const e = error as { statusCode?: unknown; responseHeaders?: Record<string, string> } | null;
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 600) {
    const headers = lowerCaseKeys(e.responseHeaders);
    const retryAfter = parseRetryAfter(headers['retry-after'], headers['retry-after-ms']);
    return httpError(name, e.statusCode, errorMessage(error), retryAfter, error);
  }
  if (isNetworkError(error)) return new LlmError('network', `${name}: ${errorMessage(error)}`, { cause: error });
  return new LlmError('server', `${name}: ${errorMessage(error)}`, { cause: error });
}

function lowerCaseKeys(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers ?? {})) out[key.toLowerCase()] = value;
  return out;
}
