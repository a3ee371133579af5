import { fileURLToPath } from 'node:url';

/** Where `build-web.ts` writes the page script by default, and where the server looks for it. */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../dist/web', import.meta.url));
