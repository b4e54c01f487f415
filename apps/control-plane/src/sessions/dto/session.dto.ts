import { z } from 'zod';
import { isoTimestamp, limitText, processFilterFields } from '../../common/query-fields.js';
import type { SessionEntity } from '../session.entity.js';

export const sessionQuerySchema = z.strictObject({
  principal: z.string().min(1).max(512).optional(),
  resource: z.string().min(1).max(256).optional(),
  type: z.enum(['postgres', 'ssh', 'mysql', 'kubernetes', 'tcp', 'mcp']).optional(),
  parent: z.uuid().optional(),
  status: z.enum(['opening', 'active', 'ended', 'killed', 'failed']).optional(),
  from: isoTimestamp.optional(),
  to: isoTimestamp.optional(),
  limit: limitText(500, 100),
  ...processFilterFields,
});
export type SessionQueryDto = z.infer<typeof sessionQuerySchema>;

export function sessionDto(s: SessionEntity) {
  return {
    id: s.id,
    status: s.status,
    principal: s.principal,
    tokenId: s.tokenId,
    resource: { name: s.resourceName, type: s.resourceType },
    role: s.role,
    /** The just-in-time grant the session runs under (it ends with the grant). */
    grantId: s.grantId,
    agentId: s.agentId,
    sourceAddress: s.sourceAddress,
    /** Claimed by the client (application_name, user agent...): recorded, never trusted. */
    declared: s.declared,
    startedAt: s.startedAt.toISOString(),
    endedAt: s.endedAt?.toISOString() ?? null,
    endReason: s.endReason,
    /** Who killed it: `{ kind: 'principal', id, displayName }` or `{ kind: 'grant', grantId }`; null otherwise. */
    killedBy: s.killedBy,
    bytesIn: Number(s.bytesIn),
    bytesOut: Number(s.bytesOut),
    /** The MCP session (type `mcp`) whose tool call opened this session; list the other way with `?parent=<id>`. */
    parentSessionId: s.parentSessionId,
  };
}
