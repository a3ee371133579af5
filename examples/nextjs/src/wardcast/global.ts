import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NotificationHub } from '@wardcast/server';
import type { AssessmentPipeline } from '@wardcast/server/assessment';

/**
 * What the custom server (src/server.ts) creates once per process and the route handlers use.
 * Route handlers import this file only: its `@wardcast/server` imports are types, so nothing of
 * the hub is bundled into them, nothing is created at `next build` time, and the handlers share
 * the very objects the server attached to its WebSocket upgrades.
 */
export interface WardcastRuntime {
  readonly hub: NotificationHub;
  readonly pipeline: AssessmentPipeline;
  /** Path of the hub's WebSocket endpoint, outside every app route (see src/server.ts). */
  readonly wsPath: string;
  /**
   * The SSE fallback's endpoints next to the socket (`/v1/sse/notifications`, `createSseNodeHandler`):
   * answers and returns `true` for their paths, `false` for any other (see src/server.ts).
   */
  readonly sse: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** The SDK's endpoints under `/api/v1` (`createFetchHandler` with `basePath: '/api'`). */
  readonly api: (request: Request) => Promise<Response>;
  /** The assessment endpoints under `/api/assess` (`createAssessmentFetchHandler`). */
  readonly assessments: (request: Request) => Promise<Response>;
  /** Closes the pipeline, then the hub. */
  close(): Promise<void>;
}

const KEY = Symbol.for('wardcast.example-nextjs.runtime');
type Holder = typeof globalThis & { [KEY]?: WardcastRuntime };

/**
 * Puts `runtime` on `globalThis`. Next.js bundles route handlers separately from the custom
 * server, so a module-level variable would be a different one in each bundle; `globalThis` is
 * the one place both see in the same process.
 */
export function installWardcast(runtime: WardcastRuntime): void {
  const holder = globalThis as Holder;
  if (holder[KEY] && holder[KEY] !== runtime) throw new Error('a Wardcast runtime is already installed');
  holder[KEY] = runtime;
}

/** Removes the runtime (after `close()`). */
export function uninstallWardcast(): void {
  delete (globalThis as Holder)[KEY];
}

/** The runtime the custom server installed, if any. */
export function getWardcast(): WardcastRuntime | undefined {
  return (globalThis as Holder)[KEY];
}

/**
 * Runs `handle` with the runtime, or answers 503 `hub_not_running` when there is none: under
 * plain `next dev` / `next start` (no custom server, so no WebSocket either), or if a request
 * handler ever ran during `next build`.
 */
export async function withWardcast(handle: (runtime: WardcastRuntime) => Promise<Response>): Promise<Response> {
  const runtime = getWardcast();
  if (runtime) return handle(runtime);
  return Response.json(
    {
      success: false,
      error: { code: 'hub_not_running', message: 'start the app with its custom server: pnpm dev or pnpm start' },
    },
    { status: 503, headers: { 'cache-control': 'no-store' } },
  );
}
