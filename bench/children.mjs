// Forking the server and client children and talking to them: request/response over IPC.
import { execFileSync, fork } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const live = new Set();

/** Whether children can be pinned: `taskset` exists and there are at least two CPUs. */
export const canPin = (() => {
  if (os.cpus().length < 2) return false;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Pins every thread of `pid` to `cpu` (no-op without taskset). */
function pin(pid, cpu) {
  if (!canPin || cpu === undefined) return;
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

/**
 * Forks `file` and returns { child, request(type, fields), once(event) }; `cpu` pins it (and the
 * threads it starts later) to that CPU when taskset exists. `wrapper` runs node under another
 * program (e.g. `['valgrind', '--tool=callgrind']`): the child is then `wrapper... node execArgv... file args...`,
 * with the same pid and IPC channel. `stdout: 'pipe'` gives the parent `child.stdout` to read
 * (e.g. V8's `--trace-opt` lines); by default the child writes to the parent's.
 */
export function spawnChild(file, args = [], execArgv = [], cpu = undefined, wrapper = undefined, stdout = 'inherit') {
  const child = fork(here(file), args, {
    ...(wrapper
      ? { execPath: wrapper[0], execArgv: [...wrapper.slice(1), process.execPath, ...execArgv] }
      : { execArgv }),
    serialization: 'advanced',
    stdio: ['ignore', stdout, 'inherit', 'ipc'],
  });
  pin(child.pid, cpu);
  live.add(child);
  child.on('exit', () => live.delete(child));
  let nextId = 0;
  const pending = new Map();
  const waiters = new Map();
  child.on('message', (msg) => {
    if (msg.event) {
      const w = waiters.get(msg.event);
      waiters.delete(msg.event);
      w?.(msg);
      return;
    }
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (!p) return;
    if (msg.ok) p.resolve(msg);
    else p.reject(new Error(`${file}: ${msg.error}`));
  });
  child.on('exit', (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`${file} exited (${code ?? signal})`));
    pending.clear();
  });
  return {
    child,
    request(type, fields = {}) {
      const id = ++nextId;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ id, type, ...fields });
      });
    },
    /** Resolves with the next `{event}` message of that name. */
    once(event) {
      return new Promise((resolve) => waiters.set(event, resolve));
    },
  };
}

/** Resolves once every child has exited, or after `ms`. */
export function allExited(ms) {
  const exits = [...live].map((child) => new Promise((resolve) => child.once('exit', resolve)));
  return Promise.race([Promise.all(exits), new Promise((resolve) => setTimeout(resolve, ms))]);
}

/** Kills every child still alive (by its own handle), at once. */
export function killAll() {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

/**
 * Bounds a benchmark run: after `ms` it says `what` is still running, kills every child and exits
 * 2; Ctrl-C and SIGTERM kill the children too, and so does the process's exit. Returns the
 * (unref'd) watchdog timer.
 */
export function guardRun(what, ms) {
  const watchdog = setTimeout(() => {
    console.error(`FAIL: ${what} still running after ${ms / 1000} s; killing it`);
    killAll();
    process.exit(2);
  }, ms);
  watchdog.unref();
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      killAll();
      process.exit(130);
    });
  }
  process.on('exit', killAll);
  return watchdog;
}

/**
 * In a child: answers the parent's requests (`spawnChild(...).request(type, fields)`) with
 * `handlers[type](fields)`, and exits when the parent goes away.
 */
export function answerParent(handlers) {
  process.on('message', async (msg) => {
    try {
      process.send({ id: msg.id, ok: true, ...(await handlers[msg.type](msg)) });
    } catch (err) {
      process.send({ id: msg.id, ok: false, error: String(err?.stack ?? err) });
    }
  });
  process.on('disconnect', () => process.exit(0));
}
