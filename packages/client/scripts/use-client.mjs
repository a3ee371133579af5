// Prepends 'use client' to the React entry builds: bundlers drop module-level directives, and
// Next.js needs it first in the file that exports hooks.
import { readFileSync, writeFileSync } from 'node:fs';

for (const file of ['dist/react.js', 'dist/react.cjs']) {
  const text = readFileSync(file, 'utf8');
  if (!text.startsWith("'use client'")) writeFileSync(file, `'use client';\n${text}`);
}
