import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhookSignature } from './webhook-signature.js';

const secret = 'whsec_test_secret_of_enough_length';
const body = '{"id":"d1","summary":"x"}';
const now = 1_800_000_000;

describe('webhook signature', () => {
  it('is sha256=<hex HMAC of "<timestamp>.<body>">, and verifies', () => {
    const sig = signWebhook(secret, String(now), body);
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature({ secret, body, timestamp: String(now), signature: sig, nowSeconds: now })).toBe(true);
  });

  it('fails on a changed body, timestamp, secret or signature', () => {
    const sig = signWebhook(secret, String(now), body);
    expect(verifyWebhookSignature({ secret, body: body.replace('x', 'y'), timestamp: String(now), signature: sig, nowSeconds: now })).toBe(false);
    expect(verifyWebhookSignature({ secret, body, timestamp: String(now + 1), signature: sig, nowSeconds: now })).toBe(false);
    expect(verifyWebhookSignature({ secret: `${secret}x`, body, timestamp: String(now), signature: sig, nowSeconds: now })).toBe(false);
    expect(verifyWebhookSignature({ secret, body, timestamp: String(now), signature: sig.slice(0, -1), nowSeconds: now })).toBe(false);
    expect(verifyWebhookSignature({ secret, body, timestamp: String(now), signature: undefined, nowSeconds: now })).toBe(false);
    expect(verifyWebhookSignature({ secret, body, timestamp: 'abc', signature: sig, nowSeconds: now })).toBe(false);
  });

  it('refuses a replay older than the tolerance', () => {
    const old = String(now - 301);
    const sig = signWebhook(secret, old, body);
    expect(verifyWebhookSignature({ secret, body, timestamp: old, signature: sig, nowSeconds: now })).toBe(false);
    expect(verifyWebhookSignature({ secret, body, timestamp: old, signature: sig, nowSeconds: now, toleranceSeconds: 600 })).toBe(true);
  });
});
