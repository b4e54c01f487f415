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

export interface EphemeralRolesOptions {
  /** Roles of other runs (and expired ones of any agent) are swept again at most this often (default 10 min). */
  sweepIntervalMs?: number;
  /** A drop that failed (database restarting) is tried again after this long, until it succeeds (default 30 s). */
  dropRetryMs?: number;
}

/**
 * Creates, and later drops, per-session LOGIN roles with an admin connection pool to the resource.
 * The role is a member of the requested role, logs in with a random password, may hold one
 * connection and expires with the session grant even if the agent dies before dropping it.
 * Nothing is left behind while the agent runs: a drop that fails is retried until it succeeds, and
 * the sweep of leftovers repeats (not only at the first session), sparing the roles of live sessions.
 */
export class EphemeralRoles {
  /** Made by this run and not dropped yet: the sweep leaves them alone. */
  private readonly live = new Set<string>();
  /** Whose drop failed: retried on a timer. */
  private readonly undropped = new Set<string>();
  private lastSweepAt = 0;
  private sweeping: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly sweepIntervalMs: number;
  private readonly dropRetryMs: number;

  constructor(
    private readonly admin: pg.Pool,
    private readonly agentId: () => string,
    options: EphemeralRolesOptions = {},
  ) {
    this.sweepIntervalMs = options.sweepIntervalMs ?? 10 * 60_000;
    this.dropRetryMs = options.dropRetryMs ?? 30_000;
  }

  /** Roles whose drop failed and waits for a retry. */
  get pendingDrops(): readonly string[] {
    return [...this.undropped];
  }

  async create(sessionId: string, requestedRole: string, expiresAt: Date, privilegedRoles: ReadonlySet<string> = new Set()): Promise<EphemeralRole> {
    await this.sweepIfDue(); // a failed sweep must not block sessions; retried next time
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
      this.live.add(name);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    return { name, password };
  }

  /**
   * Ends the role's backends, drops what it owns in this database and the role itself. On failure
   * (the database is restarting) the role is kept for a retry on a timer, and the error is thrown.
   */
  async drop(name: string): Promise<void> {
    this.live.delete(name);
    try {
      await this.dropNow(name);
      this.undropped.delete(name);
    } catch (error) {
      this.undropped.add(name);
      this.scheduleRetry();
      throw error;
    }
  }

  /** Roles left by an earlier run of this agent, and any gateway role whose validity has passed; never a live session's. */
  async sweep(): Promise<string[]> {
    const prefix = agentRolePrefix(this.agentId());
    const { rows } = await this.admin.query<{ rolname: string }>(
      `SELECT rolname FROM pg_roles
        WHERE coalesce(shobj_description(oid, 'pg_authid'), '') LIKE $1
          AND (starts_with(rolname, $2) OR (starts_with(rolname, 'gw_') AND rolvaliduntil < now()))`,
      [`${EPHEMERAL_COMMENT_PREFIX}%`, prefix],
    );
    const stale = rows.map((r) => r.rolname).filter((name) => !this.live.has(name));
    for (const name of stale) await this.drop(name);
    return stale;
  }

  /** Stops the retry timer (the agent is closing the resource). */
  close(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private async dropNow(name: string): Promise<void> {
    await this.admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()', [name]);
    const exists = await this.admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
    if (exists.rowCount === 0) return;
    await this.admin.query(`DROP OWNED BY ${quoteIdent(name)}`);
    await this.admin.query(`DROP ROLE ${quoteIdent(name)}`);
  }

  private async sweepIfDue(): Promise<void> {
    if (Date.now() - this.lastSweepAt < this.sweepIntervalMs) return;
    this.sweeping ??= this.sweep().then(
      () => {
        this.lastSweepAt = Date.now();
      },
      () => undefined, // tried again at the next session
    ).finally(() => {
      this.sweeping = undefined;
    });
    await this.sweeping;
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.retryDrops();
    }, this.dropRetryMs);
    this.retryTimer.unref();
  }

  private async retryDrops(): Promise<void> {
    for (const name of [...this.undropped]) {
      try {
        await this.drop(name);
      } catch {
        return; // drop() has scheduled the next attempt
      }
    }
  }
}
