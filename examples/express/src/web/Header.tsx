import type { ClientStatus } from '@wardcast/client';
import type { DemoUser } from './types.js';

function statusText(status: ClientStatus): string {
  switch (status.state) {
    case 'idle':
      return 'Starting';
    case 'connecting':
      return 'Connecting…';
    case 'open':
      return 'Live';
    case 'reconnecting':
      return `Reconnecting in ${Math.ceil(status.delayMs / 1000)} s`;
    case 'closed':
      return 'Offline';
  }
}

interface Props {
  readonly user: DemoUser;
  readonly status: ClientStatus;
  readonly latencyMs: number | undefined;
  readonly onSignOut: () => void;
}

/** The top bar: product, who is signed in, and the live connection with its round-trip time. */
export function Header({ user, status, latencyMs, onSignOut }: Props) {
  const latency = status.state === 'open' && latencyMs !== undefined ? `${Math.max(1, Math.round(latencyMs))} ms` : '';
  return (
    <header className="topbar">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true">
          ✚
        </span>
        Wardcast <span className="brand-sub">Ward 7</span>
      </div>
      <div className={`pill pill-${status.state}`} role="status" aria-live="polite" data-testid="connection">
        <span className="pill-dot" aria-hidden="true" />
        <span data-testid="connection-state">{statusText(status)}</span>
        {latency && (
          <span className="pill-latency" data-testid="latency" title="Round trip of the client's last ping">
            {latency}
          </span>
        )}
      </div>
      <div className="who">
        <span className="who-name" data-testid="signed-in-user">
          {user.name}
        </span>
        <span className="who-detail">{user.detail}</span>
        <button type="button" className="btn btn-quiet" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}
