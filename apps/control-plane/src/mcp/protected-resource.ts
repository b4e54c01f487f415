import { TENANT_PLACEHOLDER, parseIssuersConfig } from '@gw/identity';
import type { AppConfig } from '../config/app-config.js';

/** The resource identifier of `/mcp`, or of `/mcp/<resource>` (an MCP server behind an agent). */
export function mcpResourceUrl(config: AppConfig, server?: string): string {
  return server === undefined ? config.mcp.resourceUrl : `${config.mcp.resourceUrl}/${server}`;
}

/**
 * `/.well-known/oauth-protected-resource/mcp` (or `.../mcp/<resource>`): RFC 9728 §3.1, the
 * well-known part goes between the host and the resource's path.
 */
export function protectedResourceMetadataUrl(config: AppConfig, server?: string): string {
  const url = new URL(mcpResourceUrl(config, server));
  return `${url.origin}/.well-known/oauth-protected-resource${url.pathname}`;
}

/**
 * RFC 9728 protected resource metadata for `/mcp` or `/mcp/<resource>`: the resource identifier, the issuers whose
 * tokens are accepted, and how to present them. Multi-tenant issuer templates are listed once per
 * allowed tenant (a template itself is not an issuer a client can ask).
 */
export function protectedResourceMetadata(config: AppConfig, server?: string): Record<string, unknown> {
  const issuers = parseIssuersConfig(config.identity.issuers);
  const servers = issuers.flatMap((i) => (i.issuer.includes(TENANT_PLACEHOLDER) ? (i.tenants ?? []).map((t) => i.issuer.replace(TENANT_PLACEHOLDER, t)) : [i.issuer]));
  const audiences = issuers.flatMap((i) => (Array.isArray(i.audience) ? i.audience : [i.audience]));
  return {
    resource: mcpResourceUrl(config, server),
    authorization_servers: [...new Set(servers)],
    bearer_methods_supported: ['header'],
    // Entra issues tokens for an application id URI: ask for `<audience>/.default` (client credentials).
    scopes_supported: [...new Set(audiences)].map((a) => `${a.replace(/\/+$/, '')}/.default`),
    resource_name: server === undefined ? 'Gateway MCP tools' : `MCP server ${server} (behind the gateway)`,
    resource_documentation: `${new URL(config.mcp.resourceUrl).origin}/api/docs`,
  };
}
