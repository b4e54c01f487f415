import { z } from 'zod';
import { GATEWAY_ROLES, type GatewayRole } from './principal.js';
import { parseJsonConfig } from './config-error.js';

const MAX_ENTRIES = 200;
const claimValue = z.string().min(1).max(256);

const roleSourceSchema = z
  .object({
    /** App role values (`roles` claim), matched exactly (case-sensitive, as Entra emits them). */
    roles: z.array(claimValue).max(MAX_ENTRIES).default([]),
    /** Group object ids (`groups` claim), matched exactly. */
    groups: z.array(claimValue).max(MAX_ENTRIES).default([]),
  })
  .strict();

export const roleMappingsSchema = z
  .object({
    admin: roleSourceSchema.optional(),
    approver: roleSourceSchema.optional(),
    auditor: roleSourceSchema.optional(),
    requester: roleSourceSchema.optional(),
  })
  .strict();

export type RoleSource = z.infer<typeof roleSourceSchema>;
export type RoleMappings = Partial<Record<GatewayRole, RoleSource>>;

/** The app roles a deployment defines on its Entra app registration for the gateway. */
export const DEFAULT_ROLE_MAPPINGS: RoleMappings = {
  admin: { roles: ['Gateway.Admin'], groups: [] },
  approver: { roles: ['Gateway.Approver'], groups: [] },
  auditor: { roles: ['Gateway.Auditor'], groups: [] },
  requester: { roles: ['Gateway.Requester'], groups: [] },
};

/** Parses `ROLE_MAPPINGS` (JSON text or a parsed value); throws IdentityConfigError naming the source. */
export function parseRoleMappings(input: unknown, source = 'ROLE_MAPPINGS'): RoleMappings {
  return parseJsonConfig(roleMappingsSchema, input, source);
}

/** Gateway roles granted by any matching app role or group; order follows GATEWAY_ROLES. */
export function mapGatewayRoles(mappings: RoleMappings, roles: readonly string[], groups: readonly string[]): GatewayRole[] {
  const roleSet = new Set(roles);
  const groupSet = new Set(groups);
  return GATEWAY_ROLES.filter((gatewayRole) => {
    const source = mappings[gatewayRole];
    if (source === undefined) return false;
    return source.roles.some((role) => roleSet.has(role)) || source.groups.some((group) => groupSet.has(group));
  });
}
