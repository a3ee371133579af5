/**
 * Placeholders of the docs' TypeScript snippets: what a snippet uses without showing where it
 * comes from (your HTTP server, your token check, your UI, a hub created elsewhere). Only
 * placeholders live here, never an API of Wardcast. A snippet that declares one of these names
 * at its top level shadows it. docs/snippets/placeholders.ts gives the ones the `run` snippets
 * use a value. See docs/snippets.md.
 */

type Principal = import('@wardcast/server').Principal;
/** Your code: a UI update, a pager, a metric. */
type YourCode = (...args: unknown[]) => unknown;
/** Your map of notification kinds to payload types. */
type Kinds = import('@wardcast/protocol/kinds').ClinicalKinds;

// Created elsewhere in your app.
declare const app: import('express').Express;
declare const httpServer: import('node:http').Server;
declare const server: import('node:http').Server;
declare const hub: import('@wardcast/server').NotificationHub;
declare const client: import('@wardcast/client').NotificationClient;

// Your auth (docs/server.md, "Authentication" and "Authorization").
declare const authenticate: import('@wardcast/server').Authenticate;
declare const authorize: import('@wardcast/server').Authorize;
declare function verify(token: string | undefined): Promise<Principal | null>;
declare function verifySession(credential: string | undefined): Promise<Principal | null>;
declare function onCareTeam(principal: Principal, topic: string): Promise<boolean>;
declare function isOnCareTeam(userId: string, patientId: string): boolean;
declare function patientUserIdOf(patientId: string): string;
/** docs/getting-started.md's, in its server.ts. */
declare function insecureDevAuthenticate(): import('@wardcast/server').Authenticate;

// A client's options and the signed-in user.
declare const url: string;
declare const token: string;
declare const topics: string[];
declare function getToken(): Promise<string>;
declare function fetchServiceToken(): Promise<string>;
declare const me: { readonly id: string };

// Your UI.
declare function show(value: unknown): void;
declare function clear(): void;
declare function refetch(topic: string): void;
declare function showCriticalBanner(id: string, labOrderId: string): void;
declare function showCriticalDialog(notification: unknown, onAcknowledge: () => void): void;
declare function addToInbox(notification: unknown): void;
declare function reloadFromApi(topic: string): Promise<void>;
declare function renderConnectionBadge(state: string): void;
declare function scheduleReminder(startsAt: string): void;
declare function pageOnCall(labOrderId: string, testName: string): void;
declare function closePatientView(topic: string): void;
declare function showViewers(userIds: readonly string[]): void;
declare const socket: WebSocket;
declare const openMessage: HTMLElement;
declare const messageId: string;
declare const linkBadge: { update(state: object): void };

// Your backend.
declare const pager: { page: YourCode };
declare const metrics: { observe: YourCode; increment: YourCode };
declare const incidents: { open: YourCode };
declare const audit: { viewing: YourCode; stoppedViewing: YourCode };
declare const db: {
  insert(table: string, row: object): Promise<void>;
  select(table: string): { orderBy(column: string): Promise<import('@wardcast/server').ChainedAuditRecord<object>[]> };
};
declare const order: {
  readonly id: string;
  readonly testName: string;
  readonly status: 'preliminary' | 'final' | 'corrected' | 'cancelled';
  readonly abnormal: boolean;
  readonly critical: boolean;
  readonly resultAt: string;
  readonly value: string;
  readonly unit: string;
};

// A patient's data, for the LLM layer.
declare const intake: import('@wardcast/server/assessment').SynthesisInput['intake'];
declare const vitals: import('@wardcast/server/assessment').SynthesisInput['vitals'];
declare const risk: import('@wardcast/server/assessment').SynthesisInput['risk'];
declare const patientId: string;
declare const signal: AbortSignal;
