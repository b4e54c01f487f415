import { z } from 'zod';
import type { AgentEntity } from '../agent.entity.js';

export const registerAgentSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes, at most 63 characters'),
  description: z.string().max(1000).optional(),
  /** Principal id (`<issuer>#<oid>`) whose OIDC token may authenticate this agent instead of the credential. */
  oidcPrincipal: z.string().min(3).max(512).optional(),
});
export type RegisterAgentDto = z.infer<typeof registerAgentSchema>;

export function agentDto(a: AgentEntity) {
  return {
    id: a.id,
    name: a.name,
    description: a.description,
    createdBy: a.createdBy,
    createdAt: a.createdAt.toISOString(),
    revokedAt: a.revokedAt?.toISOString() ?? null,
    lastSeenAt: a.lastSeenAt?.toISOString() ?? null,
    version: a.version,
    oidcPrincipal: a.oidcPrincipalId,
    status: a.revokedAt ? 'revoked' : a.connected ? 'online' : 'offline',
  };
}
