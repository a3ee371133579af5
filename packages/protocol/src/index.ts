/**
 * Wardcast wire protocol: every frame both ways as zod schemas and types, the close-code and
 * error-code tables, and parsers that never throw.
 *
 * @packageDocumentation
 * @module \@wardcast/protocol
 */
export * from './client-frames.js';
export * from './close-codes.js';
export * from './error-codes.js';
export * from './parse.js';
export * from './primitives.js';
export * from './server-frames.js';
