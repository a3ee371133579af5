import { CliError } from './errors.js';
import { printable } from './format.js';
import { displayUrl } from './urls.js';

/** A request to one of the hub's HTTP endpoints. */
export interface HubRequest {
  readonly method: 'GET' | 'POST';
  readonly url: URL;
  /** Sent as `Authorization: Bearer`. */
  readonly token: string | undefined;
  /** Sent as `Origin`. */
  readonly origin: string | undefined;
  /** JSON body. */
  readonly body?: unknown;
  /** Give up after this long, ms. */
  readonly timeoutMs: number;
  /** Aborting it cancels the request (`interrupted`). */
  readonly signal: AbortSignal | undefined;
  /** Said after a `404`: the endpoint may be turned off by an option. */
  readonly notFoundHint: string;
}

/** What to try after a network failure with this system code. */
export const NETWORK_HINTS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'nothing is listening there: is the hub running, on this port?',
  ENOTFOUND: 'unknown host name: check the host in --url',
  EAI_AGAIN: 'the host name could not be resolved right now: check DNS',
};

/** The innermost message of a `fetch` failure ("bad port", a TLS error, ...). */
function causeMessage(err: unknown): string {
  let e: unknown = err;
  while ((e as { cause?: unknown } | null)?.cause instanceof Error) e = (e as { cause: Error }).cause;
  return e instanceof Error ? printable(e.message).slice(0, 200) : 'fetch failed';
}

/** Network failures `fetch` reports with a system code in its `cause`. */
function causeCode(err: unknown): string | undefined {
  let cause: unknown = (err as { cause?: unknown } | null)?.cause;
  for (let depth = 0; depth < 3 && cause; depth++) {
    const c = cause as { code?: unknown; errors?: unknown; cause?: unknown };
    if (typeof c.code === 'string') return c.code;
    if (Array.isArray(c.errors)) {
      const first = c.errors.find((e) => typeof (e as { code?: unknown } | null)?.code === 'string') as
        | { code: string }
        | undefined;
      if (first) return first.code;
    }
    cause = c.cause;
  }
  return undefined;
}

/** A `{ success: false, error: { code, message } }` body, if that is what it is. */
function hubError(body: unknown): { code: string; message: string } | undefined {
  const error = (body as { success?: unknown; error?: { code?: unknown; message?: unknown } } | null)?.error;
  if ((body as { success?: unknown } | null)?.success !== false || typeof error?.code !== 'string') return undefined;
  return { code: error.code, message: typeof error.message === 'string' ? printable(error.message).slice(0, 300) : '' };
}

/**
 * Calls a hub endpoint and returns the `data` of its `{ success: true, data }` answer.
 *
 * @throws {CliError} classified by what went wrong: `unreachable`, `unauthorized`, `origin_refused`,
 * `forbidden`, `shutting_down`, `request_failed` or `interrupted`.
 */
export async function callHub(req: HubRequest): Promise<unknown> {
  const where = displayUrl(req.url);
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), req.timeoutMs);
  const onAbort = (): void => timeout.abort();
  req.signal?.addEventListener('abort', onAbort, { once: true });
  const headers: Record<string, string> = { accept: 'application/json' };
  if (req.token !== undefined) headers.authorization = `Bearer ${req.token}`;
  if (req.origin !== undefined) headers.origin = req.origin;
  if (req.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  let text: string;
  try {
    res = await fetch(req.url, {
      method: req.method,
      headers,
      ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
      signal: timeout.signal,
      redirect: 'manual',
    });
    text = await res.text();
  } catch (err) {
    if (req.signal?.aborted) throw new CliError('interrupted', `${req.method} ${where} interrupted`);
    if (timeout.signal.aborted) {
      throw new CliError('unreachable', `no answer from ${where} within ${req.timeoutMs} ms`, {
        hint: 'is the hub reachable from here? raise --timeout for a slow link',
      });
    }
    const code = causeCode(err);
    throw new CliError('unreachable', `cannot reach ${where} (${code ?? causeMessage(err)})`, {
      hint: code === undefined ? undefined : NETWORK_HINTS[code],
      cause: err,
    });
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onAbort);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (res.ok && (body as { success?: unknown } | null)?.success === true) return (body as { data?: unknown }).data;
  const error = hubError(body);
  const detail = error === undefined ? '' : `: ${error.code}${error.message === '' ? '' : ` (${error.message})`}`;
  const summary = `${req.method} ${where} answered HTTP ${res.status}${detail}`;
  if (error === undefined && res.ok) {
    throw new CliError(
      'request_failed',
      `${req.method} ${where} did not answer like a Wardcast hub (HTTP ${res.status})`,
    );
  }
  switch (res.status) {
    case 401:
      throw new CliError('unauthorized', `${summary}: the hub rejected the token`, {
        hint:
          req.token === undefined
            ? 'this endpoint needs --token (or WARDCAST_TOKEN)'
            : 'check --token (or WARDCAST_TOKEN): it may be wrong or expired',
      });
    case 403:
      if (error !== undefined && /origin/i.test(error.message)) {
        throw new CliError('origin_refused', `${summary}: the hub refused the origin ${req.origin ?? '(none sent)'}`, {
          hint: "use an origin in the hub's allowedOrigins, or leave out --origin",
        });
      }
      throw new CliError('forbidden', summary);
    case 404:
      throw new CliError('request_failed', summary, { hint: req.notFoundHint });
    case 503:
      if (error?.code === 'hub_closed') throw new CliError('shutting_down', `${summary}: the hub is shutting down`);
      throw new CliError('request_failed', summary);
    default:
      throw new CliError('request_failed', summary);
  }
}
