import { parseArgs } from 'node:util';
import { CliError } from './errors.js';

/** One flag of a command. */
interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
  /** Placeholder of the value in help, e.g. `<url>`. */
  readonly value?: string;
  readonly description: string;
}

/** A command: its flags and its help. */
export interface CommandSpec {
  readonly name: 'listen' | 'send' | 'stats';
  readonly summary: string;
  readonly usage: string;
  readonly description: string;
  readonly flags: Readonly<Record<string, FlagSpec>>;
  readonly examples: readonly string[];
}

const url = (what: string): FlagSpec => ({ type: 'string', value: '<url>', description: what });
const token: FlagSpec = {
  type: 'string',
  value: '<token>',
  description: 'Token the hub authenticates (default: $WARDCAST_TOKEN). Never printed.',
};
const origin: FlagSpec = {
  type: 'string',
  value: '<origin>',
  description: 'Origin header to send, to test allowedOrigins (default: none, as a server would).',
};
const timeout: FlagSpec = {
  type: 'string',
  value: '<ms>',
  description: 'How long to wait for the hub to answer or the socket to open (default: 10000).',
};
const help: FlagSpec = { type: 'boolean', short: 'h', description: 'Show this help.' };

/** The commands, in the order help lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'listen',
    summary: 'Connect, subscribe to topics and print every notification as it arrives',
    usage: 'wardcast listen --url <url> --token <token> [--topic <topic> ...] [flags]',
    description:
      'Prints one line per notification on stdout; status changes, gaps and denied topics go to stderr.\n' +
      'Without --topic it subscribes to the token user\'s own "user:<id>" topic. Stops with Ctrl-C (exit 0).\n' +
      'Without --reconnect it exits when the connection ends, with a code that says why.',
    flags: {
      url: url('Hub URL: ws(s)://host/v1/ws/notifications, or the http(s) base (the path defaults).'),
      token,
      topic: {
        type: 'string',
        multiple: true,
        value: '<topic>',
        description: 'Topic to subscribe to (repeat it, or separate topics by commas).',
      },
      json: { type: 'boolean', description: 'Print one JSON object per notification (for scripts).' },
      since: {
        type: 'string',
        multiple: true,
        value: '[<topic>=]<epoch>:<seq>',
        description: 'Resume from this position: the hub replays what came after it (needs --topic).',
      },
      phi: {
        type: 'string',
        value: 'full|id-only|empty',
        description: 'PHI level to ask for; the hub may lower it, never raise it (default: full).',
      },
      origin,
      reconnect: {
        type: 'boolean',
        description: 'After the first connection, reconnect and resume when it drops (hub restart, network).',
      },
      timeout,
      help,
    },
    examples: [
      'wardcast listen --url ws://127.0.0.1:3000 --token "$TOKEN" --topic user:dr-lee --topic patient:p9',
      'WARDCAST_TOKEN=... wardcast listen --url https://hub.example.org --json | jq .kind',
    ],
  },
  {
    name: 'send',
    summary: 'Send a test notification (POST /v1/ws/test-notification) and print where it went',
    usage: 'wardcast send --url <url> --token <token> [--user <id>] [--title <text>] [--message <text>] [flags]',
    description:
      'Publishes a "custom" notification with payload { title, message } to "user:<id>". The hub must\n' +
      'serve the endpoint (enableTestNotifications); sending to another user needs canSendTestTo.',
    flags: {
      url: url('Hub base URL: http(s)://host (ws(s) URLs work too), with any basePath prefix.'),
      token,
      user: { type: 'string', value: '<id>', description: "Recipient's user id (default: the token's own user)." },
      title: {
        type: 'string',
        value: '<text>',
        description: 'Title, 1-200 characters (default: "Test notification").',
      },
      message: {
        type: 'string',
        value: '<text>',
        description: 'Message, up to 2000 characters (default: "Sent with wardcast send").',
      },
      priority: {
        type: 'string',
        value: 'routine|urgent|critical',
        description: 'Priority (default: routine).',
      },
      origin,
      json: { type: 'boolean', description: "Print the hub's answer as JSON: { topic, id, epoch, seq, duplicate }." },
      timeout,
      help,
    },
    examples: [
      'wardcast send --url http://127.0.0.1:3000 --token "$TOKEN" --title "Ping" --message "hello"',
      'wardcast send --url http://127.0.0.1:3000 --token "$ADMIN_TOKEN" --user dr-lee --priority critical',
    ],
  },
  {
    name: 'stats',
    summary: "Print the hub's connection counts (GET /v1/ws/stats)",
    usage: 'wardcast stats --url <url> [--token <token>] [--json]',
    description: 'Counts only: connected clients, users, topics, subscriptions, deliveries, status.',
    flags: {
      url: url('Hub base URL: http(s)://host (ws(s) URLs work too), with any basePath prefix.'),
      token: { ...token, description: 'Token, for a hub serving stats to authenticated callers only.' },
      json: { type: 'boolean', description: 'Print the counts as one JSON object.' },
      timeout,
      help,
    },
    examples: ['wardcast stats --url http://127.0.0.1:3000', 'wardcast stats --url https://hub.example.org --json'],
  },
];

/** Flag values as `parseArgs` returns them. */
export type FlagValues = Readonly<Record<string, string | boolean | readonly string[] | undefined>>;

/**
 * Parses a command's flags strictly: unknown flags, positional arguments and missing values are
 * usage errors (whose messages never repeat a value: it could be a token).
 *
 * @throws {CliError} `usage`.
 */
export function parseFlags(spec: CommandSpec, args: readonly string[]): FlagValues {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const [name, flag] of Object.entries(spec.flags)) {
    options[name] = {
      type: flag.type,
      ...(flag.multiple ? { multiple: true } : {}),
      ...(flag.short === undefined ? {} : { short: flag.short }),
    };
  }
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values as FlagValues;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    const hint = `see: wardcast ${spec.name} --help`;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'([^']*)'/.exec(message)?.[1] ?? 'flag';
      throw new CliError('usage', `unknown flag ${flag.slice(0, 40)} for "wardcast ${spec.name}"`, { hint });
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      throw new CliError(
        'usage',
        `"wardcast ${spec.name}" takes no positional arguments (every value follows its flag)`,
        {
          hint,
        },
      );
    }
    // ERR_PARSE_ARGS_INVALID_OPTION_VALUE: "Option '--url <value>' argument missing" and the like (names only).
    throw new CliError('usage', message.split('\n')[0] ?? 'invalid flags', { hint });
  }
}

/** The value of a single string flag. */
export function stringFlag(values: FlagValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** The values of a repeatable string flag. */
export function listFlag(values: FlagValues, name: string): readonly string[] {
  const v = values[name];
  return Array.isArray(v) ? v : [];
}

/** Whether a boolean flag is set. */
export function boolFlag(values: FlagValues, name: string): boolean {
  return values[name] === true;
}

/** Finds a command by name. */
export function commandNamed(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

function flagLines(flags: Readonly<Record<string, FlagSpec>>): string[] {
  const rows = Object.entries(flags).map(([name, f]) => {
    const left = `${f.short === undefined ? '    ' : `-${f.short}, `}--${name}${f.value === undefined ? '' : ` ${f.value}`}`;
    return [left, f.description + (f.multiple ? ' Repeatable.' : '')] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

/** Help of one command. */
export function commandHelp(spec: CommandSpec): string {
  return [
    `Usage: ${spec.usage}`,
    '',
    `${spec.summary}.`,
    spec.description,
    '',
    'Flags:',
    ...flagLines(spec.flags),
    '',
    'Examples:',
    ...spec.examples.map((e) => `  ${e}`),
    '',
    EXIT_CODES_HELP,
  ].join('\n');
}

const EXIT_CODES_HELP = [
  'Exit codes: 0 ok (or stopped with Ctrl-C), 1 unexpected error, 2 usage, 3 bad URL, 4 unreachable,',
  '5 origin refused, 6 token rejected, 7 hub shutting down, 8 forbidden, 9 connection lost,',
  '10 request failed, 130 interrupted.',
].join('\n');

/** Help of the program. */
export function programHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: wardcast <command> [flags]',
    '',
    'Test a Wardcast hub from a terminal or a script.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Flags:',
    '  -h, --help     Show help; "wardcast <command> --help" shows a command\'s flags.',
    '  -v, --version  Print the version.',
    '',
    'The token may come from WARDCAST_TOKEN instead of --token, which keeps it out of shell history.',
    '',
    EXIT_CODES_HELP,
  ].join('\n');
}
