import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** `packages/cli`. */
export const CLI_DIR = join(ROOT, 'packages/cli');
/** The executable under test. */
export const BIN = join(CLI_DIR, 'dist/bin.js');

/** Newest modification time of the files under `dir`, ms. */
function newest(dir: string): number {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) max = Math.max(max, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return max;
}

/** Whether `outputs` all exist and are newer than every file in `src` and the package's build config. */
function fresh(pkgDir: string, outputs: readonly string[]): boolean {
  const inputs = Math.max(
    newest(join(pkgDir, 'src')),
    statSync(join(pkgDir, 'tsup.config.ts')).mtimeMs,
    statSync(join(pkgDir, 'package.json')).mtimeMs,
  );
  return outputs.every((f) => existsSync(join(pkgDir, f)) && statSync(join(pkgDir, f)).mtimeMs >= inputs);
}

function run(command: string, args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${stderr}`)),
    );
  });
}

const LOCK = join(tmpdir(), `wardcast-cli-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`);

/** Runs `fn` while holding a lock shared by the test files running in parallel. */
async function locked(fn: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // A lock left by a killed run is stale after 2 minutes.
      if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > 120_000)
        rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`waited 120 s for ${LOCK}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/**
 * Builds `packages/cli` when its `dist` is missing or older than its sources (the root `pnpm test`
 * builds everything first, so this only runs when a single file is run after an edit). The
 * packages it imports at run time must be built already: `npx -y pnpm@10 build`.
 */
export async function ensureBuilt(): Promise<void> {
  for (const dep of ['protocol', 'client']) {
    if (!existsSync(join(ROOT, 'packages', dep, 'dist/index.js'))) {
      throw new Error(`packages/${dep} is not built: run \`npx -y pnpm@10 build\` first`);
    }
  }
  const outputs = ['dist/bin.js', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts'];
  if (fresh(CLI_DIR, outputs)) return;
  await locked(async () => {
    if (!fresh(CLI_DIR, outputs)) await run(join(ROOT, 'node_modules/.bin/tsup'), ['--silent'], CLI_DIR);
  });
}
