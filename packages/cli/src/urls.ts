import { CliError } from './errors.js';

/** Where `attach()` serves WebSockets by default. */
export const NOTIFICATIONS_PATH = '/v1/ws/notifications';

const SCHEMES = new Set(['ws:', 'wss:', 'http:', 'https:']);
const TO_WS: Readonly<Record<string, string>> = { 'http:': 'ws:', 'https:': 'wss:' };
const TO_HTTP: Readonly<Record<string, string>> = { 'ws:': 'http:', 'wss:': 'https:' };

/** The input as it may be shown: at most 200 characters, without a query (it may hold a token). */
function shown(input: string): string {
  return JSON.stringify(input.split('?')[0]?.slice(0, 200) ?? '');
}

function parse(flag: string, input: string): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new CliError('bad_url', `${flag} ${shown(input)} is not a URL`, {
      hint: 'give an absolute URL, e.g. ws://127.0.0.1:3000 or https://hub.example.org',
    });
  }
  if (!SCHEMES.has(url.protocol)) {
    throw new CliError('bad_url', `${flag} ${shown(input)} is not a ws:, wss:, http: or https: URL`);
  }
  return url;
}

/**
 * The WebSocket URL to connect to: `http(s)` becomes `ws(s)`, and a URL without a path gets the
 * default `/v1/ws/notifications`, so the same `--url` works for every command.
 *
 * @throws {CliError} `bad_url`.
 */
export function webSocketUrl(input: string): URL {
  const url = parse('--url', input);
  url.protocol = TO_WS[url.protocol] ?? url.protocol;
  if (url.pathname === '/' || url.pathname === '') url.pathname = NOTIFICATIONS_PATH;
  url.hash = '';
  return url;
}

/**
 * The URL of an HTTP endpoint (`path`, e.g. `/v1/ws/stats`) of the hub at `input`: `ws(s)` becomes
 * `http(s)`; a path prefix (the handler's `basePath`) is kept, a trailing `/v1/ws/notifications` or
 * `path` itself is dropped first, and the query is removed.
 *
 * @throws {CliError} `bad_url`.
 */
export function httpEndpoint(input: string, path: string): URL {
  const url = parse('--url', input);
  url.protocol = TO_HTTP[url.protocol] ?? url.protocol;
  let base = url.pathname.replace(/\/+$/, '');
  for (const suffix of [NOTIFICATIONS_PATH, path]) {
    if (base.endsWith(suffix)) base = base.slice(0, -suffix.length);
  }
  url.pathname = `${base}${path}`;
  url.search = '';
  url.hash = '';
  return url;
}

/**
 * An `Origin` header value: `null`, or the origin of an http(s) URL.
 *
 * @throws {CliError} `bad_url`.
 */
export function originOf(input: string): string {
  if (input === 'null') return input;
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new CliError('bad_url', `--origin ${shown(input)} is not a URL`, {
      hint: 'e.g. --origin https://app.example.org',
    });
  }
  if (url.origin === 'null')
    throw new CliError('bad_url', `--origin ${shown(input)} has no origin (use http: or https:)`);
  return url.origin;
}

/** A URL as the CLI prints it: scheme, host and path, never credentials or a query. */
export function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}
