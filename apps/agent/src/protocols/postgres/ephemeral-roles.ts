import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { privilegeRefusal, reachableRoles } from './role-privileges.js';

export const EPHEMERAL_COMMENT_PREFIX = 'gateway ephemeral role';

/** A role name or other identifier as a quoted SQL identifier. */
export function quoteIdent(name: string): string {
  if (name.length === 0 || name.length > 63 || name.includes('\0')) throw new Error('invalid identifier');
  return `"${name.replace(/"/g, '""')}"`;
}

/** A string as a standard-conforming SQL literal (E'' never used, so backslashes are plain). */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('invalid literal');
  return `'${value.replace(/'/g, "''")}'`;
}

/** `gw_<first 8 of agent id>_<first 8 of session id>`, lower-case alphanumerics only. */
export function ephemeralRoleName(agentId: string, sessionId: string): string {
  const part = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 8).padEnd(8, '0');
  return `gw_${part(agentId)}_${part(sessionId)}`;
}

export function agentRolePrefix(agentId: string): string {
  return ephemeralRoleName(agentId, '').slice(0, 12);
}

/** Refusal of the requested role; `message` is safe for the client. */
export class RoleRefusedError extends Error {
  override readonly name = 'RoleRefusedError';
}

/**
 * Refuses (RoleRefusedError) a role that is, or through membership can become, privileged: a
 * predefined pg_* role or one with SUPERUSER, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS,
 * unless the resource lists it in `privilegedRoles` (a superuser never). The ephemeral role is
 * granted the requested role and runs as it (`ALTER ROLE ... SET role`), so it can reach exactly
 * what the requested role reaches; fixed credentials are checked the same way.
 */
export async function assertAssumable(admin: pg.Pool, role: string, privilegedRoles: ReadonlySet<string>): Promise<void> {
  const reach = await reachableRoles(admin, role);
  if (reach.length === 0) throw new RoleRefusedError(`role "${role}" does not exist on this database`);
  const refusal = privilegeRefusal(role, reach, privilegedRoles);
  if (refusal) throw new RoleRefusedError(refusal);
}

export interface EphemeralRole {
  name: string;
  password: string;
}

/**
 * Creates, and later drops, per-session LOGIN roles with an admin connection pool to the resource.
 * The role is a member of the requested role, logs in with a random password, may hold one
 * connection and expires with the session grant even if the agent dies before dropping it.
 */
export class EphemeralRoles {
  private swept: Promise<void> | undefined;

  constructor(
    private readonly admin: pg.Pool,
    private readonly agentId: () => string,
  ) {}

  async create(sessionId: string, requestedRole: string, expiresAt: Date, privilegedRoles: ReadonlySet<string> = new Set()): Promise<EphemeralRole> {
    await this.sweepOnce().catch(() => undefined); // a failed sweep must not block sessions; retried next time
    const name = ephemeralRoleName(this.agentId(), sessionId);
    if (requestedRole === name) throw new RoleRefusedError(`role "${requestedRole}" cannot be requested`);
    const found = await this.admin.query<{ ephemeral: boolean }>(
      `SELECT coalesce(shobj_description(oid, 'pg_authid'), '') LIKE $2 AS ephemeral FROM pg_roles WHERE rolname = $1`,
      [requestedRole, `${EPHEMERAL_COMMENT_PREFIX}%`],
    );
    const role = found.rows[0];
    if (!role) throw new RoleRefusedError(`role "${requestedRole}" does not exist on this database`);
    if (role.ephemeral) throw new RoleRefusedError(`role "${requestedRole}" is a gateway ephemeral role and cannot be requested`);
    await assertAssumable(this.admin, requestedRole, privilegedRoles);
    const password = randomBytes(24).toString('base64url');
    const client = await this.admin.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `CREATE ROLE ${quoteIdent(name)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD ${quoteLiteral(password)} VALID UNTIL ${quoteLiteral(expiresAt.toISOString())} CONNECTION LIMIT 1`,
      );
      await client.query(`GRANT ${quoteIdent(requestedRole)} TO ${quoteIdent(name)}`);
      // Run as the requested role, so that objects it creates belong to that role and outlive the session.
      await client.query(`ALTER ROLE ${quoteIdent(name)} SET role TO ${quoteLiteral(requestedRole)}`);
      await client.query(`COMMENT ON ROLE ${quoteIdent(name)} IS ${quoteLiteral(`${EPHEMERAL_COMMENT_PREFIX} for session ${sessionId}`)}`);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    return { name, password };
  }

  /** Ends the role's backends, drops what it owns in this database and the role itself. */
  async drop(name: string): Promise<void> {
    await this.admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()', [name]);
    const exists = await this.admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
    if (exists.rowCount === 0) return;
    await this.admin.query(`DROP OWNED BY ${quoteIdent(name)}`);
    await this.admin.query(`DROP ROLE ${quoteIdent(name)}`);
  }

  /** Roles left by an earlier run of this agent, and any gateway role whose validity has passed. */
  async sweep(): Promise<string[]> {
    const prefix = agentRolePrefix(this.agentId());
    const { rows } = await this.admin.query<{ rolname: string }>(
      `SELECT rolname FROM pg_roles
        WHERE coalesce(shobj_description(oid, 'pg_authid'), '') LIKE $1
          AND (starts_with(rolname, $2) OR (starts_with(rolname, 'gw_') AND rolvaliduntil < now()))`,
      [`${EPHEMERAL_COMMENT_PREFIX}%`, prefix],
    );
    for (const row of rows) await this.drop(row.rolname);
    return rows.map((r) => r.rolname);
  }

  private sweepOnce(): Promise<void> {
    this.swept ??= this.sweep().then(
      () => undefined,
      (error: unknown) => {
        this.swept = undefined; // try again on the next session
        throw error;
      },
    );
    return this.swept;
  }
}
