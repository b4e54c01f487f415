import { Inject, Injectable, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { DataSource } from 'typeorm';
import {
  APPROVAL_EVENTS, APPROVED_KUBERNETES_REQUEST_TTL_SECONDS, approvalCancelSchema, approvalConsumeSchema, approvalRequestSchema,
  type ApprovalCancelAck, type ApprovalConsumeAck, type ApprovalDecidedMessage, type ApprovalRequestAck,
} from '@gw/contracts';
import { DEFAULT_STATEMENT_APPROVAL_TIMEOUT_SECONDS } from '@gw/policy';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { loggerFor } from '../common/logger.js';
import { DomainEvents } from '../events/domain-events.service.js';
import { ApprovalsService } from '../approvals/approvals.service.js';
import type { ApprovalView } from '../approvals/approval-view.js';
import { SessionEntity } from '../sessions/session.entity.js';

interface Brokered {
  socket: Socket;
  sessionId: string;
}

/**
 * The control plane's side of held statements: an agent asks for an approval of something it
 * holds in one of ITS live sessions; the decision (made on any replica) comes back through the
 * domain event bus to the replica the agent is connected to, and from there to the agent. An
 * agent connection that goes away takes its pending approvals with it (cancelled): the agent
 * refuses what it held when it loses the control plane, so nothing may be approved afterwards.
 */
@Injectable()
export class AgentApprovals implements OnModuleInit, BeforeApplicationShutdown {
  private readonly log = loggerFor(AgentApprovals);
  private readonly brokered = new Map<string, Brokered>();

  constructor(
    @Inject(ApprovalsService) private readonly approvals: ApprovalsService,
    @Inject(DomainEvents) private readonly events: DomainEvents,
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.events.subscribe((event) => {
      if (event.type !== 'statement.released') return;
      const approval = (event.data as { approval?: ApprovalView }).approval;
      const held = approval ? this.brokered.get(approval.id) : undefined;
      if (!approval || !held) return;
      this.brokered.delete(approval.id);
      const last = approval.votes.at(-1);
      const decided: ApprovalDecidedMessage = {
        approvalId: approval.id,
        sessionId: held.sessionId,
        status: approval.status === 'pending' ? 'cancelled' : approval.status,
        scope: approval.scope,
        by: approval.status === 'approved' || approval.status === 'denied' ? (last?.approverName ?? null) : null,
        comment: approval.status === 'approved' || approval.status === 'denied' ? (last?.comment ?? null) : null,
      };
      if (held.socket.connected) held.socket.emit(APPROVAL_EVENTS.decided, decided);
    });
  }

  /** Wired by the hub on every agent connection. */
  attach(socket: Socket, agentId: string): void {
    socket.on(APPROVAL_EVENTS.request, (raw: unknown, ack?: (a: ApprovalRequestAck) => void) => {
      const reply = typeof ack === 'function' ? ack : () => undefined;
      this.request(socket, agentId, raw).then(reply, (err: unknown) => {
        this.log.error({ err, agentId }, 'creating an approval failed');
        reply({ ok: false, error: 'the control plane could not create the approval' });
      });
    });
    socket.on(APPROVAL_EVENTS.cancel, (raw: unknown, ack?: (a: ApprovalCancelAck) => void) => {
      const reply = typeof ack === 'function' ? ack : () => undefined;
      const parsed = approvalCancelSchema.safeParse(raw);
      if (!parsed.success) {
        reply({ ok: false, error: 'invalid cancel message' });
        return;
      }
      const { approvalId, reason } = parsed.data;
      this.cancelFromAgent(agentId, approvalId, reason).then(reply, (err: unknown) => {
        this.log.warn({ err, approvalId }, 'cancelling an approval failed');
        reply({ ok: false, error: 'the control plane could not cancel the approval' });
      });
    });
    socket.on(APPROVAL_EVENTS.consume, (raw: unknown, ack?: (a: ApprovalConsumeAck) => void) => {
      const reply = typeof ack === 'function' ? ack : () => undefined;
      const parsed = approvalConsumeSchema.safeParse(raw);
      if (!parsed.success) {
        reply({ ok: false, error: 'invalid consume message' });
        return;
      }
      this.consume(agentId, parsed.data.sessionId, parsed.data.fingerprint).then(reply, (err: unknown) => {
        this.log.error({ err, agentId }, 'looking up an approved request failed');
        reply({ ok: false, error: 'the control plane could not look up approvals' });
      });
    });
    socket.on('disconnect', () => {
      const gone = [...this.brokered].filter(([, b]) => b.socket === socket).map(([id]) => id);
      void this.cancelAll(gone, 'the agent holding the statement lost its connection to the control plane');
    });
  }

  /** A replica shutting down cannot deliver decisions to its agents: their holds fail closed. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.cancelAll([...this.brokered.keys()], 'the control plane replica holding the statement shut down');
  }

  private async request(socket: Socket, agentId: string, raw: unknown): Promise<ApprovalRequestAck> {
    const parsed = approvalRequestSchema.safeParse(raw);
    if (!parsed.success) return { ok: false, error: `invalid approval request: ${parsed.error.issues[0]?.message ?? 'bad shape'}` };
    const req = parsed.data;
    const session = await this.dataSource.getRepository(SessionEntity).findOne({ where: { id: req.sessionId } });
    // An agent may only hold things in sessions it serves.
    if (!session || session.agentId !== agentId) return { ok: false, error: `session ${req.sessionId} is not served by this agent` };
    if (session.status !== 'active' && session.status !== 'opening') return { ok: false, error: `session ${req.sessionId} is not live` };
    const made = await this.dataSource.transaction((tx) =>
      this.approvals.create({
        kind: req.kind,
        requestedBy: { ...session.principal, id: session.principalId, kind: typeof session.principal.kind === 'string' ? session.principal.kind : 'unknown' },
        resourceName: session.resourceName,
        sessionId: session.id,
        subject: req.subject,
        ...(req.detail ? { detail: req.detail } : {}),
        requirement: {
          approvals: req.requirement.approvals,
          approvers: req.requirement.approvers,
          timeoutSeconds: req.requirement.timeoutSeconds ?? DEFAULT_STATEMENT_APPROVAL_TIMEOUT_SECONDS,
        },
        ...(req.fingerprint ? { requestFingerprint: req.fingerprint } : {}),
      }, tx),
    );
    // A Kubernetes request is not held by the agent: its approval is the durable record, used up
    // when the request comes again (through any agent, after any restart), so it is not brokered.
    if (req.kind !== 'kubernetes_request') this.brokered.set(made.approval.id, { socket, sessionId: session.id });
    await made.afterCommit();
    return {
      ok: true,
      approvalId: made.approval.id,
      expiresAt: made.approval.expiresAt.toISOString(),
      approveUrl: `${this.config.http.publicUrl}/api/v1/approvals/${made.approval.id}/approve`,
    };
  }

  /** The request came again in one of this agent's sessions: the session says who and which cluster. */
  private async consume(agentId: string, sessionId: string, fingerprint: string): Promise<ApprovalConsumeAck> {
    const session = await this.dataSource.getRepository(SessionEntity).findOne({ where: { id: sessionId } });
    if (!session || session.agentId !== agentId) return { ok: false, error: `session ${sessionId} is not served by this agent` };
    if (session.status !== 'active' && session.status !== 'opening') return { ok: false, error: `session ${sessionId} is not live` };
    const actor = { ...session.principal, id: session.principalId, kind: typeof session.principal.kind === 'string' ? session.principal.kind : 'unknown' };
    const found = await this.approvals.consumeKubernetesRequest(session.principalId, session.resourceName, fingerprint, APPROVED_KUBERNETES_REQUEST_TTL_SECONDS, actor);
    return { ok: true, ...found };
  }

  /**
   * An agent may cancel only approvals of sessions it serves: the ones it holds now, and, after a
   * reconnect (a control plane replica may have died without cancelling them), the ones it gave up.
   */
  private async cancelFromAgent(agentId: string, approvalId: string, reason: string): Promise<ApprovalCancelAck> {
    const rows = await this.dataSource.query<{ agent_id: string }[]>(
      'SELECT s.agent_id FROM approvals a JOIN sessions s ON s.id = a.session_id WHERE a.id = $1',
      [approvalId],
    );
    if (rows[0]?.agent_id !== agentId) return { ok: false, error: 'unknown approval for this agent' };
    await this.approvals.cancel(approvalId, reason);
    this.brokered.delete(approvalId);
    return { ok: true };
  }

  private async cancelAll(ids: string[], reason: string): Promise<void> {
    for (const id of ids) {
      await this.approvals.cancel(id, reason).catch((err: unknown) => this.log.warn({ err, approvalId: id }, 'could not cancel an approval'));
      this.brokered.delete(id);
    }
  }
}
