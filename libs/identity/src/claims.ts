import type { JWTPayload } from 'jose';
import { TokenRejectedError } from './errors.js';
import type { IssuerMatch } from './issuer-matcher.js';
import type { Principal, PrincipalKind } from './principal.js';
import { mapGatewayRoles, type RoleMappings } from './role-mapping.js';
import { evaluateClaimRule, type ClaimRule } from './claim-rules.js';
import { extractProcess } from './process.js';
import { GATEWAY_ROLES, type GatewayRole } from './principal.js';

/** A `roleRules` entry with its rule parsed once. */
export interface CompiledRoleRule {
  rule: ClaimRule;
  roles: readonly GatewayRole[];
}

const MAX_CLAIM_STRING = 1024;
const MAX_DISPLAY_NAME = 256;
/** Entra emits at most 200 groups in a JWT (beyond that it sends an overage marker instead). */
const MAX_LIST_ENTRIES = 1000;

function optionalString(payload: JWTPayload, claim: string): string | undefined {
  const value = payload[claim];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_CLAIM_STRING) {
    throw new TokenRejectedError('malformed', `claim "${claim}" must be a non-empty string`);
  }
  return value;
}

function stringList(payload: JWTPayload, claim: string): string[] {
  const value = payload[claim];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.length > MAX_LIST_ENTRIES || !value.every((item) => typeof item === 'string' && item.length <= MAX_CLAIM_STRING)) {
    throw new TokenRejectedError('malformed', `claim "${claim}" must be a list of strings`);
  }
  return value as string[];
}

/**
 * Workload or human, in this order:
 * 1. `idtyp` ("app" / "user"), which Entra sends when the optional claim is configured and the dev IdP always sends;
 * 2. a `scp` claim means a delegated token acting for a user: human;
 * 3. no `scp`, an application id present, and `sub` equal to `oid` (Entra app-only tokens, v1 and v2)
 *    or to the application id (RFC 9068 client-credentials tokens): workload;
 * 4. anything else: human.
 */
export function classifyKind(payload: JWTPayload, appId: string | undefined, objectId: string | undefined): PrincipalKind {
  const idtyp = payload['idtyp'];
  if (idtyp === 'app') return 'workload';
  if (idtyp === 'user') return 'human';
  if (payload['scp'] !== undefined) return 'human';
  if (appId !== undefined && payload.sub !== undefined && (payload.sub === objectId || payload.sub === appId)) return 'workload';
  return 'human';
}

/** Entra tenant rules: for a template the `tid` must equal the tenant in `iss`; any allow-list must contain it. */
function checkTenant(match: IssuerMatch, tenantId: string | undefined): void {
  const allowList = match.config.tenants;
  if (match.issuerTenant !== undefined) {
    if (tenantId === undefined) throw new TokenRejectedError('claim_missing', 'claim "tid" is required for a multi-tenant issuer');
    if (tenantId.toLowerCase() !== match.issuerTenant) {
      throw new TokenRejectedError('tenant_not_allowed', 'claim "tid" does not match the tenant in the issuer');
    }
  }
  if (allowList !== undefined) {
    if (tenantId === undefined) throw new TokenRejectedError('claim_missing', 'claim "tid" is required by the tenant allow-list');
    if (!allowList.includes(tenantId.toLowerCase())) throw new TokenRejectedError('tenant_not_allowed', 'the token tenant is not on the allow-list');
  }
}

/** Builds the Principal from a payload whose signature, issuer, audience and times are already verified. */
export function toPrincipal(payload: JWTPayload, match: IssuerMatch, roleMappings: RoleMappings, roleRules: readonly CompiledRoleRule[] = []): Principal {
  const subject = optionalString(payload, 'sub');
  if (subject === undefined) throw new TokenRejectedError('claim_missing', 'claim "sub" is missing');
  const tenantId = optionalString(payload, 'tid');
  checkTenant(match, tenantId);
  const objectId = optionalString(payload, 'oid');
  const appId = optionalString(payload, 'azp') ?? optionalString(payload, 'appid') ?? optionalString(payload, 'client_id');
  const displayName = (optionalString(payload, 'name') ?? optionalString(payload, 'app_displayname'))?.slice(0, MAX_DISPLAY_NAME);
  const tokenId = optionalString(payload, 'jti') ?? optionalString(payload, 'uti');
  const roles = stringList(payload, 'roles');
  const groups = stringList(payload, 'groups');

  const issuerKind = match.config.kind;
  const process = extractProcess(issuerKind, payload, match.concreteIssuer, subject, match.config.processClaims);
  const granted = new Set<GatewayRole>(mapGatewayRoles(roleMappings, roles, groups));
  for (const { rule, roles: ruleRoles } of roleRules) {
    if (evaluateClaimRule(rule, { claims: payload, ...(process ? { process } : {}) })) for (const role of ruleRoles) granted.add(role);
  }
  const principal: Principal = {
    id: `${match.concreteIssuer}#${objectId ?? subject}`,
    // CI jobs, pods and SPIFFE workloads are never people, whatever else the token says.
    kind: issuerKind === 'entra' || issuerKind === 'generic' ? classifyKind(payload, appId, objectId) : 'workload',
    issuer: match.concreteIssuer,
    subject,
    roles,
    groups,
    gatewayRoles: GATEWAY_ROLES.filter((role) => granted.has(role)),
  };
  if (process !== undefined) principal.process = process;
  if (tenantId !== undefined) principal.tenantId = tenantId.toLowerCase();
  if (objectId !== undefined) principal.objectId = objectId;
  if (appId !== undefined) principal.appId = appId;
  if (displayName !== undefined) principal.displayName = displayName;
  if (tokenId !== undefined) principal.tokenId = tokenId;
  if (typeof payload.exp === 'number') principal.expiresAt = payload.exp;
  return principal;
}
