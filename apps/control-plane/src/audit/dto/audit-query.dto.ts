import { z } from 'zod';
import type { AuditEventEntity } from '../audit-event.entity.js';

export const auditQuerySchema = z.strictObject({
  principal: z.string().min(1).max(512).optional(),
  resource: z.string().min(1).max(256).optional(),
  action: z.string().min(1).max(128).optional(),
  from: z.iso.datetime({ offset: true }).transform((s) => new Date(s)).optional(),
  to: z.iso.datetime({ offset: true }).transform((s) => new Date(s)).optional(),
  before: z.string().regex(/^\d{1,19}$/, 'must be a sequence number').optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
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
  };
}
