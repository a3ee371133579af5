import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { defineConfig } from 'tsup';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default defineConfig({
  // `index` is the programmatic API (ESM and CJS); `bin` the executable, shipped as ESM only.
  entry: { index: 'src/index.ts', bin: 'src/bin.ts' },
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts' } },
  clean: true,
  sourcemap: true,
  target: 'es2022',
  platform: 'node',
  define: { __WARDCAST_CLI_VERSION__: JSON.stringify(version) },
  // One config builds both entries (two configs would clean the same folder concurrently); the
  // CommonJS copy of the executable is not shipped.
  onSuccess: async () => {
    await Promise.all(['dist/bin.cjs', 'dist/bin.cjs.map'].map((f) => rm(f, { force: true })));
  },
});
