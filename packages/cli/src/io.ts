import type { CliError } from './errors.js';
import { printable } from './format.js';

/**
 * A stream the CLI writes text to: `process.stdout`, or anything with `write`.
 *
 * @category CLI
 */
export interface TextSink {
  write(chunk: string): unknown;
}

/**
 * Where {@link runCli} reads and writes, for embedding it or testing it in-process. Every field
 * defaults to the process's own.
 *
 * @category CLI
 */
export interface CliIo {
  /** Notifications and results. @default process.stdout */
  readonly stdout?: TextSink;
  /** Status, gaps, warnings and errors. @default process.stderr */
  readonly stderr?: TextSink;
  /** Environment, for `WARDCAST_TOKEN`. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Aborting it stops the command: `listen` then exits `0`, `send` and `stats` exit `130`. @default none */
  readonly signal?: AbortSignal;
}

/** The resolved {@link CliIo} with line-oriented helpers. */
export class Output {
  readonly #stdout: TextSink;
  readonly #stderr: TextSink;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal | undefined;

  constructor(io: CliIo) {
    this.#stdout = io.stdout ?? process.stdout;
    this.#stderr = io.stderr ?? process.stderr;
    this.env = io.env ?? process.env;
    this.signal = io.signal;
  }

  /** A line of results on stdout. */
  out(line: string): void {
    this.#stdout.write(`${line}\n`);
  }

  /** A line for people on stderr, prefixed `wardcast:`. */
  info(line: string): void {
    this.#stderr.write(`wardcast: ${line}\n`);
  }

  /** Raw text on stderr (help after a usage error). */
  raw(text: string): void {
    this.#stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** An error: `wardcast: <message> [<code>]`, then its hint. */
  error(err: CliError): void {
    this.#stderr.write(`wardcast: ${printable(err.message)} [${err.code}]\n`);
    if (err.hint !== undefined) this.#stderr.write(`  hint: ${err.hint}\n`);
  }
}
