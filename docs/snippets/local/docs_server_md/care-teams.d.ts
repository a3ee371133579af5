// Yours: who is on a patient's care team.
export declare const careTeams: { isMember(patientId: string, userId: string): Promise<boolean> };
