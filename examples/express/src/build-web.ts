import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { DEFAULT_WEB_DIR } from './paths.js';

const root = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));

/**
 * The packages' built entries are used when they exist (`pnpm build`), as an app would use
 * them; on a clean clone (tests before a build) their sources stand in.
 */
function workspaceAliases(): Record<string, string> {
  if (existsSync(root('packages/client/dist/index.js'))) return {};
  return {
    '@wardcast/client/react': root('packages/client/src/react.ts'),
    '@wardcast/client/sse': root('packages/client/src/sse.ts'),
    '@wardcast/client': root('packages/client/src/index.ts'),
    '@wardcast/protocol/kinds': root('packages/protocol/src/kinds.ts'),
    '@wardcast/protocol/lean': root('packages/protocol/src/lean.ts'),
    '@wardcast/protocol': root('packages/protocol/src/index.ts'),
  };
}

/** Bundles the page (`src/web/main.tsx`, React and `@wardcast/client`) into `<outdir>/app.js`. */
export async function buildWeb(outdir: string = DEFAULT_WEB_DIR): Promise<void> {
  await build({
    entryPoints: { app: fileURLToPath(new URL('./web/main.tsx', import.meta.url)) },
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    minify: true,
    sourcemap: true,
    alias: workspaceAliases(),
    define: { 'process.env.NODE_ENV': '"production"' },
    // The React entry's 'use client' directive means nothing in a bundle.
    logOverride: { 'module-level-directive': 'silent' },
    logLevel: 'warning',
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildWeb();
  console.log(`Built the page into ${DEFAULT_WEB_DIR}`);
}
