import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TokenRejectedError, TokenVerifier } from '@gw/identity';
import { agentHandshakeSchema } from '@gw/contracts';
import { AgentsService } from '../agents/agents.service.js';
import { AgentEntity } from '../agents/agent.entity.js';

export class AgentAuthError extends Error {}

/** Who is dialling in: the one-time agent credential, or the agent's own OIDC token. */
@Injectable()
export class AgentAuthenticator {
  constructor(
    @Inject(AgentsService) private readonly agents: AgentsService,
    @Inject(TokenVerifier) private readonly verifier: TokenVerifier,
    @Inject(DataSource) private readonly dataSource: DataSource,
  ) {}

  async authenticate(auth: unknown): Promise<{ agent: AgentEntity; version?: string }> {
    const parsed = agentHandshakeSchema.safeParse(auth);
    if (!parsed.success) throw new AgentAuthError('handshake must carry {credential} or {token, agentName}');
    const hs = parsed.data;
    if ('credential' in hs) {
      const agent = await this.agents.authenticate(hs.credential);
      if (!agent) throw new AgentAuthError('agent credential unknown or revoked');
      return { agent, version: hs.version };
    }
    let principalId: string;
    try {
      principalId = (await this.verifier.verify(hs.token)).id;
    } catch (error) {
      if (error instanceof TokenRejectedError) throw new AgentAuthError(`agent token refused: ${error.reason}`);
      throw error;
    }
    const agent = await this.dataSource.getRepository(AgentEntity).findOne({ where: { name: hs.agentName } });
    if (!agent || agent.revokedAt || agent.oidcPrincipalId !== principalId) {
      throw new AgentAuthError(`no active agent "${hs.agentName}" is registered for this identity`);
    }
    return { agent, version: hs.version };
  }
}
