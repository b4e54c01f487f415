import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ROLE_MAPPINGS, parseIssuersConfig, TokenRejectedError, TokenVerifier, type GatewayRole } from '@gw/identity';
import { DEMO_CLIENTS, DEV_TENANT_ID, startDevIdp, type DevIdp } from '../src/index.js';

/** The real pair of the quick start: tokens from the dev IdP verified by @gw/identity through OIDC discovery. */
let dir: string;
let idp: DevIdp;
let verifier: TokenVerifier;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dev-idp-interop-'));
  idp = await startDevIdp({ port: 0, keyFile: join(dir, 'keys.json') });
  const issuers = parseIssuersConfig(JSON.stringify([{ issuer: idp.issuer, audience: 'api://gateway' }]));
  verifier = TokenVerifier.fromConfig(issuers, DEFAULT_ROLE_MAPPINGS);
});

afterAll(async () => {
  await idp.close();
  await rm(dir, { recursive: true, force: true });
});

const EXPECTED_ROLES: Record<string, GatewayRole[]> = {
  'security-admin': ['admin'],
  approver: ['approver'],
  'approver-2': ['approver'],
  auditor: ['auditor'],
  'ai-agent': ['requester'],
  'ci-pipeline': ['requester'],
  'managed-etl': ['requester'],
  'agent-edge-1': [],
};

describe('@gw/identity against the dev IdP', () => {
  it.each(DEMO_CLIENTS.map((client) => [client.clientId, client] as const))('verifies a %s token and maps its gateway roles', async (clientId, client) => {
    const principal = await verifier.verify(await idp.issueToken(clientId));
    expect(principal).toMatchObject({
      id: `${idp.issuer}#${client.oid}`,
      kind: 'workload',
      issuer: idp.issuer,
      tenantId: DEV_TENANT_ID,
      objectId: client.oid,
      appId: clientId,
      displayName: client.name,
      roles: client.roles,
      groups: client.groups,
      gatewayRoles: EXPECTED_ROLES[clientId],
    });
    expect(principal.tokenId).toMatch(/^[\w-]+$/);
  });

  it('refuses a dev IdP token minted for another resource', async () => {
    const error = await verifier.verify(await idp.issueToken('security-admin', { resource: 'api://not-the-gateway' })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TokenRejectedError);
    expect((error as TokenRejectedError).code).toBe('audience_mismatch');
  });
});
