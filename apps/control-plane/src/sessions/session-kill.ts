import type { Principal } from '@gw/identity';

/**
 * Who ended a session on purpose: an operator through the API, or the grant it ran under (revoked
 * or expired). Stored on the session (`killed_by`), put in the audit events and carried by the
 * sealed kill message to the replica that holds the session.
 */
export type SessionKiller =
  | { kind: 'principal'; id: string; displayName: string | null }
  | { kind: 'grant'; grantId: string };

export interface SessionKillMessage {
  sessionId: string;
  by: SessionKiller;
  /** What the client is told; defaults to "session killed by <who>". */
  reason?: string;
}

export const killerFromPrincipal = (p: Principal): SessionKiller => ({ kind: 'principal', id: p.id, displayName: p.displayName ?? null });

export function describeKiller(by: SessionKiller): string {
  if (by.kind === 'grant') return `grant ${by.grantId}`;
  return by.displayName ? `${by.displayName} (${by.id})` : by.id;
}

/** The kill message arrives sealed, but is still checked: a bad shape is refused, not half-used. */
export function parseKillMessage(body: string): SessionKillMessage {
  const value = JSON.parse(body) as Partial<SessionKillMessage>;
  const by = value.by as Partial<SessionKiller> | undefined;
  const validBy = by?.kind === 'principal' ? typeof by.id === 'string' : by?.kind === 'grant' && typeof by.grantId === 'string';
  if (typeof value.sessionId !== 'string' || !validBy || (value.reason !== undefined && typeof value.reason !== 'string')) {
    throw new Error('malformed session kill message');
  }
  return value as SessionKillMessage;
}
