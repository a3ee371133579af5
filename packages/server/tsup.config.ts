import { defineConfig } from 'tsup';

export default defineConfig({
  entry: [
    'src/index.ts',
    // Assessment pipeline and its HTTP endpoints (imports the LLM layer's contract).
    'src/assessment/index.ts',
    // LLM adapters: one entry per vendor SDK (optional peers), never imported by the main entry.
    'src/llm/index.ts',
    'src/llm/openai.ts',
    'src/llm/gemini.ts',
    'src/llm/ai-sdk.ts',
    // Token helper: needs `jose` (an optional peer), never imported by the main entry.
    'src/jwt/index.ts',
    // Building blocks for backplane authors (@wardcast/redis, @wardcast/postgres), never imported by the main entry.
    'src/backplane/index.ts',
  ],
  format: ['esm', 'cjs'],
  // Shared chunks in both formats: a class such as `LlmError` or `WardcastError` exists once, so
  // `instanceof` works across entries (`/assessment` and `/llm`) under CJS as well as ESM.
  splitting: true,
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
});
