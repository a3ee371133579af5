import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@wardcast/protocol/kinds': fileURLToPath(new URL('./packages/protocol/src/kinds.ts', import.meta.url)),
      '@wardcast/protocol/lean': fileURLToPath(new URL('./packages/protocol/src/lean.ts', import.meta.url)),
      '@wardcast/protocol': src('protocol'),
      // Subpaths before the package itself: aliases match by prefix.
      '@wardcast/server/llm/openai': fileURLToPath(new URL('./packages/server/src/llm/openai.ts', import.meta.url)),
      '@wardcast/server/llm/gemini': fileURLToPath(new URL('./packages/server/src/llm/gemini.ts', import.meta.url)),
      '@wardcast/server/llm/ai-sdk': fileURLToPath(new URL('./packages/server/src/llm/ai-sdk.ts', import.meta.url)),
      '@wardcast/server/llm': fileURLToPath(new URL('./packages/server/src/llm/index.ts', import.meta.url)),
      '@wardcast/server/assessment': fileURLToPath(
        new URL('./packages/server/src/assessment/index.ts', import.meta.url),
      ),
      '@wardcast/server/jwt': fileURLToPath(new URL('./packages/server/src/jwt/index.ts', import.meta.url)),
      '@wardcast/server/backplane': fileURLToPath(new URL('./packages/server/src/backplane/index.ts', import.meta.url)),
      '@wardcast/server': src('server'),
      '@wardcast/client/react': fileURLToPath(new URL('./packages/client/src/react.ts', import.meta.url)),
      '@wardcast/client/sse': fileURLToPath(new URL('./packages/client/src/sse.ts', import.meta.url)),
      '@wardcast/client/shared': fileURLToPath(new URL('./packages/client/src/shared.ts', import.meta.url)),
      '@wardcast/client': src('client'),
      '@wardcast/postgres': src('postgres'),
      '@wardcast/redis': src('redis'),
    },
  },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
      'docs/test/**/*.test.ts',
      'conformance/**/*.test.ts',
    ],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    typecheck: { enabled: true, include: ['packages/*/test/**/*.test-d.ts'] },
  },
});
