import type { Principal } from '@gw/identity';

export type Eligibility = { ok: true } | { ok: false; reason: string };

/**
 * Whether `voter` may vote on an approval requested by `requestedBy` under the policy's approver
 * list (`group:<id>` / `role:<gateway role>`, comma-separated). Entries are matched literally: an
 * admin is not an approver unless the policy names `role:admin` (separation of duties is the
 * policy author's choice, not a side effect of being powerful).
 */
export function approverEligibility(voter: Principal, requestedBy: string, constraint: string | null): Eligibility {
  if (sameIdentity(voter.id, requestedBy)) return { ok: false, reason: 'nobody approves their own request' };
  const entries = (constraint ?? 'role:approver').split(',').map((e) => e.trim()).filter((e) => e.length > 0);
  const matches = entries.some((entry) => {
    if (entry.startsWith('group:')) return voter.groups.includes(entry.slice('group:'.length));
    if (entry.startsWith('role:')) return (voter.gatewayRoles as string[]).includes(entry.slice('role:'.length));
    return false;
  });
  if (!matches) return { ok: false, reason: `only approvers matching ${entries.join(', ')} may decide this approval` };
  return { ok: true };
}

const GUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/** `<issuer naming a tenant GUID>#<object id GUID>`: Entra's v1 (sts.windows.net) and v2 (login.microsoftonline.com) issuers alike. */
const TENANT_OBJECT_ID = new RegExp(`^[^#]*/(${GUID})(?:/[^#]*)?#(${GUID})$`);

/**
 * What names one person or workload, for "not your own request" and "one vote each". A principal id
 * is `<issuer>#<oid ?? sub>` exactly as the token states it, so the same Entra object gets a
 * different id from a v1 and a v2 token (or a differently cased issuer): both reduce here to
 * tenant + object id. Case is ignored throughout; this only ever makes two ids "the same" (the
 * strict side: a vote refused, never one counted twice).
 */
export function identityKey(principalId: string): string {
  const id = principalId.trim().toLowerCase();
  const entra = TENANT_OBJECT_ID.exec(id);
  return entra ? `tenant:${entra[1]}#${entra[2]}` : id;
}

export function sameIdentity(a: string, b: string): boolean {
  return identityKey(a) === identityKey(b);
}

/** Roles that see every approval, grant and request; others see only their own. */
export function seesEverything(p: Principal): boolean {
  return p.gatewayRoles.some((r) => r === 'admin' || r === 'approver' || r === 'auditor');
}
