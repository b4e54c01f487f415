import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { PolicyEngine, validatePolicySet } from '@gw/policy';
import type { Principal } from '@gw/identity';
import { AuditService } from '../audit/audit.service.js';
import { DomainError, DomainErrorCode, NotFoundError } from '../common/domain-error.js';
import { ActivePolicyService } from './active-policy.service.js';
import type { CreatePolicyDto, DryRunDto } from './dto/policy.dto.js';
import { PolicyVersionEntity } from './policy-version.entity.js';

const VERSION_LOCK_KEY = 0x6777_504f; // "gwPO"

@Injectable()
export class PoliciesService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(ActivePolicyService) private readonly active: ActivePolicyService,
  ) {}

  validate(text: string) {
    const result = validatePolicySet(text);
    return result.ok
      ? { valid: true, errors: [], policies: result.policies }
      : { valid: false, errors: result.errors, policies: [] };
  }

  /** Stores a new version; an invalid policy set is refused with the validator's messages. */
  async createVersion(dto: CreatePolicyDto, actor: Principal): Promise<PolicyVersionEntity> {
    const validation = validatePolicySet(dto.text);
    if (!validation.ok) {
      throw new DomainError(DomainErrorCode.PolicyInvalid, 'policy set is invalid', { errors: validation.errors });
    }
    const created = await this.dataSource.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [VERSION_LOCK_KEY]);
      const [{ max }] = await tx.query<[{ max: number }]>('SELECT COALESCE(MAX(version), 0) AS max FROM policy_versions');
      const entity = tx.create(PolicyVersionEntity, {
        id: randomUUID(),
        version: Number(max) + 1,
        text: dto.text,
        sha256: createHash('sha256').update(dto.text).digest('hex'),
        description: dto.description ?? null,
        createdBy: actor.id,
        createdAt: new Date(),
        isActive: false,
        activatedAt: null,
        activatedBy: null,
      });
      await tx.insert(PolicyVersionEntity, entity);
      await this.audit.append(
        { action: 'policy.version_created', outcome: 'success', actor, details: { version: entity.version, sha256: entity.sha256 } },
        tx,
      );
      if (dto.activate) await this.activateIn(tx, entity, actor);
      return entity;
    });
    if (dto.activate) await this.active.announceActivation();
    return created;
  }

  async activate(version: number, actor: Principal): Promise<PolicyVersionEntity> {
    const entity = await this.dataSource.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [VERSION_LOCK_KEY]);
      const found = await tx.findOne(PolicyVersionEntity, { where: { version } });
      if (!found) throw new NotFoundError('policy version', String(version));
      await this.activateIn(tx, found, actor);
      return found;
    });
    await this.active.announceActivation();
    return entity;
  }

  private async activateIn(tx: EntityManager, entity: PolicyVersionEntity, actor: Principal): Promise<void> {
    // Compile before switching: a version that cannot become an engine never becomes active.
    try {
      PolicyEngine.compile(entity.text);
    } catch (error) {
      throw new DomainError(DomainErrorCode.PolicyInvalid, `version ${entity.version} does not compile: ${String(error)}`);
    }
    await tx.query('UPDATE policy_versions SET is_active = false WHERE is_active');
    entity.isActive = true;
    entity.activatedAt = new Date();
    entity.activatedBy = actor.id;
    await tx.update(PolicyVersionEntity, { id: entity.id }, { isActive: true, activatedAt: entity.activatedAt, activatedBy: actor.id });
    await this.audit.append(
      { action: 'policy.activated', outcome: 'success', actor, details: { version: entity.version, sha256: entity.sha256 } },
      tx,
    );
  }

  list(): Promise<PolicyVersionEntity[]> {
    return this.dataSource.getRepository(PolicyVersionEntity).find({ order: { version: 'DESC' }, take: 500 });
  }

  async get(version: number): Promise<PolicyVersionEntity> {
    const found = await this.dataSource.getRepository(PolicyVersionEntity).findOne({ where: { version } });
    if (!found) throw new NotFoundError('policy version', String(version));
    return found;
  }

  async getActive(): Promise<PolicyVersionEntity> {
    const found = await this.dataSource.getRepository(PolicyVersionEntity).findOne({ where: { isActive: true } });
    if (!found) throw new NotFoundError('policy version', 'active');
    return found;
  }

  /** Evaluates without side effects against the given text, a stored version, or the active one. */
  async dryRun(dto: DryRunDto) {
    let text: string;
    let version: number | null = null;
    if (dto.text !== undefined) text = dto.text;
    else {
      const entity = dto.version !== undefined ? await this.get(dto.version) : await this.getActive();
      text = entity.text;
      version = entity.version;
    }
    let engine: PolicyEngine;
    try {
      engine = PolicyEngine.compile(text);
    } catch (error) {
      throw new DomainError(DomainErrorCode.PolicyInvalid, `policy does not compile: ${String(error)}`);
    }
    const principal: Principal = { ...dto.principal, subject: dto.principal.id };
    const decision = engine.evaluate({
      principal,
      action: dto.action,
      resource: dto.resource,
      context: dto.context,
    });
    return { version, decision };
  }
}
