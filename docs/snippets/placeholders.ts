/**
 * Values of the placeholders (docs/snippets/globals.d.ts) that the `run` snippets use, for
 * docs/test/snippets.test.ts: a token `dev:<userId>` is user `<userId>`. Loaded before the
 * snippet by docs/snippets/runner.ts.
 */
import { createServer } from 'node:http';
import type { Principal } from '@wardcast/server';
import express from 'express';

async function devUser(credential: string | undefined): Promise<Principal | null> {
  return credential?.startsWith('dev:') ? { userId: credential.slice('dev:'.length) } : null;
}

Object.assign(globalThis, {
  app: express(),
  httpServer: createServer(),
  verify: devUser,
  verifySession: devUser,
  onCareTeam: async () => false,
});
