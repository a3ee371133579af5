/**
 * Docs snippets: finds the TypeScript blocks of the repository's Markdown and writes each one as
 * a module into a git-ignored directory, with a tsconfig that resolves `@wardcast/*` to the
 * sources and third-party packages from the workspace packages' node_modules. Used by
 * docs/test/snippets.test.ts (see docs/snippets.md).
 */
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Where the snippets are written (git-ignored). */
export const OUT_DIR = join(ROOT, 'docs/.snippets');

/** Declarations (types) and values (for the snippets that run) of the docs' placeholders, and the runner. */
export const PLACEHOLDER_FILES = ['globals.d.ts', 'placeholders.ts', 'runner.ts'];

export type SnippetMarker = 'fragment' | 'run';

export interface Snippet {
  /** Markdown file, relative to the root, with `/`. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: 'ts' | 'tsx';
  code: string;
  /** From `<!-- snippet: fragment -->` / `<!-- snippet: run [probe] -->` on the line before the fence. */
  marker: SnippetMarker | undefined;
  /** The word after `run`, naming an extra check of the test (e.g. `test-notification`). */
  probe: string | undefined;
  /** Module path of the written snippet, absolute (set by {@link writeSnippets}). */
  path: string;
}

const LANGS: Record<string, 'ts' | 'tsx'> = { ts: 'ts', typescript: 'ts', tsx: 'tsx' };
const MARKER = /^<!--\s*snippet:\s*(fragment|run)(?:\s+([a-z0-9-]+))?\s*-->$/;

/** The Markdown files whose TypeScript blocks are checked, relative to the root. */
export function markdownFiles(root = ROOT): string[] {
  const files = ['README.md'];
  const list = (dir: string) =>
    existsSync(join(root, dir))
      ? readdirSync(join(root, dir))
          .filter((f) => f.endsWith('.md'))
          .sort()
          .map((f) => `${dir}/${f}`)
      : [];
  files.push(...list('docs'));
  for (const group of ['packages', 'examples']) {
    for (const name of readdirSync(join(root, group)).sort()) {
      if (existsSync(join(root, group, name, 'README.md'))) files.push(`${group}/${name}/README.md`);
    }
  }
  return files;
}

/** The fenced ```ts / ```tsx / ```typescript blocks of one Markdown text. */
export function extractSnippets(file: string, markdown: string): Snippet[] {
  const lines = markdown.split(/\r?\n/);
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([A-Za-z]*)\b.*$/.exec(lines[i] ?? '');
    if (!open) continue;
    const [, indent = '', fence = '```', info = ''] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const text = lines[j] ?? '';
      if (text.trim().startsWith(fence) && text.trim().replace(/[`~]/g, '') === '') break;
      body.push(text.startsWith(indent) ? text.slice(indent.length) : text.trimStart());
    }
    const lang = LANGS[info.toLowerCase()];
    if (lang) {
      let k = i - 1;
      while (k >= 0 && (lines[k] ?? '').trim() === '') k--;
      const marker = MARKER.exec((lines[k] ?? '').trim());
      snippets.push({
        file,
        line: i + 1,
        lang,
        code: body.join('\n'),
        marker: marker?.[1] as SnippetMarker | undefined,
        probe: marker?.[2],
        path: '',
      });
    }
    i = j;
  }
  return snippets;
}

/**
 * Markers that would be silently ignored: a misspelt `<!-- snippet: ... -->`, or one that is not
 * right before a TypeScript block. As `file:line message`.
 */
export function markerProblems(file: string, markdown: string): string[] {
  const lines = markdown.split(/\r?\n/);
  const problems: string[] = [];
  lines.forEach((text, i) => {
    if (!/^\s*<!--\s*snippet\b/.test(text)) return;
    if (!MARKER.test(text.trim())) {
      problems.push(`${file}:${i + 1} unknown marker ${text.trim()}`);
      return;
    }
    let k = i + 1;
    while (k < lines.length && (lines[k] ?? '').trim() === '') k++;
    const fence = /^\s*(?:`{3,}|~{3,})\s*([A-Za-z]*)/.exec(lines[k] ?? '');
    if (!fence || !LANGS[(fence[1] ?? '').toLowerCase()]) {
      problems.push(`${file}:${i + 1} marker not followed by a ts/tsx block`);
    }
  });
  return problems;
}

/** Every snippet of {@link markdownFiles}. */
export function collectSnippets(root = ROOT): Snippet[] {
  return markdownFiles(root).flatMap((file) => extractSnippets(file, readFileSync(join(root, file), 'utf8')));
}

/**
 * The tsconfig of the snippets: the root one (so `@wardcast/*` are the sources, for tsc and
 * tsx alike), without declaration emit and unused-variable checks.
 */
export function snippetTsconfig(root = ROOT, outDir = OUT_DIR): object {
  return {
    extends: `${relative(outDir, root).split('\\').join('/') || '.'}/tsconfig.json`,
    compilerOptions: {
      declaration: false,
      // Snippets declare values they only show, and imports a reader may copy.
      noUnusedLocals: false,
      noUnusedParameters: false,
    },
    include: ['**/*.ts', '**/*.tsx'],
    exclude: ['node_modules'],
  };
}

/**
 * Links the third-party packages the workspace packages and examples install (`express`,
 * `react`, `pg`, `ioredis`, `next`, `ws` and their `@types`) into `<outDir>/node_modules`, so
 * a snippet imports them as a user's app would, for tsc and at runtime alike, while the root
 * installs none of them. The first package that installs a name wins.
 */
export function linkThirdPartyPackages(outDir = OUT_DIR, root = ROOT): string[] {
  const linked = new Map<string, string>();
  for (const group of ['packages', 'examples']) {
    for (const name of readdirSync(join(root, group)).sort()) {
      const modules = join(root, group, name, 'node_modules');
      if (!existsSync(modules)) continue;
      for (const entry of readdirSync(modules).sort()) {
        if (entry.startsWith('.') || entry === '@wardcast') continue;
        const names = entry.startsWith('@')
          ? readdirSync(join(modules, entry))
              .sort()
              .map((scoped) => `${entry}/${scoped}`)
          : [entry];
        for (const pkg of names) if (!linked.has(pkg)) linked.set(pkg, join(modules, pkg));
      }
    }
  }
  for (const [pkg, target] of linked) {
    const link = join(outDir, 'node_modules', pkg);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(realpathSync(target), link, 'dir');
  }
  return [...linked.keys()];
}

const NAMED = /^\/\/ ((?:[\w.@[\]-]+\/)*[\w.@[\]-]+\.tsx?)(?:\s|$)/;

/** The directory of one Markdown file's snippets: `docs/server.md` -> `docs_server_md`. */
export function projectDir(file: string): string {
  return file.replace(/[/.]/g, '_');
}

/**
 * Where a snippet is written, relative to its project directory: the path its first comment
 * names (`// auth.ts`, `// src/wardcast/global.ts (shortened)`, after an optional
 * `'use client'`), so that the other snippets of the file import it as `./auth.js`; else
 * `L<line>.ts`.
 */
export function snippetModule(s: Pick<Snippet, 'code' | 'line' | 'lang'>, taken: ReadonlySet<string>): string {
  const first = s.code.split('\n', 3).filter((l) => !/^\s*$|^['"]use (client|server)['"];?$/.test(l));
  const named = NAMED.exec(first[0] ?? '')?.[1];
  if (named && !named.startsWith('../') && !taken.has(named)) return named;
  return `L${s.line}.${s.lang}`;
}

/**
 * Writes every snippet (fragments included, for inspection) into {@link OUT_DIR}: one project
 * directory per Markdown file, one module per snippet (`export {}` is appended so that each has
 * its own scope and may use top-level await), the "yours" modules of docs/snippets/local, the
 * placeholders, the tsconfig and the node_modules links. Returns the snippets with their `path`.
 */
export function writeSnippets(snippets: Snippet[], outDir = OUT_DIR, root = ROOT): Snippet[] {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'tsconfig.json'), `${JSON.stringify(snippetTsconfig(root, outDir), null, 2)}\n`);
  linkThirdPartyPackages(outDir, root);
  // The placeholders are copied next to the snippets, so that their imports resolve the same way.
  for (const file of PLACEHOLDER_FILES) copyFileSync(join(root, 'docs/snippets', file), join(outDir, file));
  const taken = new Map<string, Set<string>>();
  const written = snippets.map((s) => {
    const project = projectDir(s.file);
    const names = taken.get(project) ?? new Set<string>();
    taken.set(project, names);
    const module = snippetModule(s, names);
    names.add(module);
    const path = join(outDir, project, module);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${s.code}\nexport {};\n`);
    return { ...s, path };
  });
  // The app's own modules the snippets of a file import ("yours": `./sessions.js`), where no
  // snippet is that module: docs/snippets/local/<project>.
  for (const project of taken.keys()) {
    const local = join(root, 'docs/snippets/local', project);
    if (existsSync(local)) cpSync(local, join(outDir, project), { recursive: true, force: false });
  }
  return written;
}
