import type pg from 'pg';

/** Role attributes that make a session more than a data user (never inherited; reachable by SET ROLE). */
export const PRIVILEGED_ATTRIBUTES = ['SUPERUSER', 'CREATEROLE', 'CREATEDB', 'REPLICATION', 'BYPASSRLS'] as const;
export type PrivilegedAttribute = (typeof PRIVILEGED_ATTRIBUTES)[number];

/** The pg_roles column of each attribute. */
const ATTRIBUTE_COLUMNS = {
  SUPERUSER: 'rolsuper',
  CREATEROLE: 'rolcreaterole',
  CREATEDB: 'rolcreatedb',
  REPLICATION: 'rolreplication',
  BYPASSRLS: 'rolbypassrls',
} as const satisfies Record<PrivilegedAttribute, keyof RoleRow>;

/** One role the requested role is, or can become, with its path and what makes it privileged. */
export interface ReachableRole {
  /** From the requested role to this one, both included (one name: the requested role itself). */
  path: string[];
  predefined: boolean;
  attributes: PrivilegedAttribute[];
}

interface RoleRow {
  oid: number;
  rolname: string;
  predefined: boolean;
  rolsuper: boolean;
  rolcreaterole: boolean;
  rolcreatedb: boolean;
  rolreplication: boolean;
  rolbypassrls: boolean;
}

/**
 * The requested role and every role it can reach through membership (pg_auth_members, transitively),
 * each with its shortest path; empty when the role does not exist. Every membership edge counts,
 * whatever its options: on PostgreSQL 15 any member may SET ROLE; on 16+ INHERIT gives the
 * privileges, SET the role, and ADMIN lets the member grant itself either, so an edge with none of
 * them is still one GRANT away. The catalogue is read whole (roles are few) and walked breadth first.
 */
export async function reachableRoles(admin: pg.Pool | pg.PoolClient, role: string): Promise<ReachableRole[]> {
  const [roles, edges] = await Promise.all([
    admin.query<RoleRow>(
      // Predefined roles are the ones initdb makes (below FirstNormalObjectId); pg_* names are reserved for them.
      `SELECT oid::int AS oid, rolname, (oid < 16384 OR starts_with(rolname, 'pg_')) AS predefined,
              rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls FROM pg_roles`,
    ),
    admin.query<{ member: number; roleid: number }>('SELECT member::int AS member, roleid::int AS roleid FROM pg_auth_members'),
  ]);
  const byOid = new Map(roles.rows.map((r) => [r.oid, r]));
  const memberOf = new Map<number, number[]>();
  for (const e of edges.rows) memberOf.set(e.member, [...(memberOf.get(e.member) ?? []), e.roleid]);
  const start = roles.rows.find((r) => r.rolname === role);
  if (!start) return [];
  const paths = new Map<number, string[]>([[start.oid, [start.rolname]]]);
  const queue = [start.oid];
  while (queue.length > 0) {
    const oid = queue.shift()!;
    for (const next of memberOf.get(oid) ?? []) {
      const row = byOid.get(next);
      if (!row || paths.has(next)) continue;
      paths.set(next, [...paths.get(oid)!, row.rolname]);
      queue.push(next);
    }
  }
  return [...paths].map(([oid, path]) => {
    const r = byOid.get(oid)!;
    return { path, predefined: r.predefined, attributes: PRIVILEGED_ATTRIBUTES.filter((a) => r[ATTRIBUTE_COLUMNS[a]]) };
  });
}

/**
 * Why `requested` may not be handed out, or undefined when it may. `requested` listed in the
 * resource's `privilegedRoles` is accepted whatever it can reach, except a superuser (never).
 */
export function privilegeRefusal(requested: string, reach: readonly ReachableRole[], privilegedRoles: ReadonlySet<string>): string | undefined {
  const self = reach.find((r) => r.path.length === 1);
  if (self?.attributes.includes('SUPERUSER')) return `role "${requested}" is a superuser; the gateway does not hand out superuser sessions`;
  if (privilegedRoles.has(requested)) return undefined;
  const hint = `; list it in the resource's postgres.privilegedRoles on the agent to allow it`;
  for (const r of reach) {
    const why = [
      ...(r.predefined ? ['a predefined role'] : []),
      ...(r.attributes.length > 0 ? [`has ${r.attributes.join(', ')}`] : []),
    ];
    if (why.length === 0) continue;
    const target = r.path.at(-1) ?? requested;
    if (r.path.length === 1) return `role "${requested}" is privileged (${why.join(', ')})${hint}`;
    return `role "${requested}" is privileged: it can assume "${target}" (${why.join(', ')}) through membership ${r.path.map((p) => `"${p}"`).join(' -> ')}${hint}`;
  }
  return undefined;
}
