import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Every value a package's type declarations export must exist at runtime, in both the ESM and the
 * CJS build: a `.d.ts` that promises `CloseCode` while the module has only `export type` type-checks
 * and then fails in Node, in a bundler (`MISSING_EXPORT`) or gives `undefined` under CJS.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const PACKAGES = ['protocol', 'server', 'client', 'redis', 'postgres', 'cli'];

interface Entry {
  readonly name: string;
  readonly esm: { readonly types: string; readonly file: string };
  readonly cjs: { readonly types: string; readonly file: string };
}

function entries(pkg: string): Entry[] {
  const dir = join(root, 'packages', pkg);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    name: string;
    exports: Record<
      string,
      { import?: { types: string; default: string }; require?: { types: string; default: string } }
    >;
  };
  const out: Entry[] = [];
  for (const [sub, target] of Object.entries(manifest.exports)) {
    if (!target.import || !target.require) continue;
    out.push({
      name: `${manifest.name}${sub === '.' ? '' : sub.slice(1)}`,
      esm: { types: join(dir, target.import.types), file: join(dir, target.import.default) },
      cjs: { types: join(dir, target.require.types), file: join(dir, target.require.default) },
    });
  }
  return out;
}

/** Names the declaration file exports as values (not only as types). */
function valueExports(declarations: string): string[] {
  const program = ts.createProgram([declarations], { noEmit: true, skipLibCheck: true, types: [] });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(declarations);
  const symbol = source && checker.getSymbolAtLocation(source);
  if (!symbol) return [];
  return checker
    .getExportsOfModule(symbol)
    .filter((s) => {
      const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
      return (target.flags & ts.SymbolFlags.Value) !== 0;
    })
    .map((s) => s.getName())
    .sort();
}

const built = PACKAGES.every((p) => existsSync(join(root, 'packages', p, 'dist')));

describe.skipIf(!built && !process.env.CI)('runtime exports of every package entry', () => {
  const require = createRequire(import.meta.url);
  for (const pkg of PACKAGES) {
    for (const entry of entries(pkg)) {
      it(`${entry.name}: every value its .d.ts / .d.cts exports exists in the ESM and the CJS build`, async () => {
        const esmNames = valueExports(entry.esm.types);
        const cjsNames = valueExports(entry.cjs.types);
        expect(esmNames.length).toBeGreaterThan(0);
        const esm = (await import(pathToFileURL(entry.esm.file).href)) as Record<string, unknown>;
        const cjs = require(entry.cjs.file) as Record<string, unknown>;
        expect(esmNames.filter((n) => esm[n] === undefined)).toEqual([]);
        expect(cjsNames.filter((n) => cjs[n] === undefined)).toEqual([]);
      });
    }
  }
});
