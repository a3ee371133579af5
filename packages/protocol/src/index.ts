/**
 * Wardcast wire protocol: every frame both ways as zod schemas and types, the close-code and
 * error-code tables, and parsers that never throw. `@wardcast/protocol/lean` has the zod-free
 * decoder of server frames that the browser client uses.
 *
 * @packageDocumentation
 * @module \@wardcast/protocol
 */
export * from './client-frames.js';
export * from './close-codes.js';
export * from './error-codes.js';
export { decodeServerFrame, LEAN_SERVER_FRAMES, type LeanObject, type LeanSpec } from './lean.js';
export * from './parse.js';
export * from './primitives.js';
export * from './server-frames.js';
