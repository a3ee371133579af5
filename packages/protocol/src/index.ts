/**
 * Wardcast wire protocol: every frame both ways as zod schemas and types, the close-code and
 * error-code tables, and parsers that never throw. `@wardcast/protocol/lean` has the zod-free
 * decoder of server frames that the browser client uses; `decodeClientFrame` is its counterpart
 * for client frames, the hub's fast path.
 *
 * @packageDocumentation
 * @module \@wardcast/protocol
 */
export * from './client-frames.js';
export * from './close-codes.js';
export * from './error-codes.js';
export { decodeServerFrame, LEAN_SERVER_FRAMES, type LeanObject, type LeanSpec } from './lean.js';
export { decodeClientFrame, LEAN_CLIENT_FRAMES } from './lean-client.js';
export * from './parse.js';
export * from './primitives.js';
export * from './server-frames.js';
