/**
 * Docs snippets (docs/snippets.md): every ```ts / ```tsx block of README.md, docs/*.md and the
 * package and example READMEs is type-checked (one program for all), and the `run` ones are
 * executed with tsx against the sources.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createNotificationClient } from '@wardcast/client';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  collectSnippets,
  markdownFiles,
  markerProblems,
  OUT_DIR,
  ROOT,
  type Snippet,
  writeSnippets,
} from '../snippets/extract.js';

const snippets = writeSnippets(collectSnippets());
const files = [...new Set(snippets.map((s) => s.file))];
const bySource = new Map(snippets.map((s) => [ts.sys.resolvePath(s.path), s]));

/** `docs/server.md:123 TS2304 Cannot find name 'hub'.` for a snippet; `path:line ...` for another file. */
function format(d: ts.Diagnostic): { snippet: Snippet | undefined; text: string } {
  const message = ts.flattenDiagnosticMessageText(d.messageText, '\n    ');
  if (!d.file) return { snippet: undefined, text: `TS${d.code} ${message}` };
  const line = d.start === undefined ? 0 : d.file.getLineAndCharacterOfPosition(d.start).line;
  const snippet = bySource.get(ts.sys.resolvePath(d.file.fileName));
  const where = snippet
    ? `${snippet.file}:${snippet.line + 1 + line}`
    : `${relative(ROOT, d.file.fileName)}:${line + 1}`;
  return { snippet, text: `${where} TS${d.code} ${message}` };
}

/** One program for every snippet; fragments only have to parse. */
let byFile: Map<string, string[]>;
let elsewhere: string[];
beforeAll(() => {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(OUT_DIR, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error('no tsconfig for the snippets');
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
  const diagnostics = [...config.errors, ...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
  for (const source of program.getSourceFiles()) {
    const snippet = bySource.get(ts.sys.resolvePath(source.fileName));
    diagnostics.push(...program.getSyntacticDiagnostics(source));
    if (snippet?.marker !== 'fragment') diagnostics.push(...program.getSemanticDiagnostics(source));
  }
  byFile = new Map();
  elsewhere = [];
  for (const d of diagnostics) {
    const { snippet, text } = format(d);
    if (snippet) byFile.set(snippet.file, [...(byFile.get(snippet.file) ?? []), text]);
    else elsewhere.push(text);
  }
}, 180_000);

describe('docs snippets', () => {
  it('are found, with valid markers', () => {
    expect(snippets.length).toBeGreaterThan(50);
    const problems = markdownFiles().flatMap((file) => markerProblems(file, readFileSync(join(ROOT, file), 'utf8')));
    expect(problems).toEqual([]);
  });

  it('placeholders, local stubs and the sources they reach type-check', () => {
    expect(elsewhere).toEqual([]);
  });

  it.each(files)('%s type-checks', (file) => {
    expect(byFile.get(file) ?? []).toEqual([]);
  });
});

// ---- The quick starts that run -------------------------------------------------------------

const WebSocket = createRequire(join(ROOT, 'packages/client/package.json'))('ws');
const tsxLoader = pathToFileURL(createRequire(join(ROOT, 'examples/express/package.json')).resolve('tsx')).href;
const DEADLINE_MS = 60_000;

interface Running {
  child: ChildProcess;
  output: () => string;
  /** Resolves once the snippet's module was evaluated; rejects if the process ends first. */
  evaluated: Promise<void>;
  ports: number[];
}

function start(snippet: Snippet): Running {
  const child = spawn(process.execPath, ['--import', tsxLoader, join(OUT_DIR, 'runner.ts'), snippet.path], {
    cwd: OUT_DIR,
    env: { ...process.env, TSX_TSCONFIG_PATH: join(OUT_DIR, 'tsconfig.json'), NODE_ENV: 'development' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const ports: number[] = [];
  const evaluated = new Promise<void>((resolve, reject) => {
    child.on('message', (m: { type: string; port?: number }) => {
      if (m.type === 'listening' && m.port !== undefined) ports.push(m.port);
      if (m.type === 'evaluated') resolve();
    });
    child.on('exit', (code, signal) => reject(new Error(`exited (${code ?? signal}) before its end:\n${output}`)));
  });
  evaluated.catch(() => {});
  return { child, output: () => output, evaluated, ports };
}

async function stop(run: Running): Promise<void> {
  if (run.child.exitCode !== null || run.child.signalCode !== null) return;
  const exited = new Promise((resolve) => run.child.once('exit', resolve));
  run.child.kill('SIGTERM');
  const timer = setTimeout(() => run.child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function within<T>(promise: Promise<T>, what: string, run: Running): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out: ${what}\n${run.output()}`)), DEADLINE_MS);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** Connects as `user`, subscribed to `user:<user>`; resolves once subscribed (presence arrives). */
async function connect(port: number, user: string) {
  const client = createNotificationClient<{ custom: { title: string; message: string } }>({
    url: `ws://127.0.0.1:${port}/v1/ws/notifications`,
    token: `dev:${user}`,
    topics: [],
    WebSocket,
  });
  const subscribed = new Promise<void>((resolve, reject) => {
    client.on('presence', ({ members }) => members.includes(user) && resolve());
    client.on('status', (s) => s.state === 'closed' && reject(new Error(`client closed: ${JSON.stringify(s)}`)));
  });
  client.subscribe(`user:${user}`, { presence: true });
  await subscribed;
  return client;
}

/** Extra checks of `<!-- snippet: run <probe> -->`, after the module was evaluated. */
const probes: Record<string, (run: Running) => Promise<void>> = {
  /** getting-started.md: a test notification sent over HTTP reaches the user's socket. */
  'test-notification': async (run) => {
    const port = run.ports[0];
    if (port === undefined) throw new Error('the snippet listened on no port');
    const client = await connect(port, 'alice');
    try {
      const received = new Promise<{ title: string; message: string }>((resolve) =>
        client.on('notification', (n) => n.kind === 'custom' && resolve(n.payload)),
      );
      const res = await fetch(`http://127.0.0.1:${port}/v1/ws/test-notification`, {
        method: 'POST',
        headers: { authorization: 'Bearer dev:alice', 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'Hello', message: 'from the docs test' }),
      });
      expect(res.status).toBe(200);
      expect(await received).toEqual({ title: 'Hello', message: 'from the docs test' });
    } finally {
      client.close();
    }
  },
};

const runnable = snippets.filter((s) => s.marker === 'run');

describe('docs snippets that run', () => {
  it('there are some', () => {
    expect(runnable.length).toBeGreaterThan(0);
    for (const s of runnable) if (s.probe !== undefined) expect(Object.keys(probes)).toContain(s.probe);
  });

  it.each(runnable.map((s) => [`${s.file}:${s.line}`, s] as const))(
    '%s runs',
    async (_name, snippet) => {
      const run = start(snippet);
      try {
        await within(run.evaluated, 'the snippet did not finish its top level', run);
        // A server it started takes a socket as user u1 (the placeholders accept `dev:<id>`).
        for (const port of run.ports) {
          if (snippet.probe !== undefined) break;
          const client = await within(connect(port, 'u1'), `a client connecting on ${port}`, run);
          client.close();
        }
        const probe = snippet.probe === undefined ? undefined : probes[snippet.probe];
        if (probe) await within(probe(run), `probe ${snippet.probe}`, run);
        // Still running (a server), or ended by itself without an error.
        expect(run.child.exitCode ?? 0, run.output()).toBe(0);
      } finally {
        await stop(run);
      }
    },
    DEADLINE_MS * 3,
  );
});
