import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { exportSPKI, SignJWT, type JWTPayload } from 'jose';
import { DEFAULT_ROLE_MAPPINGS, TokenRejectedError, TokenVerifier, type IssuerConfigInput, type TokenRejectionCode } from '../src/index.js';
import { FixtureServer } from './support/jwks-server.js';
import { b64url, makeKey, nowSeconds, sign, type TestKey } from './support/keys.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const OTHER_TENANT = '0b6f9b7e-1111-4c2a-9d3e-5f6a7b8c9d0e';
const AUDIENCE = 'api://gateway';
const GATEWAY_APP_ID = '6e2a1f4c-8d3b-4e5f-a6b7-c8d9e0f1a2b3';
const CLIENT_APP_ID = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
const CLIENT_OID = 'f0e1d2c3-b4a5-4968-8776-655443322110';
const V1_ISSUER = `https://sts.windows.net/${TENANT}/`;
const V2_ISSUER = `https://login.microsoftonline.com/${TENANT}/v2.0`;

const server = new FixtureServer();
let rs256: TestKey;
let ps256: TestKey;
let es256: TestKey;
let rs384: TestKey;
let eddsa: TestKey;
let stranger: TestKey;
let verifier: TokenVerifier;

async function rejection(promise: Promise<unknown>): Promise<TokenRejectedError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TokenRejectedError);
  return error as TokenRejectedError;
}

async function expectRejected(token: string, code: TokenRejectionCode, by: TokenVerifier = verifier): Promise<TokenRejectedError> {
  const error = await rejection(by.verify(token));
  expect(error.code).toBe(code);
  expect(error.reason).not.toContain(token);
  return error;
}

function v1Payload(overrides: JWTPayload = {}): JWTPayload {
  const now = nowSeconds();
  return {
    aud: AUDIENCE,
    iss: V1_ISSUER,
    iat: now - 10,
    nbf: now - 10,
    exp: now + 3600,
    appid: CLIENT_APP_ID,
    appidacr: '1',
    idp: V1_ISSUER,
    oid: CLIENT_OID,
    sub: CLIENT_OID,
    tid: TENANT,
    roles: ['Gateway.Requester'],
    uti: 'bW9jay11dGktdjE',
    ver: '1.0',
    ...overrides,
  };
}

function v2Payload(overrides: JWTPayload = {}): JWTPayload {
  const now = nowSeconds();
  return {
    aud: GATEWAY_APP_ID,
    iss: V2_ISSUER,
    iat: now - 10,
    nbf: now - 10,
    exp: now + 3600,
    azp: CLIENT_APP_ID,
    azpacr: '1',
    idtyp: 'app',
    oid: CLIENT_OID,
    sub: CLIENT_OID,
    tid: TENANT,
    roles: ['Gateway.Approver', 'Gateway.Auditor'],
    groups: ['9a8b7c6d-0000-4000-8000-000000000001'],
    uti: 'bW9jay11dGktdjI',
    ver: '2.0',
    ...overrides,
  };
}

beforeAll(async () => {
  [rs256, ps256, es256, rs384, eddsa, stranger] = await Promise.all([
    makeKey('RS256', 'rsa-1'),
    makeKey('PS256', 'pss-1'),
    makeKey('ES256', 'ec-1'),
    makeKey('RS384', 'rsa384-1'),
    makeKey('EdDSA', 'ed-1'),
    makeKey('RS256', 'rsa-1'),
  ]);
  await server.start();
  server.setJwks('/keys', [rs256, ps256, es256, rs384, eddsa].map((key) => key.publicJwk));
  const issuers: IssuerConfigInput[] = [
    { issuer: V1_ISSUER, audience: AUDIENCE, jwksUri: `${server.baseUrl}/keys` },
    { issuer: V2_ISSUER, audience: [GATEWAY_APP_ID, AUDIENCE], jwksUri: `${server.baseUrl}/keys` },
    { issuer: `${server.baseUrl}/strict`, audience: AUDIENCE, jwksUri: `${server.baseUrl}/keys`, requiredClaims: ['azp', 'roles'] },
  ];
  verifier = TokenVerifier.fromConfig(issuers, DEFAULT_ROLE_MAPPINGS);
});

afterAll(async () => {
  await server.stop();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Entra-shaped tokens that must be accepted', () => {
  it('accepts an Entra v1 app token and maps it as a workload', async () => {
    const principal = await verifier.verify(await sign(rs256, v1Payload()));
    expect(principal).toMatchObject({
      id: `${V1_ISSUER}#${CLIENT_OID}`,
      kind: 'workload',
      issuer: V1_ISSUER,
      tenantId: TENANT,
      subject: CLIENT_OID,
      objectId: CLIENT_OID,
      appId: CLIENT_APP_ID,
      roles: ['Gateway.Requester'],
      groups: [],
      gatewayRoles: ['requester'],
      tokenId: 'bW9jay11dGktdjE',
    });
    expect(principal.expiresAt).toBeGreaterThan(nowSeconds());
  });

  it('accepts an Entra v2 app token, audience from a list, and maps roles and display name', async () => {
    const principal = await verifier.verify(await sign(rs256, v2Payload({ app_displayname: 'nightly-etl' })));
    expect(principal).toMatchObject({
      id: `${V2_ISSUER}#${CLIENT_OID}`,
      kind: 'workload',
      appId: CLIENT_APP_ID,
      displayName: 'nightly-etl',
      groups: ['9a8b7c6d-0000-4000-8000-000000000001'],
      gatewayRoles: ['approver', 'auditor'],
      tokenId: 'bW9jay11dGktdjI',
    });
  });

  it('treats a delegated token (scp present, user oid) as a human', async () => {
    const payload = v2Payload({ idtyp: undefined, scp: 'access_as_user', sub: 'pairwise-sub-abc', name: 'Ada Lovelace', roles: ['Gateway.Admin'] });
    const principal = await verifier.verify(await sign(rs256, payload));
    expect(principal.kind).toBe('human');
    expect(principal.displayName).toBe('Ada Lovelace');
    expect(principal.gatewayRoles).toEqual(['admin']);
    // The object id, not the pairwise subject, identifies the principal.
    expect(principal.id).toBe(`${V2_ISSUER}#${CLIENT_OID}`);
  });

  it('accepts PS256 and ES256 signatures', async () => {
    await expect(verifier.verify(await sign(ps256, v2Payload()))).resolves.toMatchObject({ kind: 'workload' });
    await expect(verifier.verify(await sign(es256, v2Payload()))).resolves.toMatchObject({ kind: 'workload' });
  });

  it('tolerates up to 60 s of clock skew on exp and nbf', async () => {
    const now = nowSeconds();
    await expect(verifier.verify(await sign(rs256, v2Payload({ exp: now - 30 })))).resolves.toBeDefined();
    await expect(verifier.verify(await sign(rs256, v2Payload({ nbf: now + 30, iat: now + 30 })))).resolves.toBeDefined();
  });
});

describe('a token presented again', () => {
  const strictClock = () => TokenVerifier.fromConfig([{ issuer: V2_ISSUER, audience: GATEWAY_APP_ID, jwksUri: `${server.baseUrl}/keys` }], DEFAULT_ROLE_MAPPINGS, { clockSkewSeconds: 0 });

  it('gets the same principal, and a change to one answer does not reach the next', async () => {
    const token = await sign(es256, v2Payload());
    const first = await verifier.verify(token);
    first.roles.push('Gateway.Admin');
    first.gatewayRoles.push('admin');
    const again = await verifier.verify(token);
    expect(again.roles).not.toContain('Gateway.Admin');
    expect(again.gatewayRoles).not.toContain('admin');
    expect(again).toEqual(await strictClock().verify(token));
  });

  it('is refused once it expires, although it was accepted a moment before', async () => {
    const v = strictClock();
    const token = await sign(rs256, v2Payload({ exp: nowSeconds() + 2 }));
    await expect(v.verify(token)).resolves.toBeDefined();
    await expect(v.verify(token)).resolves.toBeDefined();
    await new Promise((r) => setTimeout(r, 2100));
    await expectRejected(token, 'expired', v);
  });
});

describe('tokens that must be refused', () => {
  it('refuses an untrusted issuer', async () => {
    await expectRejected(await sign(rs256, v2Payload({ iss: `https://login.microsoftonline.com/${OTHER_TENANT}/v2.0` })), 'issuer_untrusted');
    // Trailing-slash variants are different issuers: matching is exact.
    await expectRejected(await sign(rs256, v1Payload({ iss: V1_ISSUER.slice(0, -1) })), 'issuer_untrusted');
  });

  it('refuses a wrong audience', async () => {
    await expectRejected(await sign(rs256, v2Payload({ aud: 'api://something-else' })), 'audience_mismatch');
    await expectRejected(await sign(rs256, v1Payload({ aud: `${AUDIENCE}/` })), 'audience_mismatch');
  });

  it('refuses expired, not-yet-valid and future-issued tokens beyond the skew', async () => {
    const now = nowSeconds();
    await expectRejected(await sign(rs256, v2Payload({ exp: now - 120 })), 'expired');
    await expectRejected(await sign(rs256, v2Payload({ nbf: now + 120 })), 'not_yet_valid');
    await expectRejected(await sign(rs256, v2Payload({ iat: now + 120, nbf: undefined })), 'issued_in_future');
  });

  it('refuses time claims that are not numbers and unsupported critical extensions as malformed, with a reason that says so', async () => {
    const nbf = await expectRejected(await sign(rs256, v2Payload({ nbf: 'soon' as unknown as number })), 'malformed');
    expect(nbf.reason).toBe('claim "nbf" must be a number');
    expect((await expectRejected(await sign(rs256, v2Payload({ exp: `${nowSeconds() + 600}` as unknown as number })), 'malformed')).reason).toBe('claim "exp" must be a number');
    // jose will not sign with an unknown crit extension, so the signature is made by hand.
    const input = `${b64url({ alg: 'RS256', kid: rs256.kid, typ: 'JWT', crit: ['x-gw-probe'], 'x-gw-probe': true })}.${b64url(v2Payload())}`;
    const signature = new Uint8Array(await crypto.subtle.sign('RSASSA-PKCS1-v1_5', rs256.privateKey, new TextEncoder().encode(input)));
    const crit = await expectRejected(`${input}.${Buffer.from(signature).toString('base64url')}`, 'malformed');
    expect(crit.reason).toMatch(/critical extension \(crit\)/);
  });

  it('refuses alg "none"', async () => {
    const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(v2Payload({ roles: ['Gateway.Admin'] }))}.`;
    await expectRejected(token, 'algorithm_not_allowed');
  });

  it('refuses HS256 signed with the RSA public key as the HMAC secret', async () => {
    const spkiPem = new TextEncoder().encode(await exportSPKI(rs256.publicKey));
    const token = await new SignJWT(v2Payload({ roles: ['Gateway.Admin'] }))
      .setProtectedHeader({ alg: 'HS256', kid: rs256.kid })
      .sign(spkiPem);
    await expectRejected(token, 'algorithm_not_allowed');
  });

  it('refuses RS384 and EdDSA even though the issuer publishes such keys', async () => {
    await expectRejected(await sign(rs384, v2Payload()), 'algorithm_not_allowed');
    await expectRejected(await sign(eddsa, v2Payload()), 'algorithm_not_allowed');
  });

  it('refuses a tampered payload', async () => {
    const token = await sign(rs256, v2Payload({ roles: ['Gateway.Requester'] }));
    const [header, , signature] = token.split('.');
    const forged = `${header}.${b64url(v2Payload({ roles: ['Gateway.Admin'] }))}.${signature}`;
    await expectRejected(forged, 'signature_invalid');
  });

  it('refuses a token signed by a key the issuer does not publish under the same kid', async () => {
    await expectRejected(await sign(stranger, v2Payload()), 'signature_invalid');
  });

  it('refuses an unknown kid', async () => {
    await expectRejected(await sign({ ...rs256, kid: 'not-published' }, v2Payload()), 'key_not_found');
  });

  it('refuses tokens missing configured or basic claims', async () => {
    const base = { iss: `${server.baseUrl}/strict`, aud: AUDIENCE };
    await expect(verifier.verify(await sign(rs256, v2Payload(base)))).resolves.toBeDefined();
    const error = await expectRejected(await sign(rs256, v2Payload({ ...base, roles: undefined })), 'claim_missing');
    expect(error.reason).toContain('roles');
    await expectRejected(await sign(rs256, v2Payload({ ...base, azp: undefined })), 'claim_missing');
    await expectRejected(await sign(rs256, v2Payload({ exp: undefined })), 'claim_missing');
    await expectRejected(await sign(rs256, v2Payload({ sub: undefined })), 'claim_missing');
  });

  it('refuses garbage and oversized input as malformed without echoing it', async () => {
    await expectRejected('not-a-token', 'malformed');
    await expectRejected('a.b.c', 'malformed');
    await expectRejected(`${b64url({ alg: 'RS256' })}.${'A'.repeat(20_000)}.sig`, 'malformed');
    await expectRejected(await sign(rs256, v2Payload({ roles: 'Gateway.Admin' as unknown as string[] })), 'malformed');
  });
});

describe('multi-tenant issuer template', () => {
  const template = 'https://login.microsoftonline.com/{tenantid}/v2.0';
  let multi: TokenVerifier;

  beforeAll(() => {
    multi = TokenVerifier.fromConfig(
      [{ issuer: template, audience: AUDIENCE, jwksUri: `${server.baseUrl}/keys`, tenants: [TENANT.toUpperCase()] }],
      DEFAULT_ROLE_MAPPINGS,
    );
  });

  it('accepts an allowed tenant and reports the concrete issuer', async () => {
    const principal = await multi.verify(await sign(rs256, v2Payload({ aud: AUDIENCE })));
    expect(principal.issuer).toBe(V2_ISSUER);
    expect(principal.tenantId).toBe(TENANT);
    expect(principal.id).toBe(`${V2_ISSUER}#${CLIENT_OID}`);
  });

  it('refuses a tenant not on the allow-list', async () => {
    const iss = `https://login.microsoftonline.com/${OTHER_TENANT}/v2.0`;
    await expectRejected(await sign(rs256, v2Payload({ aud: AUDIENCE, iss, tid: OTHER_TENANT })), 'tenant_not_allowed', multi);
  });

  it('refuses a tid that differs from the tenant in iss', async () => {
    await expectRejected(await sign(rs256, v2Payload({ aud: AUDIENCE, tid: OTHER_TENANT })), 'tenant_not_allowed', multi);
    await expectRejected(await sign(rs256, v2Payload({ aud: AUDIENCE, tid: undefined })), 'claim_missing', multi);
  });

  it('does not let the template match a non-GUID tenant segment', async () => {
    await expectRejected(await sign(rs256, v2Payload({ aud: AUDIENCE, iss: 'https://login.microsoftonline.com/common/v2.0' })), 'issuer_untrusted', multi);
  });

  it('discovers keys through the organizations document when no jwksUri is given', async () => {
    const localTemplate = `${server.baseUrl}/{tenantid}/v2.0`;
    server.documents.set('/organizations/v2.0/.well-known/openid-configuration', { issuer: localTemplate, jwks_uri: `${server.baseUrl}/keys` });
    const discovered = TokenVerifier.fromConfig([{ issuer: localTemplate, audience: AUDIENCE, tenants: [TENANT] }], DEFAULT_ROLE_MAPPINGS);
    const iss = `${server.baseUrl}/${TENANT}/v2.0`;
    await expect(discovered.verify(await sign(es256, v2Payload({ aud: AUDIENCE, iss })))).resolves.toMatchObject({ issuer: iss });
  });
});

describe('discovery and key fetching', () => {
  it('verifies through OIDC discovery and caches the discovery document', async () => {
    const issuer = `${server.baseUrl}/disc`;
    server.documents.set('/disc/.well-known/openid-configuration', { issuer, jwks_uri: `${server.baseUrl}/keys` });
    const discovered = TokenVerifier.fromConfig([{ issuer, audience: AUDIENCE }], DEFAULT_ROLE_MAPPINGS);
    for (let i = 0; i < 3; i += 1) {
      await expect(discovered.verify(await sign(rs256, v2Payload({ iss: issuer, aud: AUDIENCE })))).resolves.toBeDefined();
    }
    expect(server.hitCount('/disc/.well-known/openid-configuration')).toBe(1);
  });

  it('fails closed with discovery_failed when the IdP is unreachable, missing, or lies about its issuer', async () => {
    const unreachable = 'http://127.0.0.1:1';
    const missing = `${server.baseUrl}/missing`;
    const liar = `${server.baseUrl}/liar`;
    server.documents.set('/liar/.well-known/openid-configuration', { issuer: 'https://evil.example', jwks_uri: `${server.baseUrl}/keys` });
    const broken = TokenVerifier.fromConfig(
      [unreachable, missing, liar].map((issuer) => ({ issuer, audience: AUDIENCE })),
      DEFAULT_ROLE_MAPPINGS,
    );
    for (const iss of [unreachable, missing, liar]) {
      await expectRejected(await sign(rs256, v2Payload({ iss, aud: AUDIENCE })), 'discovery_failed', broken);
    }
    const noJwks = TokenVerifier.fromConfig([{ issuer: V2_ISSUER, audience: GATEWAY_APP_ID, jwksUri: `${server.baseUrl}/no-keys-here` }], DEFAULT_ROLE_MAPPINGS);
    await expectRejected(await sign(rs256, v2Payload()), 'discovery_failed', noJwks);
  });

  it('backs off after a failed discovery and recovers once the IdP answers', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const issuer = `${server.baseUrl}/late`;
    const path = '/late/.well-known/openid-configuration';
    const late = TokenVerifier.fromConfig([{ issuer, audience: AUDIENCE }], DEFAULT_ROLE_MAPPINGS);
    const token = await sign(rs256, v2Payload({ iss: issuer, aud: AUDIENCE }));
    await expectRejected(token, 'discovery_failed', late);
    server.documents.set(path, { issuer, jwks_uri: `${server.baseUrl}/keys` });
    // Within the back-off window the IdP is not asked again, even though it would now answer.
    await expectRejected(token, 'discovery_failed', late);
    expect(server.hitCount(path)).toBe(1);
    vi.setSystemTime(Date.now() + 11_000);
    await expect(late.verify(token)).resolves.toMatchObject({ issuer });
    expect(server.hitCount(path)).toBe(2);
  });

  it('refetches the JWKS for unknown kids at most once per minute, and picks up rotated keys after that', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const rotated = await makeKey('ES256', 'rotated-1');
    server.setJwks('/burst-keys', [rs256.publicJwk]);
    const burst = TokenVerifier.fromConfig([{ issuer: V2_ISSUER, audience: GATEWAY_APP_ID, jwksUri: `${server.baseUrl}/burst-keys` }], DEFAULT_ROLE_MAPPINGS);

    await expect(burst.verify(await sign(rs256, v2Payload()))).resolves.toBeDefined();
    expect(server.hitCount('/burst-keys')).toBe(1);

    const unknownKids = await Promise.all(Array.from({ length: 25 }, async (_, i) => sign({ ...rs256, kid: `unknown-${i}` }, v2Payload())));
    for (const token of unknownKids) await expectRejected(token, 'key_not_found', burst);
    expect(server.hitCount('/burst-keys')).toBe(1);

    // The IdP rotates; a token with the new kid is refused until the cooldown has passed ...
    server.setJwks('/burst-keys', [rs256.publicJwk, rotated.publicJwk]);
    await expectRejected(await sign(rotated, v2Payload()), 'key_not_found', burst);
    expect(server.hitCount('/burst-keys')).toBe(1);

    // ... then exactly one refetch serves it, and the next burst costs nothing again.
    vi.setSystemTime(Date.now() + 61_000);
    await expect(burst.verify(await sign(rotated, v2Payload()))).resolves.toBeDefined();
    expect(server.hitCount('/burst-keys')).toBe(2);
    for (const token of unknownKids.slice(0, 10)) await expectRejected(token, 'key_not_found', burst);
    expect(server.hitCount('/burst-keys')).toBe(2);
  });
});

describe('role mapping', () => {
  it('maps app roles and group ids through a custom mapping', async () => {
    const dataAdmins = '3c2b1a09-aaaa-4bbb-8ccc-dddddddddddd';
    const mapped = TokenVerifier.fromConfig(
      [{ issuer: V2_ISSUER, audience: GATEWAY_APP_ID, jwksUri: `${server.baseUrl}/keys` }],
      { admin: { roles: [], groups: [dataAdmins] }, requester: { roles: ['Pipeline.Run'], groups: [] } },
    );
    const byGroup = await mapped.verify(await sign(rs256, v2Payload({ roles: ['Gateway.Admin'], groups: [dataAdmins] })));
    expect(byGroup.gatewayRoles).toEqual(['admin']);
    const byRole = await mapped.verify(await sign(rs256, v2Payload({ roles: ['Pipeline.Run'], groups: [] })));
    expect(byRole.gatewayRoles).toEqual(['requester']);
    const none = await mapped.verify(await sign(rs256, v2Payload({ roles: ['gateway.admin'], groups: [] })));
    expect(none.gatewayRoles).toEqual([]);
  });
});
