import { isValidTopic, type PhiLevel, type StreamPosition } from '@wardcast/protocol';
import { boolFlag, type FlagValues, listFlag, stringFlag } from './commands.js';
import { CliError } from './errors.js';
import { DEFAULT_MESSAGE, DEFAULT_TITLE, type SendOptions, type StatsOptions } from './http-commands.js';
import type { ListenOptions } from './listen.js';
import { httpEndpoint, originOf, webSocketUrl } from './urls.js';

/** Default of `--timeout`, ms. */
export const DEFAULT_TIMEOUT_MS = 10_000;

const PHI_LEVELS: readonly PhiLevel[] = ['full', 'id-only', 'empty'];
const PRIORITIES = ['routine', 'urgent', 'critical'] as const;

function usage(message: string, command: string): CliError {
  return new CliError('usage', message, { hint: `see: wardcast ${command} --help` });
}

function requiredUrl(values: FlagValues, command: string): string {
  const url = stringFlag(values, 'url');
  if (url === undefined || url === '') throw usage('--url is required', command);
  return url;
}

function tokenOf(values: FlagValues, env: Readonly<Record<string, string | undefined>>): string | undefined {
  const token = stringFlag(values, 'token') ?? env.WARDCAST_TOKEN;
  return token === '' ? undefined : token;
}

function requiredToken(values: FlagValues, env: Readonly<Record<string, string | undefined>>, command: string): string {
  const token = tokenOf(values, env);
  if (token === undefined) throw usage('--token is required (or set WARDCAST_TOKEN)', command);
  return token;
}

function timeoutOf(values: FlagValues, command: string): number {
  const raw = stringFlag(values, 'timeout');
  if (raw === undefined) return DEFAULT_TIMEOUT_MS;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1)
    throw usage('--timeout must be a positive number of milliseconds', command);
  return Number(raw);
}

function originFlag(values: FlagValues): string | undefined {
  const origin = stringFlag(values, 'origin');
  return origin === undefined ? undefined : originOf(origin);
}

/** Parses one `--since` value: `[<topic>=]<epoch>:<seq>`. */
function parseSince(raw: string): { topic: string | undefined; position: StreamPosition } {
  const eq = raw.indexOf('=');
  const topic = eq === -1 ? undefined : raw.slice(0, eq);
  const rest = eq === -1 ? raw : raw.slice(eq + 1);
  const colon = rest.lastIndexOf(':');
  const epoch = rest.slice(0, colon);
  const seq = rest.slice(colon + 1);
  if (colon < 1 || epoch.length > 64 || !/^\d{1,15}$/.test(seq)) {
    throw usage(`--since "${raw.slice(0, 100)}" is not [<topic>=]<epoch>:<seq> (seq a whole number)`, 'listen');
  }
  return { topic, position: { epoch, seq: Number(seq) } };
}

/**
 * Flags of `wardcast listen`, checked.
 *
 * @throws {CliError} `usage` or `bad_url`.
 */
export function listenOptions(values: FlagValues, env: Readonly<Record<string, string | undefined>>): ListenOptions {
  const url = webSocketUrl(requiredUrl(values, 'listen'));
  const token = requiredToken(values, env, 'listen');
  const topics = [
    ...new Set(
      listFlag(values, 'topic')
        .flatMap((t) => t.split(','))
        .map((t) => t.trim())
        .filter((t) => t !== ''),
    ),
  ];
  // `isValidTopic` narrows `unknown` to `string`: wrapped, so `find` does not infer `never`.
  const invalid = topics.find((topic): boolean => !isValidTopic(topic));
  if (invalid !== undefined) {
    throw usage(`--topic "${invalid.slice(0, 140)}" is not a topic name ([A-Za-z0-9_.:-], 1-128 characters)`, 'listen');
  }
  const since = new Map<string, StreamPosition>();
  let everywhere: StreamPosition | undefined;
  for (const raw of listFlag(values, 'since')) {
    const { topic, position } = parseSince(raw);
    if (topic === undefined) everywhere = position;
    else if (!topics.includes(topic))
      throw usage(`--since names ${topic.slice(0, 140)}, which is not a --topic`, 'listen');
    else since.set(topic, position);
  }
  if (everywhere !== undefined) {
    if (topics.length === 0) throw usage('--since needs --topic (the position belongs to one topic)', 'listen');
    for (const topic of topics) if (!since.has(topic)) since.set(topic, everywhere);
  }
  const phi = stringFlag(values, 'phi');
  if (phi !== undefined && !PHI_LEVELS.includes(phi as PhiLevel)) {
    throw usage(`--phi must be one of ${PHI_LEVELS.join(', ')}`, 'listen');
  }
  return {
    url,
    token,
    topics,
    since,
    json: boolFlag(values, 'json'),
    phi: phi as PhiLevel | undefined,
    origin: originFlag(values),
    reconnect: boolFlag(values, 'reconnect'),
    timeoutMs: timeoutOf(values, 'listen'),
  };
}

/**
 * Flags of `wardcast send`, checked.
 *
 * @throws {CliError} `usage` or `bad_url`.
 */
export function sendOptions(values: FlagValues, env: Readonly<Record<string, string | undefined>>): SendOptions {
  const url = httpEndpoint(requiredUrl(values, 'send'), '/v1/ws/test-notification');
  const token = requiredToken(values, env, 'send');
  const priority = stringFlag(values, 'priority');
  if (priority !== undefined && !(PRIORITIES as readonly string[]).includes(priority)) {
    throw usage(`--priority must be one of ${PRIORITIES.join(', ')}`, 'send');
  }
  const user = stringFlag(values, 'user');
  if (user === '') throw usage('--user must not be empty', 'send');
  return {
    url,
    token,
    user,
    title: stringFlag(values, 'title') ?? DEFAULT_TITLE,
    message: stringFlag(values, 'message') ?? DEFAULT_MESSAGE,
    priority: priority as SendOptions['priority'],
    origin: originFlag(values),
    json: boolFlag(values, 'json'),
    timeoutMs: timeoutOf(values, 'send'),
  };
}

/**
 * Flags of `wardcast stats`, checked.
 *
 * @throws {CliError} `usage` or `bad_url`.
 */
export function statsOptions(values: FlagValues, env: Readonly<Record<string, string | undefined>>): StatsOptions {
  return {
    url: httpEndpoint(requiredUrl(values, 'stats'), '/v1/ws/stats'),
    token: tokenOf(values, env),
    json: boolFlag(values, 'json'),
    timeoutMs: timeoutOf(values, 'stats'),
  };
}
