import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * What a registry page needs from each publishable package: license, repository (with the
 * package's folder), homepage, bugs, keywords, Node engines, the README and LICENSE in `files`,
 * and README links that still work when the README is rendered outside the repository.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const REPO = 'https://github.com/wardcast/wardcast';

interface Manifest {
  name: string;
  private?: boolean;
  license?: string;
  repository?: { type?: string; url?: string; directory?: string };
  homepage?: string;
  bugs?: { url?: string };
  keywords?: string[];
  engines?: { node?: string };
  files?: string[];
}

const packages = readdirSync(join(root, 'packages')).filter((d) =>
  existsSync(join(root, 'packages', d, 'package.json')),
);

/** Targets of the Markdown links `[text](target)` in a document. */
function links(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string);
}

describe('package manifests and READMEs are ready for the registry', () => {
  it('checks every package', () => {
    expect(packages.sort()).toEqual(['cli', 'client', 'postgres', 'protocol', 'redis', 'server']);
  });

  for (const dir of packages) {
    const manifest = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as Manifest;

    it(`${manifest.name}: license, repository, homepage, bugs, keywords, engines, files`, () => {
      expect(manifest.private).not.toBe(true);
      expect(manifest.license).toBe('MIT');
      expect(existsSync(join(root, 'packages', dir, 'LICENSE'))).toBe(true);
      expect(manifest.repository).toEqual({ type: 'git', url: `git+${REPO}.git`, directory: `packages/${dir}` });
      expect(manifest.homepage).toBe(`${REPO}/tree/main/packages/${dir}#readme`);
      expect(manifest.bugs?.url).toBe(`${REPO}/issues`);
      expect(manifest.keywords?.length ?? 0).toBeGreaterThanOrEqual(3);
      expect(manifest.engines?.node).toBe('>=20');
      expect(manifest.files).toEqual(expect.arrayContaining(['dist', 'README.md', 'LICENSE']));
    });

    it(`${manifest.name}: README links are absolute and point at files that exist`, () => {
      const readme = readFileSync(join(root, 'packages', dir, 'README.md'), 'utf8');
      const targets = links(readme);
      const relative = targets.filter((t) => !/^https?:\/\//.test(t) && !t.startsWith('#'));
      expect(relative, 'relative links break on the registry page').toEqual([]);
      for (const target of targets) {
        const inRepo = target.match(/^https:\/\/github\.com\/wardcast\/wardcast\/(?:blob|tree)\/main\/([^#?]+)/);
        if (inRepo) expect(existsSync(join(root, inRepo[1] as string)), target).toBe(true);
      }
    });
  }
});
