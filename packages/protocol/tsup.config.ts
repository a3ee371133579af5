import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/kinds.ts', 'src/lean.ts'],
  format: ['esm', 'cjs'],
  // Shared modules (WardcastError, the close and error codes) become chunks in CJS too, so the
  // main entry and `/lean` hand out the same class and `instanceof WardcastError` holds across them.
  splitting: true,
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
});
