import type { TunnelChannel } from '@gw/tunnel';
import type { Logger } from 'pino';
import type { OpenedSession } from '../connect/session-broker.service.js';

/** How a relayed database session ended, for its session record. */
export interface RelayedSessionEnd {
  bytesIn: number;
  bytesOut: number;
  /** The connection's teardown reason: one starting with "client" means the client ended it. */
  reason: string;
  /** The agent's refusal of the session before it started (role, database), if it refused it. */
  agentRefusal?: { code: string; message: string } | undefined;
}

/**
 * Ends the tunnel stream (destroyed if the agent does not close it in time) and closes the session
 * record. Never throws: the record is best effort once the client is gone.
 */
export function finishRelayedSession(session: OpenedSession, channel: TunnelChannel | undefined, end: RelayedSessionEnd, log: Logger): void {
  channel?.end();
  setTimeout(() => channel?.destroy(), 2000).unref();
  session
    .finish({
      bytesIn: end.bytesIn, bytesOut: end.bytesOut, endedBy: end.reason.startsWith('client') ? 'client' : 'resource',
      ...(end.agentRefusal ? { refusedAtStartup: end.agentRefusal } : {}),
    })
    .catch((err: unknown) => log.warn({ err }, 'closing the session record failed'));
}

/** What the client is told when the tunnel stream closes under a live session. */
export function channelClosedMessage(error: Error): string {
  const lost = /tunnel closed/i.test(error.message);
  return lost ? 'the agent serving this resource was lost' : `session ended: ${error.message}`;
}
