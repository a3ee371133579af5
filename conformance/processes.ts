import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('./fixtures/hub.mjs', import.meta.url));
const DISTS = ['server', 'protocol', 'redis', 'postgres'].map((p) =>
  fileURLToPath(new URL(`../packages/${p}/dist/index.js`, import.meta.url)),
);

/** Throws when a package the hub processes import was not built. */
export function assertBuilt(): void {
  const missing = DISTS.filter((p) => !existsSync(p));
  if (missing.length > 0) throw new Error(`build the packages first (pnpm build): missing ${missing.join(', ')}`);
}

/** What a publish through a hub process returned. */
export type PublishReply =
  | { readonly ok: true; readonly seq: number; readonly epoch: string; readonly duplicate: boolean }
  | { readonly ok: false; readonly code: string; readonly message?: string };

/** A hub instance in its own `node` process (conformance/fixtures/hub.mjs), driven over IPC. */
export class HubProcess {
  readonly name: string;
  port = 0;
  readonly #child: ChildProcess;
  #next = 0;
  readonly #pending = new Map<number, (reply: PublishReply) => void>();
  #exited = false;

  private constructor(name: string, env: Record<string, string>) {
    this.name = name;
    this.#child = spawn(process.execPath, [FIXTURE], {
      env: { ...process.env, ...env, INSTANCE_ID: name },
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

  /** Starts an instance with the backplane settings in `env` (see fixtures/hub.mjs). */
  static async start(name: string, env: Record<string, string>): Promise<HubProcess> {
    const instance = new HubProcess(name, env);
    instance.port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start within 20 s`)), 20_000);
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

  publish(topic: string, id: string): Promise<PublishReply> {
    if (this.#exited) return Promise.resolve({ ok: false, code: 'instance_exited' });
    const req = ++this.#next;
    return new Promise((resolve) => {
      this.#pending.set(req, resolve);
      this.#child.send({ type: 'publish', req, topic, id }, (error) => {
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

  /** Graceful close (hub.close()), killed if it takes longer than 3 s. */
  async close(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise((r) => this.#child.once('exit', r));
    this.#child.send({ type: 'close' }, (error) => {
      if (error) this.#child.kill('SIGKILL');
    });
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }
}
