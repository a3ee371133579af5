import { describe, expect, it } from 'vitest';
import { TaskChain } from '../src/core/task-chain.js';

/**
 * The per-connection task chain: tasks run one at a time in the order they were queued, a task
 * queued while nothing runs runs at once, and a task queued from inside a running task (an event
 * listener of a frame handler, say) waits for that task, whether it finishes synchronously or not.
 */

function chainWithLog() {
  const log: string[] = [];
  const failures: unknown[] = [];
  const chain = new TaskChain({ taskFailed: (cause) => failures.push(cause) });
  return { chain, log, failures };
}

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe('TaskChain', () => {
  it('runs a task queued while nothing runs at once, before enqueue returns', () => {
    const { chain, log } = chainWithLog();
    chain.enqueue(() => {
      log.push('a');
    });
    expect(log).toEqual(['a']);
    chain.enqueue(() => {
      log.push('b');
    });
    expect(log).toEqual(['a', 'b']);
  });

  it('makes a task queued from inside a synchronous task wait until that task returned', async () => {
    const { chain, log } = chainWithLog();
    const done = chain.enqueue(() => {
      log.push('outer start');
      void chain.enqueue(() => {
        log.push('inner');
      });
      log.push('outer end');
    });
    expect(log).toEqual(['outer start', 'outer end']);
    await done;
    await chain.enqueue(() => {
      log.push('after');
    });
    expect(log).toEqual(['outer start', 'outer end', 'inner', 'after']);
  });

  it('makes a task queued from inside an asynchronous task wait until its promise settled', async () => {
    const { chain, log } = chainWithLog();
    const first = gate();
    const outer = chain.enqueue(() => {
      log.push('outer start');
      void chain.enqueue(() => {
        log.push('inner');
      });
      return first.promise.then(() => {
        log.push('outer end');
      });
    });
    // Several microtask turns: nothing after the outer task may run while its promise is pending.
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(log).toEqual(['outer start']);
    first.open();
    await outer;
    await chain.enqueue(() => {});
    expect(log).toEqual(['outer start', 'outer end', 'inner']);
  });

  it('keeps the order of tasks queued behind a pending one, sync and async alike', async () => {
    const { chain, log } = chainWithLog();
    const first = gate();
    void chain.enqueue(() => first.promise.then(() => log.push('1')).then(() => {}));
    void chain.enqueue(() => {
      log.push('2');
    });
    void chain.enqueue(async () => {
      await Promise.resolve();
      log.push('3');
    });
    const last = chain.enqueue(() => {
      log.push('4');
    });
    expect(log).toEqual([]);
    first.open();
    await last;
    expect(log).toEqual(['1', '2', '3', '4']);
  });

  it('reports a task that throws or rejects to its owner and runs the next ones', async () => {
    const { chain, log, failures } = chainWithLog();
    const thrown = new Error('thrown');
    const rejected = new Error('rejected');
    await chain.enqueue(() => {
      throw thrown;
    });
    const pending = gate();
    void chain.enqueue(() => pending.promise.then(() => Promise.reject(rejected)));
    const next = chain.enqueue(() => {
      log.push('next');
    });
    pending.open();
    await next;
    expect(failures).toEqual([thrown, rejected]);
    expect(log).toEqual(['next']);
    // Drained again: the next task runs at once.
    chain.enqueue(() => {
      log.push('at once');
    });
    expect(log).toEqual(['next', 'at once']);
  });

  it('runNow runs the first task of a fresh chain at once and queues the ones it starts behind it', async () => {
    const { chain, log } = chainWithLog();
    const started = gate();
    const first = chain.runNow(() => {
      log.push('start');
      void chain.enqueue(() => {
        log.push('frame');
      });
      return started.promise.then(() => {
        log.push('started');
      });
    });
    expect(log).toEqual(['start']);
    started.open();
    await first;
    await chain.enqueue(() => {});
    expect(log).toEqual(['start', 'started', 'frame']);
  });
});
