// Yours: logs, metrics and the critical-result tracker.
export declare const logger: { error(fields: object, message: string): void };
export declare const metrics: { increment(name: string, tags?: Record<string, string>): void };
export declare const criticalResults: { markAcknowledged(id: string, userId: string): Promise<void> };
