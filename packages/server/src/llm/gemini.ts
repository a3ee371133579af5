/**
 * `@wardcast/server/llm/gemini`: an {@link LlmAdapter} over the official `@google/genai` SDK (an
 * optional peer dependency: install it yourself).
 *
 * @packageDocumentation
 * @module \@wardcast/server/llm/gemini
 */

import { type GenerateContentResponse, GoogleGenAI } from '@google/genai';
import { ErrorCode, WardcastError } from '@wardcast/protocol';
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
 * Options of {@link createGeminiAdapter}.
 *
 * @example
 * ```ts
 * createGeminiAdapter({ apiKey: process.env.GEMINI_API_KEY, model: 'gemini-2.5-flash' });
 * ```
 *
 * @category LLM
 */
export interface GeminiAdapterOptions {
  /**
   * A configured client. Leave its `httpOptions.retryOptions` unset (the wrapper retries). With
   * your own client, `Retry-After` comes only from the error body's `RetryInfo`.
   */
  readonly client?: GoogleGenAI;
  /** API key, when no `client` is given. @default process.env.GEMINI_API_KEY or GOOGLE_API_KEY */
  readonly apiKey?: string;
  /** Model id. @default 'gemini-2.0-flash' */
  readonly model?: string;
  /** HTTP options when no `client` is given, e.g. `{ baseUrl }` for a proxy or a test server. */
  readonly httpOptions?: {
    readonly baseUrl?: string;
    readonly apiVersion?: string;
    readonly headers?: Record<string, string>;
  };
  /** Adapter name in results and events. @default 'gemini' */
  readonly name?: string;
}

/**
 * Creates an adapter that calls `generateContentStream` with `responseMimeType:
 * 'application/json'` and `responseJsonSchema`, forwards text deltas to `onText` and parses the
 * assembled JSON. The signal is passed as `config.abortSignal`.
 *
 * Errors become {@link LlmError}s like the OpenAI adapter's: 429 → `rate_limited` (with the
 * `Retry-After` header, or the `RetryInfo.retryDelay` Gemini puts in the error body), 5xx →
 * `server`, connection failures → `network`, abort → `aborted`, other 4xx and blocked prompts →
 * `client`.
 *
 * @example
 * ```ts
 * import { createResilientLlm } from '@wardcast/server/llm';
 * import { createGeminiAdapter } from '@wardcast/server/llm/gemini';
 * import { createOpenAIAdapter } from '@wardcast/server/llm/openai';
 *
 * const llm = createResilientLlm({
 *   adapters: [createOpenAIAdapter(), createGeminiAdapter({ model: 'gemini-2.0-flash' })],
 * });
 * ```
 *
 * @category LLM
 */
export function createGeminiAdapter(options: GeminiAdapterOptions = {}): LlmAdapter {
  const model = options.model ?? 'gemini-2.0-flash';
  const name = options.name ?? 'gemini';
  const ownClient = options.client === undefined;
  const client = options.client ?? createClient(options);

  return {
    name,
    model,
    async generate(request: LlmRequest): Promise<LlmResponse> {
      let text = '';
      let modelVersion: string | undefined;
      // With our own client, a per-request fetch records the Retry-After header of a failed response.
      let retryAfterHeader: number | undefined;
      const fetchWithHeaders: typeof fetch = async (input, init) => {
        const response = await fetch(input, init);
        if (!response.ok) {
          retryAfterHeader = parseRetryAfter(
            response.headers.get('retry-after'),
            response.headers.get('retry-after-ms'),
          );
        }
        return response;
      };
      try {
        const stream = await client.models.generateContentStream({
          model,
          contents: [{ role: 'user', parts: [{ text: request.prompt }] }],
          config: {
            systemInstruction: request.system,
            responseMimeType: 'application/json',
            responseJsonSchema: request.jsonSchema,
            abortSignal: request.signal,
            ...(ownClient ? { httpOptions: { fetch: fetchWithHeaders } } : {}),
          },
        });
        for await (const chunk of stream) {
          modelVersion ??= chunk.modelVersion || undefined;
          const blocked = chunk.promptFeedback?.blockReason;
          if (blocked) throw new LlmError('client', `${name}: prompt blocked (${blocked})`);
          const delta = textOf(chunk);
          if (delta) {
            text += delta;
            request.onText?.(delta);
          }
          const finish = chunk.candidates?.[0]?.finishReason;
          if (finish === 'SAFETY' || finish === 'PROHIBITED_CONTENT' || finish === 'BLOCKLIST' || finish === 'SPII') {
            throw new LlmError('client', `${name}: output blocked (${finish})`);
          }
        }
      } catch (error) {
        throw toGeminiError(error, name, request.signal, retryAfterHeader);
      }
      if (request.signal.aborted) throw new LlmError('aborted', `${name}: aborted`, { cause: request.signal.reason });
      return { output: parseJsonOutput(text), text, model: modelVersion ?? model };
    },
  };
}

function createClient(options: GeminiAdapterOptions): GoogleGenAI {
  try {
    return new GoogleGenAI({
      ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
      ...(options.httpOptions === undefined ? {} : { httpOptions: { ...options.httpOptions } }),
    });
  } catch (error) {
    throw new WardcastError(ErrorCode.InvalidOption, `gemini: ${errorMessage(error)}`, { cause: error });
  }
}

/** Text parts of the first candidate, without "thought" parts. */
function textOf(chunk: GenerateContentResponse): string {
  const parts = chunk.candidates?.[0]?.content?.parts ?? [];
  let out = '';
  for (const part of parts) if (typeof part.text === 'string' && !part.thought) out += part.text;
  return out;
}

/**
 * Maps an error thrown by `@google/genai` to an {@link LlmError}. `retryAfterSeconds` (from a
 * header) wins over the `RetryInfo.retryDelay` found in the error body.
 *
 * @example
 * ```ts
 * try { await ai.models.generateContent(params); } catch (err) { throw toGeminiError(err, 'gemini'); }
 * ```
 *
 * @category LLM
 */
export function toGeminiError(
  error: unknown,
  name = 'gemini',
  signal?: AbortSignal,
  retryAfterSeconds?: number,
): LlmError {
  if (isLlmError(error)) return error;
  if (signal?.aborted || isAbortError(error)) return new LlmError('aborted', `${name}: aborted`, { cause: error });
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 600) {
    const raw = errorMessage(error);
    return httpError(name, status, vendorMessage(error) ?? raw, retryAfterSeconds ?? retryDelayOf(error), error);
  }
  if (isNetworkError(error)) return new LlmError('network', `${name}: ${errorMessage(error)}`, { cause: error });
  return new LlmError('server', `${name}: ${errorMessage(error)}`, { cause: error });
}

/** The API's own message from an `ApiError` whose message is the JSON error body. */
function vendorMessage(error: unknown): string | undefined {
  try {
    const body = JSON.parse((error as Error).message) as { error?: { message?: unknown } };
    const message = body.error?.message;
    return typeof message === 'string' ? message.slice(0, 300) : undefined;
  } catch {
    return undefined;
  }
}

/** Seconds from a `google.rpc.RetryInfo` detail (`"retryDelay": "17s"`) in the error body. */
function retryDelayOf(error: unknown): number | undefined {
  const message = error instanceof Error ? error.message : '';
  const match = /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(message);
  return match ? Number(match[1]) : undefined;
}
