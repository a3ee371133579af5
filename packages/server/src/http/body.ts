import type { IncomingMessage } from 'node:http';
import { ErrorCode } from '@wardcast/protocol';
import { bodyTooLarge, HttpError } from './errors.js';
import type { HttpRequestLike } from './types.js';

function declaredTooLarge(contentLength: string | null | undefined, maxBytes: number): boolean {
  const declared = contentLength == null ? Number.NaN : Number(contentLength);
  return Number.isFinite(declared) && declared > maxBytes;
}

/**
 * Reads a Node request body up to `maxBytes`. A declared `Content-Length` past it is refused
 * before reading; past it while reading, the rest is left for Node to discard.
 */
export function readNodeBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  if (declaredTooLarge(req.headers['content-length'], maxBytes)) return Promise.reject(bodyTooLarge(maxBytes));
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error: Error | undefined): void => {
      req.off('data', onData).off('end', onEnd).off('error', onFail).off('close', onClose);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) finish(bodyTooLarge(maxBytes));
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish(undefined);
    const onFail = (): void => finish(new HttpError(400, ErrorCode.BadRequest, 'request body could not be read'));
    const onClose = (): void => {
      if (!req.complete) onFail();
    };
    req.on('data', onData).on('end', onEnd).on('error', onFail).on('close', onClose);
  });
}

/** Reads a Fetch API request body up to `maxBytes`, cancelling the stream past it. */
export async function readWebBody(request: Request, maxBytes: number): Promise<string> {
  if (declaredTooLarge(request.headers.get('content-length'), maxBytes)) throw bodyTooLarge(maxBytes);
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw bodyTooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

/**
 * The request's JSON body: one a framework already parsed (measured by its JSON size), or the
 * raw body read and parsed here.
 *
 * @throws {HttpError} 413 `body_too_large`; 400 `bad_request` for a missing or non-JSON body. Its
 * message names the rule only, never any of the body.
 */
export async function jsonBody(req: HttpRequestLike, maxBytes: number): Promise<unknown> {
  if (req.body !== undefined) {
    let json: string | undefined;
    try {
      json = JSON.stringify(req.body);
    } catch {
      // A body parser that produced something JSON cannot hold (a BigInt, a cycle).
      throw new HttpError(400, ErrorCode.BadRequest, 'request body is not valid JSON');
    }
    if (new TextEncoder().encode(json ?? '').length > maxBytes) throw bodyTooLarge(maxBytes);
    return req.body;
  }
  const text = req.readBody ? await req.readBody(maxBytes) : '';
  if (text.trim() === '') throw new HttpError(400, ErrorCode.BadRequest, 'request body must be a JSON object');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, ErrorCode.BadRequest, 'request body is not valid JSON');
  }
}
