import { describeKiller, type SessionKiller } from '../sessions/session-kill.js';
import { Inject, Injectable } from '@nestjs/common';
import type { Duplex } from 'node:stream';
import { CONNECT_CLOSE } from '@gw/contracts';
import type { Principal } from '@gw/identity';
import type { PolicyDecision } from '@gw/policy';
import { MAX_SESSION_SECONDS, StreamOpenRejectedError, TunnelStream, type SessionGrantClaims, type TunnelChannel } from '@gw/tunnel';
import { randomUUID } from 'node:crypto';
import { AuditService } from '../audit/audit.service.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { ActivePolicyService } from '../policies/active-policy.service.js';
import { ResourcesService } from '../resources/resources.service.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { LiveSessions } from '../sessions/live-sessions.js';
import { PendingCloses } from '../sessions/pending-closes.js';
import { AgentRegistry } from '../tunnel-hub/agent-registry.js';
import { GrantSigner } from '../tunnel-hub/grant-signer.service.js';
import type { BridgeResult } from './session-bridge.js';
import { GrantsService } from '../grants/grants.service.js';
import type { GrantEntity } from '../grants/grant.entity.js';
import { ApprovalsService } from '../approvals/approvals.service.js';
import { sessionOpenDuration, timedStep } from './session-open-metrics.js';

/** Sessions without a policy limit still end after this. */
const DEFAULT_SESSION_SECONDS = 8 * 60 * 60;

export class SessionRefused extends Error {
  /** `decision`: the `connect` decision when policy refused (which policies, why). */
  constructor(readonly closeCode: number, message: string, readonly decision?: { effect: string; policies: string[]; reasons: string[] }) {
    super(message);
  }
}

/** The signed grant's claims: who the session is for, copied from the verified token. */
function grantClaims(principal: Principal, session: Omit<SessionGrantClaims, 'principal'>): SessionGrantClaims {
  return {
    ...session,
    principal: {
      id: principal.id,
      displayName: principal.displayName ?? principal.id,
      kind: principal.kind === 'human' ? 'user' : 'workload',
      issuer: principal.issuer,
      tenantId: principal.tenantId,
      subject: principal.subject,
      objectId: principal.objectId,
      appId: principal.appId,
      tokenId: principal.tokenId,
      roles: principal.roles,
      groups: principal.groups,
      gatewayRoles: principal.gatewayRoles,
      ...(principal.process ? { process: principal.process } : {}),
    },
  };
}

export interface OpenRequest {
  principal: Principal;
  resourceName: string;
  /** Database role / SSH login the client asked for; null for raw TCP. */
  role?: string | null;
  /** The endpoint speaks one protocol; a resource of another type is refused (no inspection bypass). */
  expectedType: 'postgres' | 'mysql' | 'ssh' | 'kubernetes' | 'tcp' | 'mcp';
  sourceAddress: string | null;
  declared: Record<string, unknown>;
  /** Called when the session must end from the control plane's side (kill, time limit). */
  onTerminate: (closeCode: number, reason: string) => void;
  /** How the request came in when not through a protocol endpoint (MCP: `via` and `tool`), for the `connect` decision. */
  via?: { via: string; tool: string };
  /** The MCP session whose tool call opens this session (linked both ways in /api/v1/sessions). */
  parentSessionId?: string | null;
  /**
   * Approvals asked for in this session outlive it (Kubernetes: a held request is answered at once
   * and sent again by the client, often in a new session, once approved). Default: cancelled at the end.
   */
  keepApprovalsAfterEnd?: boolean;
  /**
   * The id the endpoint gives the client for this session (Postgres BackendKeyData pid, MySQL
   * connection id), stored so that a cancel or kill naming it from any replica finds the session.
   */
  clientKey?: number;
}

export interface OpenedSession {
  sessionId: string;
  /** The tunnel stream as a callback channel, for a relay that attaches its own handlers... */
  channel: TunnelChannel;
  /** ...or as a Duplex (made on first use; use one of the two). */
  readonly stream: Duplex;
  decision: PolicyDecision;
  /** Sends a control message about this session to the agent serving it (e.g. a Postgres cancel). */
  notifyAgent(event: string, payload: unknown): void;
  finish(result: BridgeResult): Promise<void>;
}

/**
 * The protocol-independent part of opening a session: resource lookup, `connect` policy, agent
 * choice, session record, signed grant, tunnel stream, time limit, kill switch, audit.
 */
@Injectable()
export class SessionBroker {
  private readonly log = loggerFor(SessionBroker);

  constructor(
    @Inject(ResourcesService) private readonly resources: ResourcesService,
    @Inject(ActivePolicyService) private readonly policy: ActivePolicyService,
    @Inject(AgentRegistry) private readonly registry: AgentRegistry,
    @Inject(SessionsService) private readonly sessions: SessionsService,
    @Inject(GrantSigner) private readonly grants: GrantSigner,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(LiveSessions) private readonly live: LiveSessions,
    @Inject(PendingCloses) private readonly pendingCloses: PendingCloses,
    @Inject(GrantsService) private readonly accessGrants: GrantsService,
    @Inject(ApprovalsService) private readonly approvals: ApprovalsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Ends every live session of this replica with a reason the clients see (shutdown). */
  terminateAll(reason: string): void {
    this.live.terminateAll(reason);
  }

  /** Sends a control message to the agent of a live session on this replica; false if not here. */
  notify(sessionId: string, event: string, payload: unknown): boolean {
    return this.live.notify(sessionId, event, payload);
  }

  async open(req: OpenRequest): Promise<OpenedSession> {
    const done = sessionOpenDuration.startTimer({ protocol: req.expectedType });
    try {
      const opened = await this.openTimed(req);
      done({ outcome: 'opened' });
      return opened;
    } catch (error) {
      done({ outcome: error instanceof SessionRefused ? 'refused' : 'failed' });
      throw error;
    }
  }

  private async openTimed(req: OpenRequest): Promise<OpenedSession> {
    const { principal } = req;
    // The agent that will serve the session declared the resource (type, environment, labels) when it
    // connected, and policy decides on that declaration: no database round trip while an agent serving
    // it is connected here. Postgres is asked only to tell an unknown resource from an offline one.
    const serving = this.registry.pick(req.resourceName);
    const resource = serving?.resources.get(req.resourceName) ?? (await this.resources.findByName(req.resourceName));
    if (!resource) throw new SessionRefused(CONNECT_CLOSE.unknownResource, `unknown resource "${req.resourceName}"`);
    if (resource.type !== req.expectedType) {
      throw new SessionRefused(
        CONNECT_CLOSE.unknownResource,
        `resource "${resource.name}" is a ${resource.type} resource; this endpoint serves ${req.expectedType}`,
      );
    }
    const connectInput = (hasGrant: boolean) => this.policy.evaluate({
      principal,
      action: 'connect',
      resource: { name: resource.name, type: resource.type, environment: resource.environment ?? undefined, labels: resource.labels },
      context: { sourceIp: req.sourceAddress ?? '', hasGrant, ...(req.role ? { dbRole: req.role, login: req.role } : {}), ...(req.via ?? {}) },
    });
    let decision = connectInput(false);
    // A session runs under a grant only where policy demands one; it then ends with the grant.
    let grant: GrantEntity | null = null;
    if (decision.effect === 'deny' && decision.obligations.requireGrant) {
      grant = await this.accessGrants.findActive(principal.id, resource.name, req.role ?? null);
      if (grant) decision = connectInput(true);
    }
    const auditBase = { actor: principal, resource: resource.name, details: { action: 'connect', role: req.role ?? null, sourceIp: req.sourceAddress, policies: decision.determiningPolicies, reasons: decision.reasons, grantId: grant?.id ?? null } };
    if (decision.effect !== 'allow') {
      await this.audit.append({ action: 'session.connect', outcome: 'denied', ...auditBase });
      const why = decision.effect === 'require_approval'
        ? `approval is required to connect to "${resource.name}" (${decision.reasons.join('; ')})`
        : `not allowed to connect to "${resource.name}": ${decision.reasons.join('; ')}`;
      throw new SessionRefused(CONNECT_CLOSE.forbidden, why, { effect: decision.effect, policies: decision.determiningPolicies, reasons: decision.reasons });
    }
    const agent = serving ?? this.registry.pick(resource.name);
    if (!agent) {
      throw new SessionRefused(CONNECT_CLOSE.resourceOffline, `resource "${resource.name}" is offline: no agent serving it is connected`);
    }
    const openedAt = Date.now();
    const policyEndsAt = openedAt + Math.min(decision.obligations.maxSessionSeconds ?? DEFAULT_SESSION_SECONDS, MAX_SESSION_SECONDS) * 1000;
    // Under a grant, the session (this timer, the agent's timer and the ephemeral role's VALID
    // UNTIL) ends at the grant's expiry; the agent's whole seconds round down, never past it.
    const endsAt = grant ? Math.min(policyEndsAt, grant.expiresAt.getTime()) : policyEndsAt;
    const sessionId = randomUUID();
    // The session's row, the audit event of the allowed connect and the signed grant do not depend
    // on each other: waited for together, so an open pays one database wait before the agent is
    // asked, and none after (bench/scale: these waits were most of an open under load).
    const [inserted, audited, signed] = await Promise.allSettled([
      timedStep('session_row', this.sessions.open({
        id: sessionId, principal, resourceName: resource.name, resourceType: resource.type, agentId: agent.agentId, role: req.role ?? null,
        sourceAddress: req.sourceAddress, declared: req.declared, grantId: grant?.id ?? null, parentSessionId: req.parentSessionId ?? null,
        clientKey: req.clientKey ?? null,
      })),
      timedStep('audit', this.audit.append({ action: 'session.connect', outcome: 'allowed', ...auditBase, details: { ...auditBase.details, sessionId, agentId: agent.agentId } })),
      timedStep('grant', this.grants.sign(grantClaims(principal, { sid: sessionId, resource: resource.name, login: req.role ?? resource.type, agentId: agent.agentId, sessionExpiresAt: Math.max(Math.floor(endsAt / 1000), Math.floor(openedAt / 1000) + 1) }))),
    ]);
    if (inserted.status === 'rejected' || audited.status === 'rejected' || signed.status === 'rejected') {
      const failure = [inserted, audited, signed].find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
      // No stream was opened; a row that was written must not stay `opening`.
      if (inserted.status === 'fulfilled') {
        const reason = `could not open: ${failure.reason instanceof Error ? failure.reason.message : String(failure.reason)}`;
        void this.pendingCloses.run(sessionId, () => this.sessions.close(sessionId, 'failed', reason, { in: 0, out: 0 }));
      }
      throw failure.reason;
    }
    const session = inserted.value;
    let channel: TunnelChannel;
    try {
      channel = await timedStep('agent', agent.tunnel.openChannel({
        grant: signed.value,
        resource: resource.name,
        protocol: resource.type,
        client: {
          ...(req.sourceAddress ? { address: req.sourceAddress } : {}),
          ...(typeof req.declared.userAgent === 'string' ? { userAgent: req.declared.userAgent.slice(0, 512) } : {}),
          ...(typeof req.declared.applicationName === 'string' ? { applicationName: req.declared.applicationName.slice(0, 256) } : {}),
        },
      }));
    } catch (error) {
      const reason = error instanceof StreamOpenRejectedError ? error.reason : error instanceof Error ? error.message : String(error);
      await this.sessions.close(session.id, 'failed', reason, { in: 0, out: 0 });
      await this.audit.append({ action: 'session.open_failed', outcome: 'failure', ...auditBase, details: { ...auditBase.details, sessionId: session.id, reason } });
      throw new SessionRefused(CONNECT_CLOSE.resourceError, `could not open "${resource.name}": ${reason}`);
    }
    // Until the endpoint attaches (after the awaits below), the channel holds what arrives, and a
    // tunnel that closes meanwhile is reported to the endpoint when it attaches.
    let stream: TunnelStream | undefined;
    const streamOf = (): TunnelStream => {
      if (!stream) {
        stream = new TunnelStream(channel);
        stream.on('error', (err: Error) => this.log.debug({ err: err.message, sessionId: session.id }, 'stream error'));
      }
      return stream;
    };
    // `opening` and `active` are both live everywhere a session's state matters (kill, approvals,
    // sweeps), so the mark is not waited for; it never overwrites an end that came first.
    this.sessions.markActive(session.id).catch((err: unknown) => this.log.warn({ err, sessionId: session.id }, 'could not mark the session active'));

    const notifyAgent = (event: string, payload: unknown) => {
      if (agent.socket.connected) agent.socket.emit(event, payload);
    };
    let killedBy: SessionKiller | undefined;
    const terminate = (reason: string, by?: SessionKiller): void => {
      if (by) killedBy ??= by;
      req.onTerminate(CONNECT_CLOSE.terminated, reason);
      if (stream) stream.destroy();
      else channel.destroy();
    };
    this.live.register(session.id, { terminate, notify: notifyAgent });
    if (grant && !(await this.accessGrants.stillActive(grant.id))) {
      // Revoked between the check above and now: its revocation may not have seen this session.
      terminate(`access grant ${grant.id} is no longer active`);
    }
    const limitReason = grant && endsAt < policyEndsAt ? `access grant ${grant.id} expired` : 'session time limit reached';
    const limitTimer = setTimeout(() => terminate(limitReason), Math.max(0, endsAt - Date.now()));
    limitTimer.unref();

    return {
      sessionId: session.id,
      channel,
      get stream() {
        return streamOf();
      },
      decision,
      notifyAgent,
      finish: async (result) => {
        clearTimeout(limitTimer);
        this.live.unregister(session.id);
        // A statement still held for approval has nobody waiting for it any more.
        if (!req.keepApprovalsAfterEnd) await this.approvals.cancelForSession(session.id, 'the session ended while the statement was held').catch((err: unknown) => {
          this.log.warn({ err, sessionId: session.id }, 'could not cancel the held approvals of an ended session');
        });
        const refused = result.refusedAtStartup;
        if (refused) {
          await this.audit.append({
            action: 'session.connect', outcome: 'denied', ...auditBase,
            details: { ...auditBase.details, sessionId: session.id, agentId: agent.agentId, refusedBy: 'agent', sqlstate: refused.code, reason: refused.message },
          });
        }
        const status = killedBy ? 'killed' : refused || (result.error && result.endedBy === 'error') ? 'failed' : 'ended';
        const reason = killedBy ? `killed by ${describeKiller(killedBy)}` : refused ? `refused by the agent: ${refused.message}` : result.error ? result.error.message : `closed by ${result.endedBy}`;
        // Retried until it lands (Postgres restarting): the row must not stay `active`.
        await this.pendingCloses.run(session.id, async () => {
          await this.sessions.close(session.id, status, reason, { in: result.bytesIn, out: result.bytesOut });
          await this.audit.append({
            action: 'session.closed', outcome: status === 'failed' ? 'failure' : 'success', actor: principal, resource: resource.name,
            details: { sessionId: session.id, status, reason, killedBy: killedBy ?? null, bytesIn: result.bytesIn, bytesOut: result.bytesOut },
          });
        });
      },
    };
  }
}
