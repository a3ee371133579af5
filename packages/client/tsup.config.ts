import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/react.ts', 'src/sse.ts', 'src/shared.ts'],
  format: ['esm', 'cjs'],
  // The CJS build of `./react` then requires the core's chunk instead of carrying its own copy of the client.
  splitting: true,
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  external: ['react'],
  // Bundlers drop module-level directives; this puts 'use client' back at the top of the React entry.
  onSuccess: 'node scripts/use-client.mjs',
});
