import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@wardcast/protocol/kinds': fileURLToPath(new URL('./packages/protocol/src/kinds.ts', import.meta.url)),
      '@wardcast/protocol': src('protocol'),
      '@wardcast/server': src('server'),
      '@wardcast/client/react': fileURLToPath(new URL('./packages/client/src/react.ts', import.meta.url)),
      '@wardcast/client': src('client'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    typecheck: { enabled: true, include: ['packages/*/test/**/*.test-d.ts'] },
  },
});
