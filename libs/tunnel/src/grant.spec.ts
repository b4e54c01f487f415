import { type CryptoKey, type JWK, SignJWT, exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  GrantRejectedError,
  type GrantRejectedCode,
  type SessionGrantClaims,
  SessionGrantVerifier,
  signSessionGrant,
} from './grant.js';

let privateKey: CryptoKey;
let publicJwk: JWK;
let otherPrivateKey: CryptoKey;

const NOW = 1_800_000_000; // unix seconds, fixed for reproducibility

const claims = (overrides: Partial<SessionGrantClaims> = {}): SessionGrantClaims => ({
  sid: 'sess-1',
  principal: { id: 'entra:tid/oid', displayName: 'billing-agent', kind: 'workload' },
  resource: 'orders-db',
  login: 'app_readonly',
  agentId: 'agent-eu-1',
  sessionExpiresAt: NOW + 3600,
  ...overrides,
});

const verifier = (options: Partial<ConstructorParameters<typeof SessionGrantVerifier>[0]> = {}, nowSec = NOW + 1) =>
  new SessionGrantVerifier({ publicKey: publicJwk, agentId: 'agent-eu-1', now: () => nowSec * 1000, ...options });

async function rejection(promise: Promise<unknown>): Promise<GrantRejectedCode> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GrantRejectedError);
  return (error as GrantRejectedError).code;
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

beforeAll(async () => {
  ({ privateKey, publicKey: publicJwk } = await generateKeyPair('ES256', { extractable: true }).then(async (pair) => ({
    privateKey: pair.privateKey,
    publicKey: await exportJWK(pair.publicKey),
  })));
  ({ privateKey: otherPrivateKey } = await generateKeyPair('ES256'));
});

describe('session grants', () => {
  it('signs and verifies, returning every claim', async () => {
    const token = await signSessionGrant(privateKey, claims(), { now: NOW, issuer: 'https://cp.example' });
    const grant = await verifier({ issuer: 'https://cp.example' }).verify(token);
    expect(grant).toMatchObject({
      sid: 'sess-1',
      principal: { id: 'entra:tid/oid', displayName: 'billing-agent', kind: 'workload' },
      resource: 'orders-db',
      login: 'app_readonly',
      agentId: 'agent-eu-1',
      sessionExpiresAt: NOW + 3600,
      issuer: 'https://cp.example',
      issuedAt: NOW,
      expiresAt: NOW + 60,
    });
    expect(grant.jti).toMatch(/^[0-9a-f-]{36}$/);
    const [headerPart] = token.split('.');
    expect(JSON.parse(Buffer.from(headerPart!, 'base64url').toString())).toEqual({ alg: 'ES256', typ: 'gw-session-grant+jwt' });
  });

  it('refuses an expired grant', async () => {
    const token = await signSessionGrant(privateKey, claims(), { now: NOW, ttlSeconds: 30 });
    expect(await rejection(verifier({}, NOW + 30 + 6).verify(token))).toBe('EXPIRED');
  });

  it('refuses a grant signed by another key', async () => {
    const token = await signSessionGrant(otherPrivateKey, claims(), { now: NOW });
    expect(await rejection(verifier().verify(token))).toBe('BAD_SIGNATURE');
  });

  it('refuses a grant for another agent', async () => {
    const token = await signSessionGrant(privateKey, claims({ agentId: 'agent-us-1' }), { now: NOW });
    expect(await rejection(verifier().verify(token))).toBe('WRONG_AUDIENCE');
  });

  it('refuses a grant from another issuer when one is configured', async () => {
    const token = await signSessionGrant(privateKey, claims(), { now: NOW, issuer: 'https://evil.example' });
    expect(await rejection(verifier({ issuer: 'https://cp.example' }).verify(token))).toBe('WRONG_ISSUER');
  });

  it('refuses a replayed session id, but not a new one', async () => {
    const v = verifier();
    const first = await signSessionGrant(privateKey, claims(), { now: NOW });
    const again = await signSessionGrant(privateKey, claims(), { now: NOW });
    await v.verify(first);
    expect(await rejection(v.verify(first))).toBe('REPLAYED');
    expect(await rejection(v.verify(again))).toBe('REPLAYED'); // a fresh jti does not help
    await expect(v.verify(await signSessionGrant(privateKey, claims({ sid: 'sess-2' }), { now: NOW }))).resolves.toBeDefined();
  });

  it('fails closed when the replay cache is full of live session ids', async () => {
    const v = verifier({ replayCacheSize: 2 });
    for (const sid of ['a', 'b']) await v.verify(await signSessionGrant(privateKey, claims({ sid }), { now: NOW }));
    expect(await rejection(v.verify(await signSessionGrant(privateKey, claims({ sid: 'c' }), { now: NOW })))).toBe('REPLAY_CACHE_FULL');
  });

  it("refuses alg 'none' and HS256 keyed with the public key", async () => {
    const payload = { sid: 's', aud: 'agent-eu-1', exp: NOW + 60, iat: NOW, jti: 'j' };
    const none = `${b64({ alg: 'none', typ: 'gw-session-grant+jwt' })}.${b64(payload)}.`;
    expect(await rejection(verifier().verify(none))).toBe('BAD_ALGORITHM');
    const hs = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', typ: 'gw-session-grant+jwt' })
      .sign(new TextEncoder().encode(JSON.stringify(publicJwk)));
    expect(await rejection(verifier().verify(hs))).toBe('BAD_ALGORITHM');
  });

  it('refuses a token of another type', async () => {
    const token = await new SignJWT({ ...claims(), agentId: undefined })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setAudience('agent-eu-1')
      .setIssuedAt(NOW)
      .setExpirationTime(NOW + 60)
      .setJti('j')
      .sign(privateKey);
    expect(await rejection(verifier().verify(token))).toBe('BAD_TYPE');
  });

  it('refuses a validly signed grant that lives too long, or lacks claims', async () => {
    const base = () =>
      new SignJWT({ sid: 'x', principal: claims().principal, resource: 'db', login: 'r', sessionExpiresAt: NOW + 60 })
        .setProtectedHeader({ alg: 'ES256', typ: 'gw-session-grant+jwt' })
        .setAudience('agent-eu-1')
        .setIssuedAt(NOW)
        .setJti('j');
    const longLived = await base().setExpirationTime(NOW + 3600).sign(privateKey);
    expect(await rejection(verifier().verify(longLived))).toBe('TTL_TOO_LONG');
    const noPrincipal = await new SignJWT({ sid: 'y', resource: 'db', login: 'r', sessionExpiresAt: NOW + 60 })
      .setProtectedHeader({ alg: 'ES256', typ: 'gw-session-grant+jwt' })
      .setAudience('agent-eu-1')
      .setIssuedAt(NOW)
      .setExpirationTime(NOW + 60)
      .setJti('j')
      .sign(privateKey);
    expect(await rejection(verifier().verify(noPrincipal))).toBe('BAD_CLAIMS');
  });

  it('refuses a grant whose session end has passed', async () => {
    const token = await signSessionGrant(privateKey, claims({ sessionExpiresAt: NOW + 10 }), { now: NOW });
    expect(await rejection(verifier({}, NOW + 10).verify(token))).toBe('SESSION_EXPIRED');
  });

  it('refuses garbage and oversized tokens as MALFORMED', async () => {
    expect(await rejection(verifier().verify('not-a-jwt'))).toBe('MALFORMED');
    expect(await rejection(verifier().verify('a'.repeat(10_000)))).toBe('MALFORMED');
    expect(await rejection(verifier().verify(''))).toBe('MALFORMED');
  });

  it('refuses bad configuration and bad claims up front', async () => {
    const privateJwk = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey);
    expect(() => new SessionGrantVerifier({ publicKey: privateJwk, agentId: 'a' })).toThrow(/public EC P-256/);
    await expect(signSessionGrant(privateKey, claims(), { ttlSeconds: 3600 })).rejects.toThrow(RangeError);
    await expect(signSessionGrant(privateKey, claims({ sessionExpiresAt: NOW - 1 }), { now: NOW })).rejects.toThrow(RangeError);
  });
});
