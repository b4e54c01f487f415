import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { Principal } from '@gw/identity';
import { DEFAULT_APPROVAL_TIMEOUT_SECONDS, DEFAULT_APPROVERS } from '@gw/policy';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { AuditService } from '../audit/audit.service.js';
import { DomainError, DomainErrorCode } from '../common/domain-error.js';
import { insertRow } from '../database/insert-row.js';
import { DomainEvents } from '../events/domain-events.service.js';
import { ActivePolicyService } from '../policies/active-policy.service.js';
import { ResourcesService } from '../resources/resources.service.js';
import { ApprovalsService, type AfterCommit } from '../approvals/approvals.service.js';
import type { ApprovalEntity } from '../approvals/approval.entity.js';
import { seesEverything } from '../approvals/approver-eligibility.js';
import { AccessRequestEntity, type AccessRequestStatus } from './access-request.entity.js';
import type { AccessRequestBody } from './dto/access-request.dto.js';
import { GrantsService } from './grants.service.js';
import { accessRequestView } from './grant-view.js';
import type { GrantEntity } from './grant.entity.js';

export interface AccessRequestOutcome {
  accessRequest: AccessRequestEntity;
  grant?: GrantEntity;
  approval?: ApprovalEntity;
}

/**
 * `POST /access-requests`: policy decides with the `request_access` action on the resource
 * (context `dbRole`/`login` = the role asked for). allow: a grant at once; require_approval: an
 * approval with the permit's N, approvers and timeout; deny: refused (stored and audited). The
 * grant lasts the asked duration, capped by the permit's @max_session (or GRANT_MAX_DURATION_SECONDS).
 */
@Injectable()
export class AccessRequestsService implements OnModuleInit {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(ActivePolicyService) private readonly policy: ActivePolicyService,
    @Inject(ResourcesService) private readonly resources: ResourcesService,
    @Inject(ApprovalsService) private readonly approvals: ApprovalsService,
    @Inject(GrantsService) private readonly grants: GrantsService,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(DomainEvents) private readonly events: DomainEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.approvals.onSettled('access_request', (approval, tx) => this.settle(approval, tx));
  }

  async request(principal: Principal, body: AccessRequestBody, sourceIp: string | undefined): Promise<AccessRequestOutcome> {
    const resource = await this.resources.findByName(body.resource);
    if (!resource) throw new DomainError(DomainErrorCode.NotFound, `unknown resource "${body.resource}"`);
    const decision = this.policy.evaluate({
      principal,
      action: 'request_access',
      resource: { name: resource.name, type: resource.type, environment: resource.environment ?? undefined, labels: resource.labels },
      context: { sourceIp: sourceIp ?? '', dbRole: body.role, login: body.role },
    });
    const maxSeconds = Math.min(decision.obligations.maxSessionSeconds ?? this.config.grants.maxDurationSeconds, this.config.grants.maxDurationSeconds);
    const grantedSeconds = Math.min(body.duration, maxSeconds);
    const status: AccessRequestStatus = decision.effect === 'deny' ? 'denied' : decision.effect === 'allow' ? 'approved' : 'pending';
    const request = Object.assign(new AccessRequestEntity(), {
      id: randomUUID(),
      principalId: principal.id,
      principal: { id: principal.id, kind: principal.kind, displayName: principal.displayName, appId: principal.appId, tenantId: principal.tenantId, gatewayRoles: principal.gatewayRoles, ...(principal.process ? { process: principal.process } : {}) },
      resourceName: resource.name,
      role: body.role,
      durationSeconds: body.duration,
      reason: body.reason,
      status,
      decision: { effect: decision.effect, policies: decision.determiningPolicies, reasons: decision.reasons, grantSeconds: grantedSeconds, capped: grantedSeconds < body.duration },
      createdAt: new Date(),
      decidedAt: status === 'pending' ? null : new Date(),
    });
    const outcome = await this.dataSource.transaction(async (tx) => {
      await insertRow(tx, AccessRequestEntity, request);
      await this.audit.append({
        action: 'access_request.created', outcome: decision.effect === 'deny' ? 'denied' : decision.effect === 'allow' ? 'allowed' : 'pending',
        actor: principal, resource: resource.name,
        details: { accessRequestId: request.id, role: body.role, durationSeconds: body.duration, grantSeconds: grantedSeconds, reason: body.reason, policies: decision.determiningPolicies, reasons: decision.reasons },
      }, tx);
      if (decision.effect === 'allow') {
        const made = await this.grants.create({ principal, resourceName: resource.name, role: body.role, durationSeconds: grantedSeconds, accessRequestId: request.id }, tx);
        return { grant: made.grant, after: made.afterCommit };
      }
      if (decision.effect === 'require_approval') {
        const requirement = decision.obligations.approval;
        const made = await this.approvals.create({
          kind: 'access_request',
          requestedBy: principal,
          resourceName: resource.name,
          accessRequestId: request.id,
          subject: { resource: resource.name, role: body.role, durationSeconds: body.duration, grantSeconds: grantedSeconds, reason: body.reason, requester: principal.displayName ?? principal.id, policies: decision.determiningPolicies },
          requirement: {
            approvals: requirement?.approvals ?? 1,
            approvers: requirement?.approvers ?? DEFAULT_APPROVERS,
            timeoutSeconds: requirement?.timeoutSeconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS,
          },
        }, tx);
        return { approval: made.approval, after: made.afterCommit };
      }
      return {};
    });
    await this.events.publish('access_request.created', { accessRequest: accessRequestView(request) });
    if (outcome.after) await outcome.after();
    if (decision.effect === 'allow') await this.events.publish('access_request.approved', { accessRequest: accessRequestView(request) });
    if (decision.effect === 'deny') {
      await this.events.publish('access_request.denied', { accessRequest: accessRequestView(request) });
      throw new DomainError(DomainErrorCode.Forbidden, `access request refused: ${decision.reasons.join('; ')}`, { accessRequestId: request.id, policies: decision.determiningPolicies });
    }
    return { accessRequest: request, ...(outcome.grant ? { grant: outcome.grant } : {}), ...(outcome.approval ? { approval: outcome.approval } : {}) };
  }

  list(viewer: Principal, q: { status?: AccessRequestStatus; limit: number }): Promise<AccessRequestEntity[]> {
    return this.dataSource.getRepository(AccessRequestEntity).find({
      where: { ...(q.status ? { status: q.status } : {}), ...(seesEverything(viewer) ? {} : { principalId: viewer.id }) },
      order: { createdAt: 'DESC' },
      take: q.limit,
    });
  }

  /** The approval of a request settled: the request follows, and an approval makes the grant. */
  private async settle(approval: ApprovalEntity, tx: EntityManager): Promise<AfterCommit | void> {
    if (!approval.accessRequestId) return;
    const request = await tx.getRepository(AccessRequestEntity).findOne({ where: { id: approval.accessRequestId }, lock: { mode: 'pessimistic_write' } });
    if (!request || request.status !== 'pending') return;
    request.status = approval.status === 'pending' ? 'pending' : approval.status;
    request.decidedAt = new Date();
    await tx.getRepository(AccessRequestEntity).update({ id: request.id }, { status: request.status, decidedAt: request.decidedAt });
    let grantAfter: AfterCommit | undefined;
    if (request.status === 'approved') {
      const seconds = Number(request.decision?.grantSeconds ?? request.durationSeconds);
      const made = await this.grants.create({ principal: { id: request.principalId, kind: typeof request.principal.kind === 'string' ? request.principal.kind : 'unknown', displayName: request.principal.displayName, process: request.principal.process }, resourceName: request.resourceName, role: request.role, durationSeconds: Math.min(seconds, request.durationSeconds), accessRequestId: request.id }, tx);
      grantAfter = made.afterCommit;
    }
    const view = accessRequestView(request);
    return async () => {
      if (request.status === 'approved') await this.events.publish('access_request.approved', { accessRequest: view });
      if (request.status === 'denied') await this.events.publish('access_request.denied', { accessRequest: view });
      if (grantAfter) await grantAfter();
    };
  }
}
