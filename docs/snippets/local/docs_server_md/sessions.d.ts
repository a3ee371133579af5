// Yours: a server-side session store.
export declare const sessions: {
  get(sid: string): Promise<{ readonly userId: string; readonly expiresAt: number } | undefined>;
};
