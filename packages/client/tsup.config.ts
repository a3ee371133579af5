import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/react.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  external: ['react'],
  // Bundlers drop module-level directives; this puts 'use client' back at the top of the React entry.
  onSuccess: 'node scripts/use-client.mjs',
});
