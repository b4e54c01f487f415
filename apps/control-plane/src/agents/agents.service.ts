import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, IsNull } from 'typeorm';
import type { Principal } from '@gw/identity';
import { AuditService } from '../audit/audit.service.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { ConflictError, NotFoundError } from '../common/domain-error.js';
import { channels } from '../redis/redis.module.js';
import { RedisChannels } from '../redis/redis-channels.js';
import { AgentEntity } from './agent.entity.js';
import { agentIdOf, credentialMatches, newAgentCredential } from './agent-credential.js';
import type { RegisterAgentDto } from './dto/agent.dto.js';

@Injectable()
export class AgentsService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(RedisChannels) private readonly redisChannels: RedisChannels,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Returns the credential once; only its hash is kept. */
  async register(dto: RegisterAgentDto, actor: Principal): Promise<{ agent: AgentEntity; credential: string }> {
    return this.dataSource.transaction(async (tx) => {
      if (await tx.exists(AgentEntity, { where: { name: dto.name } })) {
        throw new ConflictError(`an agent named "${dto.name}" already exists`);
      }
      const id = randomUUID();
      const { credential, hash } = newAgentCredential(id);
      const agent = tx.create(AgentEntity, {
        id, name: dto.name, credentialHash: hash, description: dto.description ?? null, createdBy: actor.id,
        createdAt: new Date(), revokedAt: null, revokedBy: null, lastSeenAt: null, version: null, connected: false,
        oidcPrincipalId: dto.oidcPrincipal ?? null,
      });
      await tx.insert(AgentEntity, agent);
      await this.audit.append({ action: 'agent.registered', outcome: 'success', actor, resource: `agent:${dto.name}`, details: { agentId: id } }, tx);
      return { agent, credential };
    });
  }

  list(): Promise<AgentEntity[]> {
    return this.dataSource.getRepository(AgentEntity).find({ order: { createdAt: 'DESC' } });
  }

  async revoke(id: string, actor: Principal): Promise<AgentEntity> {
    const agent = await this.dataSource.transaction(async (tx) => {
      const found = await tx.findOne(AgentEntity, { where: { id } });
      if (!found) throw new NotFoundError('agent', id);
      if (found.revokedAt) return found;
      found.revokedAt = new Date();
      found.revokedBy = actor.id;
      await tx.update(AgentEntity, { id }, { revokedAt: found.revokedAt, revokedBy: actor.id });
      await tx.query('UPDATE resources SET online = false, updated_at = now() WHERE agent_id = $1', [id]);
      await tx.query('UPDATE agents SET connected = false WHERE id = $1', [id]);
      await this.audit.append({ action: 'agent.revoked', outcome: 'success', actor, resource: `agent:${found.name}`, details: { agentId: id } }, tx);
      return found;
    });
    // Every replica's agent hub disconnects this agent's sockets.
    await this.redisChannels.publish(channels(this.config.redis.prefix).agentRevoked, id);
    return agent;
  }

  /** Checks a presented agent credential; undefined when unknown, wrong or revoked. */
  async authenticate(credential: string): Promise<AgentEntity | undefined> {
    const id = agentIdOf(credential);
    if (!id) return undefined;
    const agent = await this.dataSource.getRepository(AgentEntity).findOne({ where: { id, revokedAt: IsNull() } });
    if (!agent || !credentialMatches(credential, agent.credentialHash)) return undefined;
    return agent;
  }
}
