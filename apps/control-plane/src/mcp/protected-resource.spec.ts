import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config/app-config.js';
import { protectedResourceMetadata, protectedResourceMetadataUrl } from './protected-resource.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const issuers = JSON.stringify([
  { issuer: 'http://127.0.0.1:9000', audience: 'api://gateway' },
  { issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0', audience: ['api://gateway-prod', 'a1b2c3d4-0000-4000-8000-000000000001'], tenants: [TENANT] },
]);

describe('MCP protected resource metadata (RFC 9728)', () => {
  it('names PUBLIC_URL/mcp as the resource, every trusted issuer (templates per allowed tenant) and the audiences as .default scopes', () => {
    const config = loadConfig({ PUBLIC_URL: 'https://gw.example.com/', OIDC_ISSUERS: issuers });
    expect(protectedResourceMetadata(config)).toMatchObject({
      resource: 'https://gw.example.com/mcp',
      authorization_servers: ['http://127.0.0.1:9000', `https://login.microsoftonline.com/${TENANT}/v2.0`],
      bearer_methods_supported: ['header'],
      scopes_supported: ['api://gateway/.default', 'api://gateway-prod/.default', 'a1b2c3d4-0000-4000-8000-000000000001/.default'],
    });
    // The path form: the well-known part goes between the host and the resource's path.
    expect(protectedResourceMetadataUrl(config)).toBe('https://gw.example.com/.well-known/oauth-protected-resource/mcp');
  });
});

describe('MCP settings', () => {
  it('allows PUBLIC_URL\'s own origin and the listed ones', () => {
    const config = loadConfig({ PUBLIC_URL: 'https://gw.example.com', MCP_ALLOWED_ORIGINS: 'https://console.example.com, http://localhost:5173' });
    expect(config.mcp.allowedOrigins).toEqual(['https://gw.example.com', 'https://console.example.com', 'http://localhost:5173']);
    expect(config.mcp.maxRequestBytes).toBe(1024 * 1024);
  });

  it('stops at a value that is not a list of origins, naming the variable', () => {
    expect(() => loadConfig({ MCP_ALLOWED_ORIGINS: 'https://console.example.com/path' })).toThrow(ConfigError);
    expect(() => loadConfig({ MCP_ALLOWED_ORIGINS: '*' })).toThrow(/MCP_ALLOWED_ORIGINS/);
    expect(() => loadConfig({ MCP_MAX_REQUEST_BYTES: '10' })).toThrow(/MCP_MAX_REQUEST_BYTES/);
  });
});
