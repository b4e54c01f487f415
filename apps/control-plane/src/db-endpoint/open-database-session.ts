import { CONNECT_CLOSE } from '@gw/contracts';
import { TokenRejectedError } from '@gw/identity';
import type { Principal } from '@gw/identity';
import { SessionRefused, type OpenRequest, type OpenedSession, type SessionBroker } from '../connect/session-broker.service.js';
import type { TokenAuthenticator } from '../identity/token-authenticator.js';

/** What the client asked for, known once its token is verified. */
export type DatabaseTarget = Pick<OpenRequest, 'resourceName' | 'role' | 'clientKey' | 'declared'>;

export interface DatabaseSessionRequest {
  /** The OIDC token the client sent as its password. */
  token: string;
  protocol: 'postgres' | 'mysql';
  sourceAddress: string | undefined;
  /** Called once, after the token is verified and only if the client is still connected. */
  target(principal: Principal): DatabaseTarget;
  /** A function, not a flag: the client may leave while the token is verified or the session opens. */
  isClosed(): boolean;
  /** The control plane ends the session (kill, time limit). */
  onTerminate(reason: string): void;
  /** Bytes counted so far, for the session record when the client left while it opened. */
  bytes(): { bytesIn: number; bytesOut: number };
}

/** Why no session, independent of the wire protocol: each endpoint maps it to its own error code. */
export type DatabaseRefusalReason = 'token-rejected' | 'unknown-resource' | 'unavailable' | 'denied';

export interface DatabaseSessionRefusal {
  reason: DatabaseRefusalReason;
  /** Never names the token. */
  message: string;
}

function refusalReason(closeCode: number): DatabaseRefusalReason {
  switch (closeCode) {
    case CONNECT_CLOSE.unknownResource:
      return 'unknown-resource';
    case CONNECT_CLOSE.resourceOffline:
    case CONNECT_CLOSE.resourceError:
      return 'unavailable';
    default:
      // Policy, grants, approvals, a resource of another type: the login is refused.
      return 'denied';
  }
}

export type DatabaseSessionOutcome =
  | { kind: 'opened'; session: OpenedSession }
  | { kind: 'refused'; refusal: DatabaseSessionRefusal }
  /** The client left first: nothing to answer; a session that opened meanwhile is already closed. */
  | { kind: 'abandoned' };

/**
 * The part of a database client's login that is the same for every wire protocol: verify the token,
 * open the session through the broker (policy, agent, grant, tunnel stream), and close it again at
 * once if the client left while it opened. Other errors (the gateway's own database) are thrown.
 */
export async function openDatabaseSession(
  deps: { tokens: TokenAuthenticator; broker: SessionBroker },
  req: DatabaseSessionRequest,
): Promise<DatabaseSessionOutcome> {
  let principal: Principal;
  try {
    principal = await deps.tokens.authenticate(req.token, { sourceIp: req.sourceAddress, path: req.protocol });
  } catch (error) {
    if (!(error instanceof TokenRejectedError)) throw error;
    return { kind: 'refused', refusal: { reason: 'token-rejected', message: `token refused: ${error.reason}` } };
  }
  if (req.isClosed()) return { kind: 'abandoned' };
  let opened: OpenedSession;
  try {
    opened = await deps.broker.open({
      principal,
      ...req.target(principal),
      expectedType: req.protocol,
      sourceAddress: req.sourceAddress ?? null,
      onTerminate: (_code, reason) => req.onTerminate(reason),
    });
  } catch (error) {
    if (!(error instanceof SessionRefused)) throw error;
    return { kind: 'refused', refusal: { reason: refusalReason(error.closeCode), message: error.message } };
  }
  if (req.isClosed()) {
    opened.channel.destroy();
    await opened.finish({ ...req.bytes(), endedBy: 'client' });
    return { kind: 'abandoned' };
  }
  return { kind: 'opened', session: opened };
}
