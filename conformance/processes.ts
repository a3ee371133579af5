/**
 * Hub instances in their own `node` processes, driven over IPC: the one fixture the conformance
 * suite and the multi-process tests of `@wardcast/redis` and `@wardcast/postgres` start hubs with.
 * Each process runs a fixture module (`fixtures/*.mjs`) on the built packages; the fixture answers
 * `{ type: 'listening', port }` once it listens, `{ type: 'published', req, ... }` for each
 * `{ type: 'publish', req, topic, id, ... }`, and closes its hub on `{ type: 'close' }`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Throws when one of `packages` (folder names under `packages/`) was not built. */
export function assertBuilt(packages: readonly string[]): void {
  const missing = packages
    .map((p) => fileURLToPath(new URL(`../packages/${p}/dist/index.js`, import.meta.url)))
    .filter((p) => !existsSync(p));
  if (missing.length > 0) throw new Error(`build the packages first (pnpm build): missing ${missing.join(', ')}`);
}

/** What a publish through a hub process returned. */
export type PublishReply =
  | { readonly ok: true; readonly seq: number; readonly epoch: string; readonly duplicate: boolean }
  | { readonly ok: false; readonly code: string; readonly message?: string };

/** How to start a {@link HubProcess}. */
export interface HubProcessOptions {
  /** Absolute path of the fixture module the process runs. */
  readonly fixture: string;
  /** Settings the fixture reads (`INSTANCE_ID` is the instance's name). */
  readonly env: Readonly<Record<string, string>>;
  /** How long the process may take to listen. @default 20_000 */
  readonly startTimeoutMs?: number;
  /** How long a graceful close may take before the process is killed. @default 3_000 */
  readonly closeTimeoutMs?: number;
}

/** A hub instance in its own `node` process, driven over IPC. */
export class HubProcess {
  readonly name: string;
  port = 0;
  readonly #child: ChildProcess;
  readonly #closeTimeoutMs: number;
  #next = 0;
  readonly #pending = new Map<number, (reply: PublishReply) => void>();
  #exited = false;

  private constructor(name: string, options: HubProcessOptions) {
    this.name = name;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 3_000;
    this.#child = spawn(process.execPath, [options.fixture], {
      env: { ...process.env, ...options.env, INSTANCE_ID: name },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    // Writing to a process that just died fails with EPIPE: reported through the send callbacks.
    this.#child.on('error', () => {});
    this.#child.on('message', (m: { type: string; req: number } & PublishReply) => {
      if (m.type !== 'published') return;
      this.#pending.get(m.req)?.(m);
      this.#pending.delete(m.req);
    });
    this.#child.once('exit', () => {
      this.#exited = true;
      for (const resolve of this.#pending.values()) resolve({ ok: false, code: 'instance_exited' });
      this.#pending.clear();
    });
  }

  /** Starts an instance; resolves once it listens. */
  static async start(name: string, options: HubProcessOptions): Promise<HubProcess> {
    const instance = new HubProcess(name, options);
    const timeoutMs = options.startTimeoutMs ?? 20_000;
    instance.port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start within ${timeoutMs} ms`)), timeoutMs);
      instance.#child.on('message', (m: { type: string; port: number }) => {
        if (m.type !== 'listening') return;
        clearTimeout(timer);
        resolve(m.port);
      });
      instance.#child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited with ${code} before listening`));
      });
    });
    return instance;
  }

  get alive(): boolean {
    return !this.#exited;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/v1/ws/notifications`;
  }

  /** Publishes through this instance; `extra` adds fields the fixture reads (e.g. `bytes`). */
  publish(topic: string, id: string, extra: Readonly<Record<string, unknown>> = {}): Promise<PublishReply> {
    if (this.#exited) return Promise.resolve({ ok: false, code: 'instance_exited' });
    const req = ++this.#next;
    return new Promise((resolve) => {
      this.#pending.set(req, resolve);
      this.#child.send({ ...extra, type: 'publish', req, topic, id }, (error) => {
        if (!error) return;
        this.#pending.delete(req);
        resolve({ ok: false, code: 'instance_exited' });
      });
    });
  }

  /** `kill -9`: no goodbye to the backplane or to the clients. */
  async kill(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise((r) => this.#child.once('exit', r));
    this.#child.kill('SIGKILL');
    await exited;
  }

  /** Graceful close (hub.close()), killed if it takes longer than `closeTimeoutMs`. */
  async close(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise((r) => this.#child.once('exit', r));
    this.#child.send({ type: 'close' }, (error) => {
      if (error) this.#child.kill('SIGKILL');
    });
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), this.#closeTimeoutMs);
    await exited;
    clearTimeout(timer);
  }
}
