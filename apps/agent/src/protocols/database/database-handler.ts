import type { SessionPrincipal } from '@gw/tunnel';
import type { Logger } from 'pino';
import type { AgentResource } from '../../config/agent-config.js';
import type { ProtocolOpenContext } from '../../handlers/protocol-handler.js';
import type { RecordingShipper } from '../../recording/recording-shipper.js';
import type { RequestApproval } from '../../approvals/approval-client.js';
import type { PolicyHolder } from '../../policy/policy-holder.js';
import type { SignalSession } from '../../wings.js';

/** What the agent gives every database protocol handler (Postgres, MySQL). */
export interface DatabaseHandlerOptions {
  policy: PolicyHolder;
  shipper: RecordingShipper;
  agentId: () => string | undefined;
  spoolDir: string;
  log: Logger;
  /** Holds statements for a human (ApprovalClient); absent: statements needing approval are refused. */
  requestApproval?: RequestApproval;
  /**
   * Cancels and kills naming a session this agent does not serve (`pg_cancel_backend(<gateway pid>)`,
   * MySQL `KILL <connection id>`) go through the control plane to the agent or replica that does.
   */
  signalSession?: SignalSession;
}

/**
 * Accepts the tunnel stream of a database session (`ctx.accept` or `ctx.acceptSocket`), or returns
 * undefined when the opener gave up meanwhile. Stream errors are swallowed here: the stream's `close`
 * ends the session.
 */
export function acceptStream<S extends { on(event: 'error', listener: () => void): unknown }>(ctx: ProtocolOpenContext, accept: () => S): S | undefined {
  let stream: S;
  try {
    stream = accept();
  } catch (error) {
    ctx.log.debug({ err: error }, 'open cancelled');
    return undefined;
  }
  stream.on('error', () => undefined);
  return stream;
}

/**
 * Closes the per-resource states (admin pools ...) made so far and forgets them; one that failed to
 * be made has nothing to close.
 */
export async function closeResourceStates<T>(states: Map<string, Promise<T>>, close: (state: T) => Promise<void>): Promise<void> {
  for (const pending of states.values()) {
    const state = await pending.catch(() => undefined);
    if (state !== undefined) await close(state);
  }
  states.clear();
}

/** The grant's principal as session records carry it. */
export function recordedPrincipal(principal: SessionPrincipal): Pick<SessionPrincipal, 'id' | 'displayName' | 'kind' | 'appId'> {
  return { id: principal.id, displayName: principal.displayName, kind: principal.kind, appId: principal.appId };
}

/** The resource as policy sees it (type, environment, labels). */
export function policyResource(resource: AgentResource, type: 'postgres' | 'mysql') {
  return { name: resource.name, type, ...(resource.environment !== undefined ? { environment: resource.environment } : {}), labels: resource.labels };
}

/** Milliseconds until the session's grant expires, clamped to what setTimeout accepts. */
export function msUntilExpiry(sessionExpiresAtSeconds: number): number {
  return Math.max(0, Math.min(sessionExpiresAtSeconds * 1000 - Date.now(), 2 ** 31 - 1));
}
