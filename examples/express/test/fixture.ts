import type { AddressInfo } from 'node:net';
import { createDemo, type DemoOptions } from '../src/app.js';

/** A running demo on an ephemeral port. */
export interface RunningDemo {
  readonly demo: ReturnType<typeof createDemo>;
  readonly base: string;
}

/** Starts the demo on 127.0.0.1:0. */
export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  const demo = createDemo(options);
  await new Promise<void>((resolve) => demo.server.listen(0, '127.0.0.1', resolve));
  return { demo, base: `http://127.0.0.1:${(demo.server.address() as AddressInfo).port}` };
}

/** Stops everything the demo started: pipeline, hub, HTTP server. */
export async function stopDemo(demo: ReturnType<typeof createDemo>): Promise<void> {
  await demo.pipeline.close();
  await demo.hub.close();
  await new Promise((resolve) => demo.server.close(resolve));
}

/** Signs in through the demo's login endpoint and returns the token. */
export async function login(base: string, userId: string): Promise<string> {
  const res = await fetch(`${base}/api/demo/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId }),
  });
  return ((await res.json()) as { data: { token: string } }).data.token;
}
