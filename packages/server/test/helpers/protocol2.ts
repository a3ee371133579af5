import { type HelloFrame, PROTOCOL_2_QUERY } from '@wardcast/protocol';
import { type FrameOf, nextRef, type TestClient } from './client.js';
import { type ConnectOptions, type Fixture, type Harness, tokenFor } from './harness.js';

/** Protocol 2 (`hello`/`ready`), asked for with a URL query: helpers for the tests of both sides of it. */

/** What a test puts in a `hello` (`type` implied). */
export type Hello = Omit<HelloFrame, 'type'>;

/** {@link Harness.connect} on `fixture`'s URL plus `query` (default `?protocol=2`); not waiting for anything. */
export function connect2(
  harness: Harness,
  fixture: Fixture,
  options: ConnectOptions & { readonly query?: string } = {},
): TestClient {
  const { query = `?${PROTOCOL_2_QUERY}`, ...rest } = options;
  return harness.connect({ ...fixture, url: `${fixture.url}${query}` }, rest);
}

/**
 * Sends a `hello` (with a fresh `ref` unless given) once the socket is open, and resolves with the
 * `ready` that answers it.
 */
export async function hello(client: TestClient, frame: Hello = {}, timeoutMs?: number): Promise<FrameOf<'ready'>> {
  const ref = frame.ref ?? nextRef();
  await client.opened;
  client.send({ type: 'hello', ...frame, ref });
  return client.nextFrame('ready', (f) => f.ref === ref, timeoutMs);
}

/** A protocol 2 client as `userId` (token in the `hello`), subscribed to `topics` by its `hello`, once `ready`. */
export async function ready2(
  harness: Harness,
  fixture: Fixture,
  userId: string,
  topics: Hello['topics'] = [],
): Promise<{ client: TestClient; ready: FrameOf<'ready'> }> {
  const client = connect2(harness, fixture, { label: `${userId} (protocol 2)` });
  const ready = await hello(client, { token: tokenFor(userId), topics });
  return { client, ready };
}

/** The error frames a client received, without `type`. */
export function errorsOf(client: TestClient): Omit<FrameOf<'error'>, 'type'>[] {
  return client.framesOf('error').map(({ type: _type, ...rest }) => rest);
}
