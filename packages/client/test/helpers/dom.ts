/**
 * Installs a jsdom window and document as globals for the file that imports this module first
 * (and removes them after its tests), as Vitest's `jsdom` environment would.
 *
 * Why not `// @vitest-environment jsdom`: Vitest imports `jsdom` from its own install, where pnpm
 * resolved that optional peer to jsdom 31, which needs Node 22 (its undici calls zlib's zstd API)
 * and cannot start on Node 20; and a docblock cannot name a custom environment file. This module
 * uses the jsdom this package depends on (29, which supports Node 20). Node's timers, `http` and
 * `ws` stay what they are, so the same file can run a real hub.
 */
import { JSDOM } from 'jsdom';
import { afterAll } from 'vitest';
import { populateGlobal } from 'vitest/runtime';

const dom = new JSDOM('<!DOCTYPE html><html><body></body></html>', {
  url: 'http://localhost:3000/',
  pretendToBeVisual: true,
});
const globals = globalThis as unknown as Record<string, unknown>;
const { keys, originals } = populateGlobal(globals, dom.window, { bindFunctions: true });

afterAll(() => {
  dom.window.close();
  for (const key of keys) delete globals[key];
  for (const [key, value] of originals) globals[key as string] = value;
});
