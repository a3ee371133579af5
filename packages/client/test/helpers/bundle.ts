import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** The client core's entry. */
export const CLIENT_ENTRY = here('../../src/index.ts');
/** `@wardcast/protocol` from source, as the tests use it (its dist may be stale). */
const PROTOCOL_ENTRY = here('../../../protocol/src/index.ts');
const PROTOCOL_LEAN_ENTRY = here('../../../protocol/src/lean.ts');

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
    alias: { '@wardcast/protocol/lean': PROTOCOL_LEAN_ENTRY, '@wardcast/protocol': PROTOCOL_ENTRY },
    ...(globalName === undefined ? {} : { globalName }),
    logLevel: 'silent',
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no output');
  return file.text;
}
