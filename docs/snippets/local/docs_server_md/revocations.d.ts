// Yours: when each user's access was revoked (epoch seconds).
export declare function revokedSince(userId: string): Promise<number | undefined>;
export declare function markRevoked(userId: string, atSeconds: number): Promise<void>;
