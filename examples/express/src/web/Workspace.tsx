import { CloseCode } from '@wardcast/client';
import { useNotifications } from '@wardcast/client/react';
import { SseSocket } from '@wardcast/client/sse';
import { useEffect, useState } from 'react';
import { Header } from './Header.js';
import { InboxPanel } from './InboxPanel.js';
import { PatientHome } from './PatientHome.js';
import { PatientPanel } from './PatientPanel.js';
import { currentToken } from './session.js';
import type { DemoUser, Kinds } from './types.js';
import { useInbox } from './use-inbox.js';

const wsUrl = () => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws/notifications`;
/**
 * WebSocket first, then Server-Sent Events where WebSockets are blocked (the client falls back on
 * its own and remembers what worked). `?transport=sse` pins SSE, to try the fallback on an open
 * network; `?transport=websocket` turns it off.
 */
const transports = ((): readonly ('websocket' | 'sse')[] | undefined => {
  const pinned = new URLSearchParams(location.search).get('transport');
  return pinned === 'sse' || pinned === 'websocket' ? [pinned] : undefined;
})();
const PATIENT_KEY = 'wardcast-demo:patient';

/**
 * The signed-in page. One `useNotifications` connection carries the user's inbox topic, system
 * broadcasts, and the open patient record (followed with presence, which also brings its
 * assessment progress). No resume points are stored: on a reload the hub replays the user's
 * unread notifications and the page loads the rest of the inbox over HTTP.
 */
export function Workspace({ user, onSignOut }: { readonly user: DemoUser; readonly onSignOut: () => void }) {
  const clinician = user.role === 'clinician';
  const [patientId, setPatientId] = useState<string | undefined>(() =>
    clinician ? (sessionStorage.getItem(PATIENT_KEY) ?? 'p9') : undefined,
  );
  const live = useNotifications<Kinds>({
    url: wsUrl,
    token: () => currentToken(user.id),
    topics: [`user:${user.id}`, 'broadcast'],
    presence: patientId ? [`patient:${patientId}`] : [],
    maxItems: 400,
    pingIntervalMs: 5_000,
    // http(s)://<host>/v1/sse/notifications, served by createExpressRouter next to the socket.
    SSE: SseSocket,
    ...(transports ? { transports } : {}),
  });
  const inbox = useInbox(user.id, live);
  // The hub refused the token for good (say the server restarted with a new signing key): sign in again.
  const refused = live.status.state === 'closed' && live.status.reason.code === CloseCode.Unauthorized;
  useEffect(() => {
    if (refused) onSignOut();
  }, [refused, onSignOut]);
  const openPatient = (id: string) => {
    sessionStorage.setItem(PATIENT_KEY, id);
    setPatientId(id);
  };

  return (
    <div className="app">
      <Header user={user} status={live.status} latencyMs={live.latencyMs} onSignOut={onSignOut} />
      <div className="layout">
        <InboxPanel user={user} inbox={inbox} />
        <main className="main">
          {clinician && patientId ? (
            <PatientPanel key={patientId} user={user} patientId={patientId} onOpenPatient={openPatient} live={live} />
          ) : (
            <PatientHome user={user} />
          )}
        </main>
      </div>
    </div>
  );
}
