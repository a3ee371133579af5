import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * `@wardcast/server` has several entries (`.`, `/assessment`, `/llm`, `/llm/openai`, ...). If two
 * entries each bundled their own copy of a class, `err instanceof LlmError` would be false for an
 * error thrown by the other entry (the CJS build has no shared chunks unless asked). Every class
 * the sources declare must be defined in exactly one built file per format.
 */
const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(pkg, 'dist');

function files(dir: string, ext: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith(ext))
    .map((d) => join(d.parentPath, d.name));
}

function declaredClasses(): string[] {
  const names = new Set<string>();
  for (const file of files(join(pkg, 'src'), '.ts')) {
    for (const m of readFileSync(file, 'utf8').matchAll(/^export (?:abstract )?class (\w+)/gm))
      names.add(m[1] as string);
  }
  return [...names].sort();
}

describe.skipIf(!existsSync(dist))('@wardcast/server entries share one copy of each class', () => {
  const classes = declaredClasses();

  it('finds the classes to check', () => {
    expect(classes).toEqual(expect.arrayContaining(['LlmError', 'NotificationHub', 'AssessmentBusyError']));
  });

  for (const ext of ['.js', '.cjs']) {
    it(`defines each class once in the ${ext} build`, () => {
      const sources = files(dist, ext).map((f) => ({ f, text: readFileSync(f, 'utf8') }));
      const copies: Record<string, string[]> = {};
      for (const name of classes) {
        const pattern = new RegExp(`\\b(?:${name}\\d* = class\\b|class ${name}\\d*\\b)`);
        copies[name] = sources.filter((s) => pattern.test(s.text)).map((s) => s.f.slice(dist.length + 1));
      }
      const duplicated = Object.entries(copies).filter(([, where]) => where.length > 1);
      expect(duplicated).toEqual([]);
      expect(copies.LlmError).toHaveLength(1);
    });
  }
});
