import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
const VENDOR_SDKS = ['openai', '@google/genai', 'ai'];

/** Every bare module specifier reachable from `entry` through relative imports and re-exports. */
function bareImports(entry: string): Set<string> {
  const seen = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(
      /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
    )) {
      const specifier = match[1] ?? match[2] ?? '';
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else bare.add(specifier);
    }
  };
  visit(entry);
  return bare;
}

describe('entry points', () => {
  it('the main entry and @wardcast/server/llm never import a vendor SDK', () => {
    for (const entry of ['index.ts', 'llm/index.ts']) {
      const imports = bareImports(resolve(SRC, entry));
      for (const sdk of VENDOR_SDKS) expect(imports.has(sdk), `${entry} reaches ${sdk}`).toBe(false);
    }
  });

  it('each vendor subpath imports only its own SDK', () => {
    expect([...bareImports(resolve(SRC, 'llm/openai.ts'))].filter((s) => VENDOR_SDKS.includes(s))).toEqual(['openai']);
    expect([...bareImports(resolve(SRC, 'llm/gemini.ts'))].filter((s) => VENDOR_SDKS.includes(s))).toEqual([
      '@google/genai',
    ]);
    expect([...bareImports(resolve(SRC, 'llm/ai-sdk.ts'))].filter((s) => VENDOR_SDKS.includes(s))).toEqual(['ai']);
  });
});
