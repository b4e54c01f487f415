import { TENANT_PLACEHOLDER, parseIssuersConfig } from '@gw/identity';
import type { AppConfig } from '../config/app-config.js';

/** `/.well-known/oauth-protected-resource/mcp`: RFC 9728 §3.1, the well-known part before the resource's path. */
export function protectedResourceMetadataUrl(config: AppConfig): string {
  const url = new URL(config.mcp.resourceUrl);
  return `${url.origin}/.well-known/oauth-protected-resource${url.pathname}`;
}

/**
 * RFC 9728 protected resource metadata for `/mcp`: the resource identifier, the issuers whose
 * tokens are accepted, and how to present them. Multi-tenant issuer templates are listed once per
 * allowed tenant (a template itself is not an issuer a client can ask).
 */
export function protectedResourceMetadata(config: AppConfig): Record<string, unknown> {
  const issuers = parseIssuersConfig(config.identity.issuers);
  const servers = issuers.flatMap((i) => (i.issuer.includes(TENANT_PLACEHOLDER) ? (i.tenants ?? []).map((t) => i.issuer.replace(TENANT_PLACEHOLDER, t)) : [i.issuer]));
  const audiences = issuers.flatMap((i) => (Array.isArray(i.audience) ? i.audience : [i.audience]));
  return {
    resource: config.mcp.resourceUrl,
    authorization_servers: [...new Set(servers)],
    bearer_methods_supported: ['header'],
    // Entra issues tokens for an application id URI: ask for `<audience>/.default` (client credentials).
    scopes_supported: [...new Set(audiences)].map((a) => `${a.replace(/\/+$/, '')}/.default`),
    resource_name: 'Gateway MCP tools',
    resource_documentation: `${new URL(config.mcp.resourceUrl).origin}/api/docs`,
  };
}
