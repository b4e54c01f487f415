import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * `X-Gateway-Signature: sha256=<hex>` is the HMAC-SHA256, keyed with the subscription secret, of
 * `<X-Gateway-Timestamp>.<raw body>`. Signing the timestamp lets receivers refuse replays of an old
 * delivery. README "Webhooks" carries a copy of `verifyWebhookSignature` for receivers.
 */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What a receiver runs on each request; `body` must be the raw bytes as received, not re-serialised JSON. */
export function verifyWebhookSignature(options: {
  secret: string;
  body: string;
  timestamp: string | undefined;
  signature: string | undefined;
  toleranceSeconds?: number;
  nowSeconds?: number;
}): boolean {
  const { secret, body, timestamp, signature, toleranceSeconds = 300, nowSeconds = Math.floor(Date.now() / 1000) } = options;
  if (!timestamp || !signature || !/^\d+$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`);
  const presented = Buffer.from(signature);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}
