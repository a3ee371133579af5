import { type ChildProcess, spawn } from 'node:child_process';
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

/** The example's directory: the cwd of every process the tests start. */
export const APP_DIR = fileURLToPath(new URL('..', import.meta.url));

/** Environment of every process the tests start: production, no telemetry, no type check in `next build`. */
const ENV: NodeJS.ProcessEnv = {
  ...process.env,
  NODE_ENV: 'production',
  NEXT_TELEMETRY_DISABLED: '1',
  WARDCAST_EXAMPLE_SKIP_TYPECHECK: '1',
  PORT: '0',
  HOST: '127.0.0.1',
};

/** A process the tests started, with everything it printed (shown when it fails). */
export interface Proc {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<number | string>;
}

/** Extra environment variables of a started process. */
export type Env = Readonly<Record<string, string>>;

function run(args: readonly string[], env: Env = {}): Proc {
  const child = spawn(process.execPath, args, { cwd: APP_DIR, env: { ...ENV, ...env }, stdio: 'pipe' });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  return { child, output: () => out, exited };
}

const LOCK = join(APP_DIR, '.test-lock');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the example's test lock: one test run at a time builds `.next` and serves it (several
 * people, or a watch mode, may run the whole suite at once in one working tree). Waits for
 * another run's lock to be released, and takes over a lock whose process is gone. Resolves
 * with the function that releases it.
 */
export async function lockApp(deadlineMs = 240_000): Promise<() => Promise<void>> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      const file = await open(LOCK, 'wx');
      await file.writeFile(String(process.pid));
      await file.close();
      return () => unlink(LOCK).catch(() => {});
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number(await readFile(LOCK, 'utf8').catch(() => ''));
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
      await unlink(LOCK).catch(() => {});
      continue;
    }
    if (Date.now() > until) throw new Error(`${LOCK} is held by process ${owner} for more than ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Runs `next build` (production), resolving with its output and how long it took; rejects if it fails. */
export async function nextBuild(): Promise<{ output: string; ms: number }> {
  const started = performance.now();
  const proc = run(['node_modules/next/dist/bin/next', 'build']);
  const code = await proc.exited;
  if (code !== 0) throw new Error(`next build exited with ${code}:\n${proc.output()}`);
  return { output: proc.output(), ms: Math.round(performance.now() - started) };
}

/** A running server: its base URL, and a `stop()` that ends the process and waits for it. */
export interface RunningServer {
  readonly base: string;
  readonly proc: Proc;
  stop(): Promise<void>;
}

async function startProcess(args: readonly string[], env: Env, ready: RegExp): Promise<RunningServer> {
  const proc = run(args, env);
  const base = await new Promise<string>((resolve, reject) => {
    const deadline = setTimeout(() => fail('did not print its URL within 90 s'), 90_000);
    const check = () => {
      const match = ready.exec(proc.output());
      if (!match?.[1]) return;
      done();
      resolve(match[1]);
    };
    const fail = (why: string) => {
      done();
      proc.child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} ${why}:\n${proc.output()}`));
    };
    const onExit = (code: number | string) => fail(`exited with ${code}`);
    const done = () => {
      clearTimeout(deadline);
      proc.child.stdout?.off('data', check);
    };
    proc.child.stdout?.on('data', check);
    void proc.exited.then(onExit);
  });
  return {
    base,
    proc,
    async stop() {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
      proc.child.kill('SIGTERM');
      const timer = setTimeout(() => proc.child.kill('SIGKILL'), 15_000);
      await proc.exited;
      clearTimeout(timer);
    },
  };
}

/** Starts the example's custom server (src/server.ts, under tsx) on an ephemeral port. */
export function startCustomServer(env: Env = {}): Promise<RunningServer> {
  return startProcess(['--import', 'tsx', 'src/server.ts'], env, /ready: (http:\/\/\S+)/);
}

/** Starts test/naive-server.ts: the hub attached next to Next.js's own upgrade listener. */
export function startNaiveServer(env: Env = {}): Promise<RunningServer> {
  return startProcess(['--import', 'tsx', 'test/naive-server.ts'], env, /ready: (http:\/\/\S+)/);
}

/** Starts plain `next start`: Next.js without the custom server, so without a hub. */
export function startPlainNext(): Promise<RunningServer> {
  return startProcess(
    ['node_modules/next/dist/bin/next', 'start', '-p', '0', '-H', '127.0.0.1'],
    {},
    /Local:\s+(http:\/\/\S+)/,
  );
}

/** Signs in through the demo's INSECURE login route and returns the token. */
export async function login(base: string, userId: string): Promise<string> {
  const res = await fetch(`${base}/api/demo/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: userId }),
  });
  if (!res.ok) throw new Error(`login answered ${res.status}`);
  return ((await res.json()) as { data: { token: string } }).data.token;
}

/** A server frame, loosely typed for assertions. */
export type Frame = { type: string; [key: string]: unknown };

/** A `ws` client that records every frame and how the socket closed. */
export interface RecordingSocket {
  readonly ws: WebSocket;
  readonly frames: Frame[];
  /** The close code, once closed. */
  readonly closeCode: () => number | undefined;
  /** Resolves with the first frame that matches, or rejects after `ms` (and says what arrived). */
  waitFor(match: (frame: Frame) => boolean, ms?: number): Promise<Frame>;
  /** Resolves with the close code, or rejects after `ms`. */
  closed(ms?: number): Promise<number>;
  send(frame: object): void;
}

/** Opens a WebSocket with `Authorization: Bearer <token>`. */
export function openSocket(url: string, token: string): RecordingSocket {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  const frames: Frame[] = [];
  let closeCode: number | undefined;
  const changed = new Set<() => void>();
  const notify = () => {
    for (const fn of changed) fn();
  };
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)) as Frame);
    notify();
  });
  ws.on('close', (code) => {
    closeCode = code;
    notify();
  });
  ws.on('error', () => {});

  /** Resolves with `value()` once defined; rejects after `ms`, or at once when `hopeless()`. */
  const until = <T>(value: () => T | undefined, ms: number, what: string, hopeless = () => false): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const describe = () => `frames: ${JSON.stringify(frames.map((f) => f.type))}, close code: ${closeCode}`;
      const finish = () => {
        changed.delete(check);
        clearTimeout(timer);
      };
      const check = () => {
        const v = value();
        if (v !== undefined) {
          finish();
          resolve(v);
        } else if (hopeless()) {
          finish();
          reject(new Error(`${what}: the socket closed first; ${describe()}`));
        }
      };
      const timer = setTimeout(() => {
        changed.delete(check);
        reject(new Error(`${what} within ${ms} ms; ${describe()}`));
      }, ms);
      changed.add(check);
      check();
    });

  return {
    ws,
    frames,
    closeCode: () => closeCode,
    waitFor: (match, ms = 15_000) =>
      until(
        () => frames.find(match),
        ms,
        'no matching frame',
        () => closeCode !== undefined,
      ),
    closed: (ms = 15_000) => until(() => closeCode, ms, 'socket not closed'),
    send: (frame) => ws.send(JSON.stringify(frame)),
  };
}
