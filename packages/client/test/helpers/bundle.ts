import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** The client core's entry. */
export const CLIENT_ENTRY = here('../../src/index.ts');
/** `@wardcast/protocol` from source, as the tests use it (its dist may be stale). */
const PROTOCOL_ENTRY = here('../../../protocol/src/index.ts');
const PROTOCOL_LEAN_ENTRY = here('../../../protocol/src/lean.ts');
const ALIAS = { '@wardcast/protocol/lean': PROTOCOL_LEAN_ENTRY, '@wardcast/protocol': PROTOCOL_ENTRY };

/**
 * Bundles the client core for the browser as one minified file with every dependency inside,
 * the way an app's bundler would ship it.
 */
export async function bundleClient(format: 'esm' | 'iife', globalName?: string): Promise<string> {
  const result = await build({
    entryPoints: [CLIENT_ENTRY],
    bundle: true,
    format,
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    legalComments: 'none',
    alias: ALIAS,
    ...(globalName === undefined ? {} : { globalName }),
    logLevel: 'silent',
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no output');
  return file.text;
}

/**
 * Bundles `exports` (a module's source of `export ... from '<absolute path>'` lines) for the
 * browser as one minified ES module, the protocol from source, as {@link bundleClient} does.
 */
export async function bundleModule(exports: string): Promise<string> {
  const result = await build({
    stdin: { contents: exports, resolveDir: here('.'), loader: 'ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    alias: ALIAS,
    logLevel: 'silent',
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no output');
  return file.text;
}
