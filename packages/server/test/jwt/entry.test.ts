import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
const SPECIFIER = /\b(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g;

/** Package names (not relative paths) imported by `entry` and every module it reaches. */
function packagesReachedFrom(entry: string): Set<string> {
  const files = [resolve(SRC, entry)];
  const visited = new Set<string>();
  const packages = new Set<string>();
  for (let file = files.pop(); file !== undefined; file = files.pop()) {
    if (visited.has(file)) continue;
    visited.add(file);
    for (const [, spec = ''] of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
      if (spec.startsWith('.')) files.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec);
    }
  }
  return packages;
}

describe('the @wardcast/server/jwt entry point', () => {
  it('is the only entry that reaches jose: the main entry and /llm never import it', () => {
    expect(packagesReachedFrom('index.ts').has('jose')).toBe(false);
    expect(packagesReachedFrom('llm/index.ts').has('jose')).toBe(false);
    expect(packagesReachedFrom('jwt/index.ts').has('jose')).toBe(true);
  });

  it('reaches no LLM vendor SDK', () => {
    const reached = packagesReachedFrom('jwt/index.ts');
    for (const sdk of ['openai', '@google/genai', 'ai']) expect(reached.has(sdk)).toBe(false);
  });
});
