import { z } from 'zod';
import { limitText } from '../../common/query-fields.js';
import { DOMAIN_EVENT_TYPES } from '../../events/domain-event.js';

const comment = z.string().trim().min(1).max(2000);

export const approveBodySchema = z.strictObject({
  comment: comment.optional(),
  /** `session`: statements with the same fingerprint run without a new approval for the rest of the session. */
  scope: z.enum(['once', 'session']).default('once'),
});
export type ApproveBody = z.infer<typeof approveBodySchema>;

export const denyBodySchema = z.strictObject({ comment: comment.optional() });
export type DenyBody = z.infer<typeof denyBodySchema>;

export const approvalQuerySchema = z.strictObject({
  status: z.enum(['pending', 'approved', 'denied', 'expired', 'cancelled']).optional(),
  kind: z.enum(['access_request', 'statement', 'command', 'kubernetes_request']).optional(),
  limit: limitText(500, 100),
});
export type ApprovalQuery = z.infer<typeof approvalQuerySchema>;

export const streamQuerySchema = z.strictObject({
  /** Only the events of this approval (a workload waiting for one outcome). */
  approval: z.uuid().optional(),
  /** Comma-separated event types; default every type. */
  types: z
    .string()
    .transform((s) => s.split(',').map((t) => t.trim()).filter((t) => t.length > 0))
    .pipe(z.array(z.enum(DOMAIN_EVENT_TYPES)).min(1))
    .optional(),
});
export type StreamQuery = z.infer<typeof streamQuerySchema>;
