import type { ProcessRecord } from './process.js';

/**
 * The one model every part of the gateway uses for "who is this".
 * Built from a verified token by the identity library; never from unverified input.
 */
export const GATEWAY_ROLES = ['admin', 'approver', 'auditor', 'requester'] as const;
export type GatewayRole = (typeof GATEWAY_ROLES)[number];

export type PrincipalKind = 'human' | 'workload';

export interface Principal {
  /** Stable identifier used in audit, policy and sessions: `<issuer>#<objectId ?? subject>`. */
  id: string;
  kind: PrincipalKind;
  issuer: string;
  /** Entra `tid`, when present. */
  tenantId?: string;
  /** `sub` claim. */
  subject: string;
  /** Entra `oid`, when present. */
  objectId?: string;
  /** `azp` (v2) or `appid` (v1): the client application that obtained the token. */
  appId?: string;
  displayName?: string;
  /** Raw `roles` claim (app roles). */
  roles: string[];
  /** Raw `groups` claim. */
  groups: string[];
  /** Roles inside the gateway, mapped from roles/groups by configuration. */
  gatewayRoles: GatewayRole[];
  /** `jti` (or Entra `uti`), for logs and attribution; never the token itself. */
  tokenId?: string;
  /** Token expiry, seconds since epoch. */
  expiresAt?: number;
  /**
   * The exact process that acted (pipeline run, pod, SPIFFE workload, managed identity), as a platform
   * signed it: from the token itself or from a verified process attestation presented beside it.
   */
  process?: ProcessRecord;
}
