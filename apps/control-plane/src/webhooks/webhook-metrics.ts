import { Counter } from 'prom-client';
import { metricsRegistry } from '../health/metrics.js';

/** One increment per attempt: delivered, failed (will retry), dead (last attempt failed), cancelled. */
export const webhookAttempts = new Counter({
  name: 'gw_webhook_delivery_attempts_total',
  help: 'Webhook delivery attempts by outcome',
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});
