import { describe, expect, it } from 'vitest';
import { IdentityConfigError } from './config-error.js';
import { parseIssuersConfig } from './issuer-config.js';
import { DEFAULT_ROLE_MAPPINGS } from './role-mapping.js';
import { TokenVerifier } from './token-verifier.js';

const TENANT = '72F988BF-86F1-41AF-91AB-2D7CD011DB47';

describe('parseIssuersConfig', () => {
  it('parses the OIDC_ISSUERS JSON of the quick start', () => {
    expect(parseIssuersConfig('[{"issuer":"http://127.0.0.1:9000","audience":"api://gateway"}]')).toEqual([
      { issuer: 'http://127.0.0.1:9000', audience: 'api://gateway', kind: 'entra' },
    ]);
  });

  it('accepts an Entra template with a tenant allow-list and normalises tenant case', () => {
    const [entry] = parseIssuersConfig([
      { issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0', audience: ['api://gateway', 'x'], tenants: [TENANT], requiredClaims: ['azp'] },
    ]);
    expect(entry?.tenants).toEqual([TENANT.toLowerCase()]);
  });

  it('refuses a template without an allow-list, naming the variable and the reason', () => {
    expect(() => parseIssuersConfig([{ issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0', audience: 'api://gateway' }])).toThrow(
      /OIDC_ISSUERS is invalid:[\s\S]*allow-list/,
    );
  });

  it.each([
    ['not JSON', '[{issuer:'],
    ['an empty list', '[]'],
    ['plain http to a remote host', [{ issuer: 'http://idp.example.com', audience: 'a' }]],
    ['http JWKS to a remote host', [{ issuer: 'https://idp.example.com', audience: 'a', jwksUri: 'http://idp.example.com/keys' }]],
    ['a missing audience', [{ issuer: 'https://idp.example.com' }]],
    ['an empty audience list', [{ issuer: 'https://idp.example.com', audience: [] }]],
    ['a tenant that is not a GUID', [{ issuer: 'https://idp.example.com', audience: 'a', tenants: ['contoso'] }]],
    ['an unknown key', [{ issuer: 'https://idp.example.com', audience: 'a', audiences: ['b'] }]],
    ['a duplicate issuer', [{ issuer: 'https://idp.example.com', audience: 'a' }, { issuer: 'https://idp.example.com', audience: 'b' }]],
    ['two placeholders', [{ issuer: 'https://x/{tenantid}/{tenantid}', audience: 'a', tenants: [TENANT] }]],
  ])('refuses %s', (_label, input) => {
    expect(() => parseIssuersConfig(input)).toThrow(IdentityConfigError);
  });

  it('uses the given source name in messages', () => {
    expect(() => parseIssuersConfig('nope', 'identity.issuers')).toThrow('identity.issuers is not valid JSON');
  });
});

describe('TokenVerifier.fromConfig', () => {
  it('refuses a hand-built template entry without an allow-list', () => {
    expect(() => TokenVerifier.fromConfig([{ issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0', audience: 'a' }], DEFAULT_ROLE_MAPPINGS)).toThrow(
      IdentityConfigError,
    );
  });
});
