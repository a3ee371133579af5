// Yours: the signed-in user of a request.
export declare function getCurrentUser(): Promise<{ readonly id: string }>;
