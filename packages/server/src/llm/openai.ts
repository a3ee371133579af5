/**
 * `@wardcast/server/llm/openai`: an {@link LlmAdapter} over the official `openai` SDK (an optional
 * peer dependency: install it yourself).
 *
 * @packageDocumentation
 * @module \@wardcast/server/llm/openai
 */

import { ErrorCode, WardcastError } from '@wardcast/protocol';
import { APIConnectionError, APIConnectionTimeoutError, APIUserAbortError, OpenAI } from 'openai';
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
 * Options of {@link createOpenAIAdapter}.
 *
 * @example
 * ```ts
 * createOpenAIAdapter({ apiKey: process.env.OPENAI_API_KEY, model: 'gpt-4o-mini' });
 * ```
 *
 * @category LLM
 */
export interface OpenAIAdapterOptions {
  /** A configured client. Its own retries are turned off per request: the resilient wrapper retries. */
  readonly client?: OpenAI;
  /** API key, when no `client` is given. @default process.env.OPENAI_API_KEY */
  readonly apiKey?: string;
  /** Base URL (an OpenAI-compatible gateway, or a test server), when no `client` is given. */
  readonly baseURL?: string;
  /** Model id. @default 'gpt-4o' */
  readonly model?: string;
  /** Adapter name in results and events. @default 'openai' */
  readonly name?: string;
}

/**
 * Creates an adapter that calls Chat Completions with `stream: true` and a strict `json_schema`
 * response format, forwards text deltas to `onText` and parses the assembled JSON.
 *
 * Errors become {@link LlmError}s: 429 → `rate_limited` (with `Retry-After` / `retry-after-ms`),
 * 408 and 5xx → `server`, connection failures → `network`, an aborted signal → `aborted`, other
 * 4xx and refusals → `client`. The SDK's own retries are disabled (`maxRetries: 0`).
 *
 * @example
 * ```ts
 * import { createLocalAdapter, createResilientLlm } from '@wardcast/server/llm';
 * import { createOpenAIAdapter } from '@wardcast/server/llm/openai';
 *
 * const llm = createResilientLlm({
 *   adapters: [createOpenAIAdapter({ model: 'gpt-4o' }), createLocalAdapter()],
 * });
 * ```
 *
 * @category LLM
 */
export function createOpenAIAdapter(options: OpenAIAdapterOptions = {}): LlmAdapter {
  const model = options.model ?? 'gpt-4o';
  const name = options.name ?? 'openai';
  const client = options.client ?? createClient(options);

  return {
    name,
    model,
    async generate(request: LlmRequest): Promise<LlmResponse> {
      let text = '';
      let refusal = '';
      let reportedModel: string | undefined;
      let finishReason: string | null | undefined;
      try {
        const stream = await client.chat.completions.create(
          {
            model,
            stream: true,
            messages: [
              { role: 'system', content: request.system },
              { role: 'user', content: request.prompt },
            ],
            response_format: {
              type: 'json_schema',
              json_schema: { name: request.schemaName ?? 'synthesis', schema: { ...request.jsonSchema }, strict: true },
            },
          },
          { signal: request.signal, maxRetries: 0 },
        );
        for await (const chunk of stream) {
          reportedModel ??= chunk.model || undefined;
          const choice = chunk.choices[0];
          if (!choice) continue;
          const delta = choice.delta?.content;
          if (delta) {
            text += delta;
            request.onText?.(delta);
          }
          if (choice.delta?.refusal) refusal += choice.delta.refusal;
          if (choice.finish_reason) finishReason = choice.finish_reason;
        }
      } catch (error) {
        throw toOpenAIError(error, name, request.signal);
      }
      if (request.signal.aborted) throw new LlmError('aborted', `${name}: aborted`, { cause: request.signal.reason });
      if (refusal && !text) throw new LlmError('client', `${name}: the model refused: ${refusal.slice(0, 300)}`);
      if (finishReason === 'content_filter')
        throw new LlmError('client', `${name}: output blocked by the content filter`);
      return { output: parseJsonOutput(text), text, model: reportedModel ?? model };
    },
  };
}

function createClient(options: OpenAIAdapterOptions): OpenAI {
  try {
    return new OpenAI({
      ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
      ...(options.baseURL === undefined ? {} : { baseURL: options.baseURL }),
      maxRetries: 0,
    });
  } catch (error) {
    throw new WardcastError(ErrorCode.InvalidOption, `openai: ${errorMessage(error)}`, { cause: error });
  }
}

/**
 * Maps an error thrown by the `openai` SDK to an {@link LlmError}.
 *
 * @example
 * ```ts
 * try { await client.chat.completions.create(params); } catch (err) { throw toOpenAIError(err, 'openai'); }
 * ```
 *
 * @category LLM
 */
export function toOpenAIError(error: unknown, name = 'openai', signal?: AbortSignal): LlmError {
  if (isLlmError(error)) return error;
  if (signal?.aborted || error instanceof APIUserAbortError || isAbortError(error)) {
    return new LlmError('aborted', `${name}: aborted`, { cause: error });
  }
  if (error instanceof APIConnectionTimeoutError) {
    return new LlmError('timeout', `${name}: ${errorMessage(error)}`, { cause: error });
  }
  if (error instanceof APIConnectionError || isNetworkError(error)) {
    return new LlmError('network', `${name}: ${errorMessage(error)}`, { cause: error });
  }
  const status = statusOf(error);
  if (status !== undefined) {
    const headers = (error as { headers?: { get?: (key: string) => string | null } }).headers;
    const get = (key: string) => (typeof headers?.get === 'function' ? headers.get(key) : null);
    const retryAfter = parseRetryAfter(get('retry-after'), get('retry-after-ms'));
    return httpError(name, status, errorMessage(error), retryAfter, error);
  }
  // An `error` event inside the stream, or a malformed stream: the server's fault.
  return new LlmError('server', `${name}: ${errorMessage(error)}`, { cause: error });
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as { status?: unknown }).status;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : undefined;
}
