import { z } from 'zod';
import type { AgentEntity } from '../agent.entity.js';

export const registerAgentSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes, at most 63 characters'),
  description: z.string().max(1000).optional(),
});
export type RegisterAgentDto = z.infer<typeof registerAgentSchema>;

export function agentDto(a: AgentEntity, online = false) {
  return {
    id: a.id,
    name: a.name,
    description: a.description,
    createdBy: a.createdBy,
    createdAt: a.createdAt.toISOString(),
    revokedAt: a.revokedAt?.toISOString() ?? null,
    lastSeenAt: a.lastSeenAt?.toISOString() ?? null,
    version: a.version,
    status: a.revokedAt ? 'revoked' : online ? 'online' : 'offline',
  };
}
