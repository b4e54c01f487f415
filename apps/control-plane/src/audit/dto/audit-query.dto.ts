import { z } from 'zod';
import { bigintText, isoTimestamp, limitText, processFilterFields } from '../../common/query-fields.js';
import type { AuditEventEntity } from '../audit-event.entity.js';

export const auditQuerySchema = z.strictObject({
  principal: z.string().min(1).max(512).optional(),
  resource: z.string().min(1).max(256).optional(),
  action: z.string().min(1).max(128).optional(),
  from: isoTimestamp.optional(),
  to: isoTimestamp.optional(),
  before: bigintText.optional(),
  limit: limitText(500, 100),
  ...processFilterFields,
});
export type AuditQueryDto = z.infer<typeof auditQuerySchema>;

export function auditEventDto(e: AuditEventEntity) {
  return {
    seq: e.seq,
    id: e.id,
    occurredAt: e.occurredAt.toISOString(),
    actorId: e.actorId,
    actor: e.actor,
    action: e.action,
    resource: e.resource,
    outcome: e.outcome,
    details: e.details,
    prevHash: e.prevHash,
    hash: e.hash,
    chainVersion: e.chainVersion,
  };
}
