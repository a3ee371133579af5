import { commandHelp, commandNamed, parseFlags, programHelp } from './commands.js';
import { CliError, ExitCode } from './errors.js';
import { send, stats } from './http-commands.js';
import { type CliIo, Output } from './io.js';
import { listen } from './listen.js';
import { listenOptions, sendOptions, statsOptions } from './options.js';
import { VERSION } from './version.js';

async function dispatch(argv: readonly string[], out: Output): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    out.raw(programHelp());
    return ExitCode.Usage;
  }
  if (first === '--help' || first === '-h') {
    out.out(programHelp());
    return ExitCode.Ok;
  }
  if (first === '--version' || first === '-v') {
    out.out(VERSION);
    return ExitCode.Ok;
  }
  if (first === 'help') {
    const spec = rest[0] === undefined ? undefined : commandNamed(rest[0]);
    if (rest[0] !== undefined && spec === undefined) throw unknownCommand(rest[0]);
    out.out(spec === undefined ? programHelp() : commandHelp(spec));
    return ExitCode.Ok;
  }
  if (first.startsWith('-')) {
    throw new CliError('usage', `unknown flag ${first.split('=')[0]?.slice(0, 40)}; flags follow the command`, {
      hint: 'wardcast <listen|send|stats> [flags]; see: wardcast --help',
    });
  }
  const spec = commandNamed(first);
  if (spec === undefined) throw unknownCommand(first);
  const values = parseFlags(spec, rest);
  if (values.help === true) {
    out.out(commandHelp(spec));
    return ExitCode.Ok;
  }
  switch (spec.name) {
    case 'listen':
      return listen(listenOptions(values, out.env), out);
    case 'send':
      return send(sendOptions(values, out.env), out);
    case 'stats':
      return stats(statsOptions(values, out.env), out);
  }
}

function unknownCommand(name: string): CliError {
  return new CliError('usage', `unknown command "${name.slice(0, 40)}"`, {
    hint: 'the commands are listen, send and stats; see: wardcast --help',
  });
}

/**
 * Runs the `wardcast` command line and resolves with its exit code (see {@link ExitCode}); never
 * rejects. `argv` is what follows the program name. Results go to `io.stdout`, everything else
 * (status, gaps, errors) to `io.stderr`; the token is never written to either.
 *
 * @example
 * ```ts
 * import { runCli } from '@wardcast/cli';
 *
 * const controller = new AbortController();
 * process.once('SIGINT', () => controller.abort());
 * process.exitCode = await runCli(process.argv.slice(2), { signal: controller.signal });
 * ```
 *
 * @category CLI
 */
export async function runCli(argv: readonly string[], io: CliIo = {}): Promise<number> {
  const out = new Output(io);
  try {
    return await dispatch(argv, out);
  } catch (err) {
    if (err instanceof CliError) {
      out.error(err);
      return err.exitCode;
    }
    out.error(
      new CliError('internal_error', `unexpected failure: ${err instanceof Error ? err.message : String(err)}`),
    );
    return ExitCode.Failure;
  }
}
