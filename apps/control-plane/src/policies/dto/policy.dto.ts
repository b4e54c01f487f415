import { z } from 'zod';
import { GATEWAY_ACTIONS } from '@gw/policy';
import { GATEWAY_ROLES } from '@gw/identity';
import type { PolicyVersionEntity } from '../policy-version.entity.js';

const MAX_POLICY_BYTES = 512 * 1024;

export const createPolicySchema = z.strictObject({
  text: z.string().min(1).max(MAX_POLICY_BYTES),
  description: z.string().max(1000).optional(),
  activate: z.boolean().default(false),
});
export type CreatePolicyDto = z.infer<typeof createPolicySchema>;

export const validatePolicySchema = z.strictObject({ text: z.string().min(1).max(MAX_POLICY_BYTES) });

const labelValue = z.string().max(256);
export const dryRunSchema = z.strictObject({
  version: z.number().int().positive().optional(),
  text: z.string().min(1).max(MAX_POLICY_BYTES).optional(),
  principal: z.strictObject({
    id: z.string().min(1).max(512),
    kind: z.enum(['human', 'workload']).default('workload'),
    issuer: z.string().max(512).default('dry-run'),
    tenantId: z.string().max(128).optional(),
    appId: z.string().max(256).optional(),
    displayName: z.string().max(256).optional(),
    roles: z.array(z.string().max(256)).max(200).default([]),
    groups: z.array(z.string().max(256)).max(500).default([]),
    gatewayRoles: z.array(z.enum(GATEWAY_ROLES)).default([]),
  }),
  action: z.enum(GATEWAY_ACTIONS),
  resource: z.strictObject({
    name: z.string().min(1).max(256),
    type: z.enum(['postgres', 'mysql', 'ssh', 'kubernetes', 'tcp', 'mcp']),
    environment: z.string().max(64).optional(),
    labels: z.record(z.string().max(64), labelValue).default({}),
  }),
  context: z.record(z.string(), z.unknown()).default({}),
});
export type DryRunDto = z.infer<typeof dryRunSchema>;

export function policyVersionDto(p: PolicyVersionEntity, withText = false) {
  return {
    id: p.id,
    version: p.version,
    sha256: p.sha256,
    description: p.description,
    createdBy: p.createdBy,
    createdAt: p.createdAt.toISOString(),
    active: p.isActive,
    activatedAt: p.activatedAt?.toISOString() ?? null,
    activatedBy: p.activatedBy,
    ...(withText ? { text: p.text } : {}),
  };
}
