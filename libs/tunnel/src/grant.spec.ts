import { type CryptoKey, type JWK, SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  GrantRejectedError,
  grantSigningKey,
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

  it('interoperates with a standard JWT library both ways (jose signs, we verify; we sign, jose verifies)', async () => {
    const body = { sid: 'sess-jose', principal: claims().principal, resource: 'orders-db', login: 'app_readonly', sessionExpiresAt: NOW + 600 };
    const joseSigned = await new SignJWT(body)
      .setProtectedHeader({ alg: 'ES256', typ: 'application/gw-session-grant+jwt', kid: 'k1' })
      .setAudience(['other-agent', 'agent-eu-1'])
      .setIssuedAt(NOW)
      .setNotBefore(NOW)
      .setExpirationTime(NOW + 60)
      .setJti('jti-1')
      .sign(privateKey);
    expect(await verifier().verify(joseSigned)).toMatchObject({ sid: 'sess-jose', jti: 'jti-1', expiresAt: NOW + 60 });
    const ours = await signSessionGrant(privateKey, claims(), { now: NOW, issuer: 'cp', keyId: 'k1' });
    const { payload, protectedHeader } = await jwtVerify(ours, await importJWK(publicJwk, 'ES256'), {
      audience: 'agent-eu-1', issuer: 'cp', typ: 'gw-session-grant+jwt', currentDate: new Date((NOW + 1) * 1000),
    });
    expect(protectedHeader).toEqual({ alg: 'ES256', typ: 'gw-session-grant+jwt', kid: 'k1' });
    expect(payload).toMatchObject({ sid: 'sess-1', aud: 'agent-eu-1', iat: NOW, exp: NOW + 60 });
  });

  it('refuses a grant whose claims, header or signature were changed after signing', async () => {
    const token = await signSessionGrant(privateKey, claims(), { now: NOW });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claimsOf = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forged = b64({ ...claimsOf, login: 'postgres' });
    expect(await rejection(verifier().verify(`${header}.${forged}.${signature}`))).toBe('BAD_SIGNATURE');
    const otherHeader = b64({ alg: 'ES256', typ: 'gw-session-grant+jwt', kid: 'x' });
    expect(await rejection(verifier().verify(`${otherHeader}.${payload}.${signature}`))).toBe('BAD_SIGNATURE');
    const raw = Buffer.from(signature, 'base64url');
    expect(await rejection(verifier().verify(`${header}.${payload}.${raw.subarray(0, 63).toString('base64url')}`))).toBe('BAD_SIGNATURE');
    const flipped = Buffer.from(raw);
    flipped[10] ^= 1;
    expect(await rejection(verifier().verify(`${header}.${payload}.${flipped.toString('base64url')}`))).toBe('BAD_SIGNATURE');
    expect(await rejection(verifier().verify(`${header}.${payload}.${signature}.extra`))).toBe('MALFORMED');
    expect(await rejection(verifier().verify(`${header}.${payload}.${signature}!`))).toBe('MALFORMED');
  });

  it('refuses critical header extensions, grants not yet valid and claims of the wrong type', async () => {
    const body = { sid: 's2', principal: claims().principal, resource: 'db', login: 'r', sessionExpiresAt: NOW + 600 };
    const jwt = (header: Record<string, unknown> = {}) =>
      new SignJWT(body).setProtectedHeader({ alg: 'ES256', typ: 'gw-session-grant+jwt', ...header }).setAudience('agent-eu-1').setJti('j').setIssuedAt(NOW);
    const critByHand = `${b64({ alg: 'ES256', typ: 'gw-session-grant+jwt', crit: ['gw'], gw: 1 })}.${b64({ ...body, aud: 'agent-eu-1', iat: NOW, exp: NOW + 60, jti: 'j' })}.${'A'.repeat(86)}`;
    expect(await rejection(verifier().verify(critByHand))).toBe('MALFORMED');
    const early = await jwt().setNotBefore(NOW + 120).setExpirationTime(NOW + 180).sign(privateKey);
    expect(await rejection(verifier().verify(early))).toBe('NOT_YET_VALID');
    const future = await new SignJWT(body).setProtectedHeader({ alg: 'ES256', typ: 'gw-session-grant+jwt' }).setAudience('agent-eu-1').setJti('j')
      .setIssuedAt(NOW + 120).setExpirationTime(NOW + 180).sign(privateKey);
    expect(await rejection(verifier().verify(future))).toBe('NOT_YET_VALID');
    const stringExp = await new SignJWT({ ...body, exp: String(NOW + 60) }).setProtectedHeader({ alg: 'ES256', typ: 'gw-session-grant+jwt' })
      .setAudience('agent-eu-1').setJti('j').setIssuedAt(NOW).sign(privateKey);
    expect(await rejection(verifier().verify(stringExp))).toBe('BAD_CLAIMS');
    const noAudience = await new SignJWT(body).setProtectedHeader({ alg: 'ES256', typ: 'gw-session-grant+jwt' }).setJti('j')
      .setIssuedAt(NOW).setExpirationTime(NOW + 60).sign(privateKey);
    expect(await rejection(verifier().verify(noAudience))).toBe('WRONG_AUDIENCE');
  });

  it('signs only with an EC P-256 private key', async () => {
    const p384 = await generateKeyPair('ES384');
    await expect(signSessionGrant(p384.privateKey, claims(), { now: NOW })).rejects.toThrow(/EC P-256 private key/);
    const pair = await generateKeyPair('ES256');
    await expect(signSessionGrant(pair.publicKey, claims(), { now: NOW })).rejects.toThrow(/EC P-256 private key/);
    expect(() => grantSigningKey(publicJwk)).toThrow();
  });
});
