import { z } from 'zod';
import { isoTimestamp, limitText } from '../../common/query-fields.js';
import { EVENT_PATTERN_HELP, isValidEventPattern } from '../event-patterns.js';
import { displayWebhookUrl, webhookUrlProblem } from '../webhook-url.js';
import type { WebhookSubscriptionEntity } from '../webhook-subscription.entity.js';
import type { WebhookDeliveryEntity } from '../webhook-delivery.entity.js';

export const createWebhookSchema = z.strictObject({
  url: z
    .string()
    .max(2048)
    .superRefine((url, ctx) => {
      const problem = webhookUrlProblem(url);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  events: z
    .array(z.string().max(64).refine(isValidEventPattern, { message: `must be ${EVENT_PATTERN_HELP}` }))
    .min(1, 'name at least one event type or pattern')
    .max(32)
    .transform((events) => [...new Set(events)]),
  format: z.enum(['json', 'slack']).default('json'),
  /** The HMAC key; generated when absent. Short keys are refused: they can be guessed offline from one signed body. */
  secret: z.string().min(24, 'at least 24 characters').max(256).optional(),
  description: z.string().max(500).optional(),
});
export type CreateWebhookDto = z.infer<typeof createWebhookSchema>;

export const listWebhooksSchema = z.strictObject({
  includeDeleted: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});

export const listDeliveriesSchema = z.strictObject({
  status: z.enum(['pending', 'delivered', 'dead', 'cancelled']).optional(),
  before: isoTimestamp.optional(),
  limit: limitText(500, 100),
});
export type ListDeliveriesDto = z.infer<typeof listDeliveriesSchema>;

/** Never the secret; the URL only as scheme, host and port (its path may be a credential). */
export function webhookDto(s: WebhookSubscriptionEntity) {
  return {
    id: s.id,
    url: displayWebhookUrl(s.url),
    description: s.description,
    events: s.events,
    format: s.format,
    status: s.disabledAt ? ('deleted' as const) : ('active' as const),
    createdBy: s.createdBy,
    createdAt: s.createdAt.toISOString(),
    deletedAt: s.disabledAt?.toISOString() ?? null,
    deletedBy: s.disabledBy,
  };
}

export function deliveryDto(d: WebhookDeliveryEntity) {
  return {
    id: d.id,
    subscriptionId: d.subscriptionId,
    eventId: d.eventId,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    redeliveries: d.round,
    lastError: d.lastError,
    lastStatusCode: d.lastStatusCode,
    createdAt: d.createdAt.toISOString(),
    lastAttemptAt: d.lastAttemptAt?.toISOString() ?? null,
    deliveredAt: d.deliveredAt?.toISOString() ?? null,
  };
}
