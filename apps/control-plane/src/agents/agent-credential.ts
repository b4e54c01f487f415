import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * One-time agent credential: `gwa_<agent id hex>_<43 chars of base64url secret>`. 256 bits of
 * entropy, so a plain SHA-256 is a sufficient verifier (no password stretching needed); only the
 * hash is stored and the credential is shown once, at registration.
 */
const PREFIX = 'gwa_';
const FORMAT = /^gwa_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/;

export function newAgentCredential(agentId: string): { credential: string; hash: string } {
  const credential = `${PREFIX}${agentId.replace(/-/g, '')}_${randomBytes(32).toString('base64url')}`;
  return { credential, hash: hashCredential(credential) };
}

export function hashCredential(credential: string): string {
  return createHash('sha256').update(credential).digest('hex');
}

/** The agent id named inside a well-formed credential, or undefined. */
export function agentIdOf(credential: string): string | undefined {
  const match = FORMAT.exec(credential);
  if (!match?.[1]) return undefined;
  const h = match[1];
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function credentialMatches(credential: string, storedHash: string): boolean {
  const presented = Buffer.from(hashCredential(credential), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}
