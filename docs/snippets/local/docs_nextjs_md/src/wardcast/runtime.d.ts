// The example's src/wardcast/runtime.ts: creates the hub, the pipeline and their handlers.
import type { WardcastRuntime } from './global';

export declare function createWardcastRuntime(): WardcastRuntime;
