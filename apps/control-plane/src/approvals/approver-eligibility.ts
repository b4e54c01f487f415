import type { Principal } from '@gw/identity';

export type Eligibility = { ok: true } | { ok: false; reason: string };

/**
 * Whether `voter` may vote on an approval requested by `requestedBy` under the policy's approver
 * list (`group:<id>` / `role:<gateway role>`, comma-separated). Entries are matched literally: an
 * admin is not an approver unless the policy names `role:admin` (separation of duties is the
 * policy author's choice, not a side effect of being powerful).
 */
export function approverEligibility(voter: Principal, requestedBy: string, constraint: string | null): Eligibility {
  if (voter.id === requestedBy) return { ok: false, reason: 'nobody approves their own request' };
  const entries = (constraint ?? 'role:approver').split(',').map((e) => e.trim()).filter((e) => e.length > 0);
  const matches = entries.some((entry) => {
    if (entry.startsWith('group:')) return voter.groups.includes(entry.slice('group:'.length));
    if (entry.startsWith('role:')) return (voter.gatewayRoles as string[]).includes(entry.slice('role:'.length));
    return false;
  });
  if (!matches) return { ok: false, reason: `only approvers matching ${entries.join(', ')} may decide this approval` };
  return { ok: true };
}

/** Roles that see every approval, grant and request; others see only their own. */
export function seesEverything(p: Principal): boolean {
  return p.gatewayRoles.some((r) => r === 'admin' || r === 'approver' || r === 'auditor');
}
