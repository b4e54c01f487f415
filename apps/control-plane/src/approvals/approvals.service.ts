import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { Principal } from '@gw/identity';
import { AuditService } from '../audit/audit.service.js';
import { ConflictError, DomainError, DomainErrorCode, NotFoundError } from '../common/domain-error.js';
import { loggerFor } from '../common/logger.js';
import { processOf } from '../common/process-of.js';
import { insertRow } from '../database/insert-row.js';
import { DomainEvents } from '../events/domain-events.service.js';
import { JobsService } from '../jobs/jobs.service.js';
import { NotDueYet } from '../jobs/job-catalogue.js';
import { SessionEntity } from '../sessions/session.entity.js';
import { ApprovalEntity, type ApprovalKind, type ApprovalScope, type ApprovalStatus, type ApprovalVote } from './approval.entity.js';
import { approvalEventView } from './approval-view.js';
import { approverEligibility, sameIdentity, seesEverything } from './approver-eligibility.js';

export interface ApprovalRequirementInput {
  approvals: number;
  approvers: string[];
  timeoutSeconds: number;
}

export interface NewApproval {
  kind: ApprovalKind;
  requestedBy: Principal | { id: string; kind: string; [key: string]: unknown };
  resourceName: string;
  sessionId?: string;
  accessRequestId?: string;
  /** Already masked: it is stored, shown to approvers and published. */
  subject: Record<string, unknown>;
  /** Unmasked, for approvers and admins only (see approval-view.ts); never audited. */
  detail?: Record<string, unknown>;
  requirement: ApprovalRequirementInput;
  /** `kubernetes_request`: the held request's fingerprint (see ApprovalEntity.requestFingerprint). */
  requestFingerprint?: string;
}

export type AfterCommit = () => Promise<void>;
/**
 * What a kind of approval does when it settles (approved, denied, expired, cancelled), inside the
 * transaction that settles it; the returned callback publishes events once that has committed.
 */
export type SettleHook = (approval: ApprovalEntity, manager: EntityManager) => Promise<AfterCommit | void>;

export interface VoteInput {
  decision: 'approve' | 'deny';
  comment?: string;
  scope?: ApprovalScope;
}

type VoteOutcome = { refused: DomainError; after?: AfterCommit } | { approval: ApprovalEntity; after?: AfterCommit };

const LIVE_SESSION = ['opening', 'active'];
/** A timeout job may fire a little early; an approval this close to its expiry is treated as expired. */
const EXPIRY_SLACK_MS = 1000;

/**
 * Approvals of access requests and held statements: N-of-M votes by eligible approvers, never by
 * the requester; one deny decides; a vote after the expiry is refused. Every change is one
 * transaction with its audit event, the row locked (`FOR UPDATE`) so two approvers voting at once
 * are counted one after the other; events are published only after the commit.
 */
@Injectable()
export class ApprovalsService implements OnModuleInit, OnApplicationBootstrap {
  private readonly log = loggerFor(ApprovalsService);
  private readonly settleHooks = new Map<ApprovalKind, SettleHook>();

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(DomainEvents) private readonly events: DomainEvents,
    @Inject(JobsService) private readonly jobs: JobsService,
  ) {}

  onModuleInit(): void {
    this.jobs.handle('approval-timeout', ({ approvalId }) => this.expire(approvalId));
    this.jobs.reconcileWith(() => this.reconcile());
  }

  async onApplicationBootstrap(): Promise<void> {
    try {
      await this.reconcile();
    } catch (err) {
      this.log.error({ err }, 'reconciling pending approvals failed; their timers run when Redis is back');
    }
  }

  /** Catch up after downtime or a lost job: expire what is overdue, (re)schedule the timers of the rest (a no-op when queued). */
  async reconcile(): Promise<void> {
    const pending = await this.dataSource.getRepository(ApprovalEntity).find({ where: { status: 'pending' } });
    for (const a of pending) {
      if (a.expiresAt.getTime() <= Date.now()) await this.expire(a.id);
      else await this.jobs.schedule('approval-timeout', { approvalId: a.id }, a.expiresAt);
    }
  }

  onSettled(kind: ApprovalKind, hook: SettleHook): void {
    this.settleHooks.set(kind, hook);
  }

  /** Creates a pending approval inside the caller's transaction; call the result after the commit. */
  async create(input: NewApproval, manager: EntityManager): Promise<{ approval: ApprovalEntity; afterCommit: AfterCommit }> {
    const now = new Date();
    const approval = Object.assign(new ApprovalEntity(), {
      id: randomUUID(),
      kind: input.kind,
      accessRequestId: input.accessRequestId ?? null,
      sessionId: input.sessionId ?? null,
      resourceName: input.resourceName,
      status: 'pending' as const,
      requiredApprovals: input.requirement.approvals,
      approverConstraint: input.requirement.approvers.join(', '),
      votes: [],
      subject: input.subject,
      detail: input.detail ?? null,
      requestedBy: input.requestedBy.id,
      process: processOf(input.requestedBy),
      scope: null,
      createdAt: now,
      expiresAt: new Date(now.getTime() + input.requirement.timeoutSeconds * 1000),
      decidedAt: null,
      requestFingerprint: input.requestFingerprint ?? null,
      consumedAt: null,
    });
    await insertRow(manager, ApprovalEntity, approval);
    await this.audit.append({
      action: 'approval.requested', outcome: 'pending', actor: input.requestedBy, resource: input.resourceName,
      details: { approvalId: approval.id, kind: approval.kind, sessionId: approval.sessionId, accessRequestId: approval.accessRequestId, requiredApprovals: approval.requiredApprovals, approvers: approval.approverConstraint, expiresAt: approval.expiresAt.toISOString(), subject: input.subject },
    }, manager);
    return {
      approval,
      afterCommit: async () => {
        await this.jobs.schedule('approval-timeout', { approvalId: approval.id }, approval.expiresAt).catch((err: unknown) => {
          // Still fails closed: a vote after expires_at is refused, and the next start expires it.
          this.log.error({ err, approvalId: approval.id }, 'could not schedule the approval timeout');
        });
        await this.events.publish('approval.requested', { approval: approvalEventView(approval) });
        if (approval.kind !== 'access_request') {
          await this.events.publish('statement.held', { approval: approvalEventView(approval), sessionId: approval.sessionId });
        }
      },
    };
  }

  async vote(id: string, voter: Principal, input: VoteInput): Promise<ApprovalEntity> {
    const outcome = await this.dataSource.transaction(async (tx): Promise<VoteOutcome> => {
      const approval = await this.lock(tx, id);
      if (approval.status !== 'pending') return { refused: new ConflictError(`approval ${id} is already ${approval.status}`) };
      if (approval.expiresAt.getTime() <= Date.now()) {
        const after = await this.settle(tx, approval, 'expired', null, 'the approval timed out');
        return { refused: new ConflictError(`approval ${id} expired at ${approval.expiresAt.toISOString()}; the vote was not counted`), after };
      }
      const eligible = approverEligibility(voter, approval.requestedBy, approval.approverConstraint);
      if (!eligible.ok) {
        await this.audit.append({ action: 'approval.vote', outcome: 'denied', actor: voter, resource: approval.resourceName, details: { approvalId: id, decision: input.decision, reason: eligible.reason } }, tx);
        return { refused: new DomainError(DomainErrorCode.Forbidden, eligible.reason) };
      }
      // One vote per person: the same object through another issuer or token counts as the same voter.
      if (approval.votes.some((v) => sameIdentity(v.approverId, voter.id))) return { refused: new ConflictError(`you already voted on approval ${id}`) };
      // A Kubernetes request waits in the agent, not in its session: the client sends it again once approved.
      if (approval.sessionId && approval.kind !== 'access_request' && approval.kind !== 'kubernetes_request' && !(await this.sessionLive(tx, approval.sessionId))) {
        const after = await this.settle(tx, approval, 'cancelled', null, 'the session ended while the statement was held');
        return { refused: new ConflictError(`the session of approval ${id} has ended; nothing is waiting for this approval`), after };
      }
      const vote: ApprovalVote = {
        approverId: voter.id,
        approverName: voter.displayName ?? voter.id,
        decision: input.decision,
        comment: input.comment ?? null,
        scope: input.decision === 'approve' && approval.kind !== 'access_request' ? (input.scope ?? 'once') : null,
        at: new Date().toISOString(),
      };
      approval.votes = [...approval.votes, vote];
      await this.audit.append({ action: 'approval.vote', outcome: 'success', actor: voter, resource: approval.resourceName, details: { approvalId: id, kind: approval.kind, decision: vote.decision, comment: vote.comment, scope: vote.scope } }, tx);
      const approvals = approval.votes.filter((v) => v.decision === 'approve');
      if (input.decision === 'deny') return { approval, after: await this.settle(tx, approval, 'denied', voter, input.comment ?? null) };
      if (approvals.length >= approval.requiredApprovals) {
        // Every approver must have agreed to the wider scope for it to apply.
        approval.scope = approval.kind === 'access_request' ? null : approvals.every((v) => v.scope === 'session') ? 'session' : 'once';
        return { approval, after: await this.settle(tx, approval, 'approved', voter, input.comment ?? null) };
      }
      await tx.getRepository(ApprovalEntity).update({ id }, { votes: approval.votes });
      return { approval };
    });
    // A refusal may still have changed the approval (expired, cancelled): announce that first.
    if (outcome.after) await outcome.after();
    if ('refused' in outcome) throw outcome.refused;
    return outcome.approval;
  }

  /** The timeout job (and the start-up catch-up): idempotent. */
  async expire(id: string): Promise<void> {
    const after = await this.dataSource.transaction(async (tx) => {
      const approval = await tx.getRepository(ApprovalEntity).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!approval || approval.status !== 'pending') return undefined;
      // Early (clocks of replicas differ): the job fails and BullMQ retries it with backoff.
      if (approval.expiresAt.getTime() > Date.now() + EXPIRY_SLACK_MS) throw new NotDueYet(`approval ${id}`, approval.expiresAt);
      return this.settle(tx, approval, 'expired', null, 'the approval timed out');
    });
    if (after) await after();
  }

  /** Ends a pending approval nobody can use any more (its session ended, its agent went away). */
  async cancel(id: string, reason: string): Promise<void> {
    const after = await this.dataSource.transaction(async (tx) => {
      const approval = await tx.getRepository(ApprovalEntity).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!approval || approval.status !== 'pending') return undefined;
      return this.settle(tx, approval, 'cancelled', null, reason);
    });
    if (after) await after();
  }

  /**
   * A Kubernetes request that policy holds came again: uses up the oldest approved, unused approval
   * of the same request (fingerprint) by the same principal on the same cluster, approved within
   * the last `ttlSeconds`, and returns its id; else the id of one still pending, if any. One
   * statement marks the row used, skipping rows another transaction holds: two agents or two
   * concurrent identical requests never both get the same approval.
   */
  async consumeKubernetesRequest(principalId: string, resourceName: string, fingerprint: string, ttlSeconds: number, actor: Principal | { id: string; kind: string }): Promise<{ consumed: string | null; pending: string | null }> {
    return this.dataSource.transaction(async (tx) => {
      const used = await tx.query<unknown>(
        `UPDATE approvals SET consumed_at = now()
          WHERE consumed_at IS NULL AND id = (
            SELECT id FROM approvals
             WHERE kind = 'kubernetes_request' AND status = 'approved' AND consumed_at IS NULL
               AND requested_by = $1 AND resource_name = $2 AND request_fingerprint = $3
               AND decided_at > now() - make_interval(secs => $4)
             ORDER BY decided_at LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING id`,
        [principalId, resourceName, fingerprint, ttlSeconds],
      );
      // TypeORM's Postgres driver answers an UPDATE with [rows, count].
      const rows = (Array.isArray(used) && Array.isArray(used[0]) ? used[0] : used) as { id: string }[];
      const consumed = rows[0]?.id ?? null;
      if (consumed) {
        await this.audit.append({ action: 'approval.consumed', outcome: 'success', actor, resource: resourceName, details: { approvalId: consumed, kind: 'kubernetes_request' } }, tx);
        return { consumed, pending: null };
      }
      const pending = await tx.query<{ id: string }[]>(
        `SELECT id FROM approvals
          WHERE kind = 'kubernetes_request' AND status = 'pending' AND expires_at > now()
            AND requested_by = $1 AND resource_name = $2 AND request_fingerprint = $3
          ORDER BY created_at DESC LIMIT 1`,
        [principalId, resourceName, fingerprint],
      );
      return { consumed: null, pending: pending[0]?.id ?? null };
    });
  }

  async cancelForSession(sessionId: string, reason: string): Promise<void> {
    const pending = await this.dataSource.getRepository(ApprovalEntity).find({ where: { sessionId, status: 'pending' } });
    for (const a of pending) await this.cancel(a.id, reason);
  }

  async get(id: string, viewer: Principal): Promise<ApprovalEntity> {
    const approval = await this.dataSource.getRepository(ApprovalEntity).findOne({ where: { id } });
    // Someone else's approval is "not found" to a requester: its existence is not theirs to learn.
    if (!approval || (!seesEverything(viewer) && approval.requestedBy !== viewer.id)) throw new NotFoundError('approval', id);
    return approval;
  }

  list(viewer: Principal, q: { status?: ApprovalStatus; kind?: ApprovalKind; limit: number }): Promise<ApprovalEntity[]> {
    return this.dataSource.getRepository(ApprovalEntity).find({
      where: {
        ...(q.status ? { status: q.status } : {}),
        ...(q.kind ? { kind: q.kind } : {}),
        ...(seesEverything(viewer) ? {} : { requestedBy: viewer.id }),
      },
      order: { createdAt: 'DESC' },
      take: q.limit,
    });
  }

  private async lock(tx: EntityManager, id: string): Promise<ApprovalEntity> {
    const approval = await tx.getRepository(ApprovalEntity).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
    if (!approval) throw new NotFoundError('approval', id);
    return approval;
  }

  private async sessionLive(tx: EntityManager, sessionId: string): Promise<boolean> {
    const session = await tx.getRepository(SessionEntity).findOne({ where: { id: sessionId } });
    return session !== null && LIVE_SESSION.includes(session.status);
  }

  /** Writes the final status with its audit event and the kind's own effects; returns the publisher. */
  private async settle(tx: EntityManager, approval: ApprovalEntity, status: Exclude<ApprovalStatus, 'pending'>, by: Principal | null, note: string | null): Promise<AfterCommit> {
    approval.status = status;
    approval.decidedAt = new Date();
    await tx.getRepository(ApprovalEntity).update({ id: approval.id }, { status, decidedAt: approval.decidedAt, votes: approval.votes, scope: approval.scope });
    await this.audit.append({
      action: `approval.${status}`,
      outcome: status === 'approved' ? 'success' : status === 'denied' ? 'denied' : 'failure',
      actor: by ?? { id: 'gateway', kind: 'system' },
      resource: approval.resourceName,
      details: { approvalId: approval.id, kind: approval.kind, sessionId: approval.sessionId, accessRequestId: approval.accessRequestId, votes: approval.votes, scope: approval.scope, note },
    }, tx);
    const hook = this.settleHooks.get(approval.kind);
    const kindAfter = hook ? await hook(approval, tx) : undefined;
    return async () => {
      if (status !== 'expired') await this.jobs.cancel('approval-timeout', { approvalId: approval.id });
      const view = approvalEventView(approval);
      if (status === 'expired') await this.events.publish('approval.expired', { approval: view });
      else if (status !== 'cancelled') await this.events.publish('approval.decided', { approval: view });
      if (approval.kind !== 'access_request') await this.events.publish('statement.released', { approval: view, sessionId: approval.sessionId });
      if (kindAfter) await kindAfter();
    };
  }
}
