import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { afterEach, expect } from 'vitest';
import { BIN, ROOT } from './build.js';
import { TOKEN_PREFIX } from './hub.js';

/** How long a test waits for output or an exit (spawning node is slow on a loaded machine). */
export const WAIT_MS = 15_000;

/** How a process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

type Matcher = string | RegExp | ((line: string) => boolean);

const matches = (m: Matcher, line: string): boolean =>
  typeof m === 'string' ? line.includes(m) : m instanceof RegExp ? m.test(line) : m(line);

/** A running `node dist/bin.js ...`, its output split in lines. */
export class CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: { readonly stdout: string[]; readonly stderr: string[] } = { stdout: [], stderr: [] };
  /** Resolves when the process has exited and its output streams are closed. */
  readonly exited: Promise<Exit>;
  readonly #waiters = new Set<() => void>();
  /** Exited, and its output streams are closed. */
  #closed = false;

  constructor(args: readonly string[], env: Readonly<Record<string, string>>) {
    this.child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      // A clean environment: no WARDCAST_TOKEN from the developer's shell.
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      let partial = '';
      this.child[stream].setEncoding('utf8');
      this.child[stream].on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop() ?? '';
        this.lines[stream].push(...parts);
        this.#wake();
      });
      this.child[stream].on('end', () => {
        if (partial !== '') this.lines[stream].push(partial);
        partial = '';
        this.#wake();
      });
    }
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        this.#closed = true;
        resolve({ code, signal });
        this.#wake();
      });
    });
  }

  /** Everything printed so far on `stream`. */
  text(stream: 'stdout' | 'stderr'): string {
    return this.lines[stream].join('\n');
  }

  #wake(): void {
    for (const w of this.#waiters) w();
  }

  /** Resolves with the first line of `stream` that matches; rejects after `timeoutMs` or at exit. */
  line(stream: 'stdout' | 'stderr', match: Matcher, timeoutMs = WAIT_MS): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.lines[stream].find((l) => matches(match, l));
        if (found !== undefined) done(() => resolve(found));
        else if (this.#closed)
          done(() => reject(new Error(`exited without printing ${String(match)} on ${stream}:\n${this.dump()}`)));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`no ${String(match)} on ${stream} within ${timeoutMs} ms:\n${this.dump()}`))),
        timeoutMs,
      );
      const done = (fn: () => void): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        fn();
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Resolves with the exit; rejects after `timeoutMs`. */
  async exit(timeoutMs = WAIT_MS): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms:\n${this.dump()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Resolves with `promise` (a hub event the process should cause); rejects with the process's
   * output if it exits first or `promise` rejects (times out).
   */
  async causes<T>(promise: Promise<T>): Promise<T> {
    const exited = this.exited.then((exit) => {
      throw new Error(`exited (${exit.code ?? exit.signal}) first:\n${this.dump()}`);
    });
    try {
      return await Promise.race([promise, exited]);
    } catch (err) {
      if (err instanceof Error && !err.message.includes('--- stdout')) err.message += `\n${this.dump()}`;
      throw err;
    } finally {
      exited.catch(() => {});
    }
  }

  /** Output for failure messages. */
  dump(): string {
    return `--- stdout\n${this.text('stdout')}\n--- stderr\n${this.text('stderr')}`;
  }
}

/** Spawns CLI processes for one test, checks none printed a token, and kills the survivors. */
export class CliRunner {
  readonly #processes: CliProcess[] = [];

  /** Starts `wardcast <args>` (not waiting for anything). */
  spawn(args: readonly string[], env: Readonly<Record<string, string>> = {}): CliProcess {
    const p = new CliProcess(args, env);
    this.#processes.push(p);
    return p;
  }

  /** Runs `wardcast <args>` to its end: exit code and output. */
  async run(
    args: readonly string[],
    env: Readonly<Record<string, string>> = {},
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const p = this.spawn(args, env);
    const { code } = await p.exit();
    return { code, stdout: p.text('stdout'), stderr: p.text('stderr') };
  }

  /** Kills what is still running, then checks that no output held a token. */
  async cleanup(): Promise<void> {
    const processes = this.#processes.splice(0);
    for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    for (const p of processes) {
      expect(p.text('stdout'), 'a token on stdout').not.toContain(TOKEN_PREFIX);
      expect(p.text('stderr'), 'a token on stderr').not.toContain(TOKEN_PREFIX);
    }
  }
}

/** A {@link CliRunner} cleaned up after each test of the calling file. */
export function useCli(): CliRunner {
  const runner = new CliRunner();
  afterEach(async () => {
    await runner.cleanup();
  });
  return runner;
}
