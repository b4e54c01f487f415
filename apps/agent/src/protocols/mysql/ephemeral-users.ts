import { createHash, randomBytes } from 'node:crypto';
import type { Pool } from 'mysql2/promise';

export class UserRefusedError extends Error {}

export interface EphemeralUser {
  name: string;
  host: string;
  password: string;
}

/** Global privileges that make a role administrative: asking for one is refused unless the resource lists it. */
const PRIVILEGED = /\b(ALL PRIVILEGES|SUPER|FILE|PROCESS|SHUTDOWN|RELOAD|CREATE USER|REPLICATION|BINLOG|CONNECTION ADMIN|READ_ONLY ADMIN|SET USER)\b.*\bON \*\.\*|WITH GRANT OPTION/i;

const quote = (v: string): string => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
const ident = (v: string): string => `\`${v.replace(/`/g, '``')}\``;

/**
 * Per-session database users on a MySQL/MariaDB server: `gw_<agent>_<random>`, a random password,
 * `MAX_USER_CONNECTIONS 1`, granted the requested role as its default role and nothing else; dropped
 * at the session's end. The names carry a hash of the agent id so a restarted agent sweeps its own
 * leftovers and never another agent's.
 */
export class EphemeralUsers {
  private swept: Promise<void> | undefined;

  constructor(
    private readonly admin: Pool,
    private readonly agentId: () => string,
    private readonly host: string,
  ) {}

  private prefix(): string {
    return `gw_${createHash('sha256').update(this.agentId()).digest('hex').slice(0, 8)}_`;
  }

  /** Drops this agent's users left by sessions that ended without cleanup (crash, kill -9). Once per resource. */
  sweep(): Promise<void> {
    this.swept ??= (async () => {
      const [rows] = await this.admin.query(`SELECT User AS user, Host AS host FROM mysql.user WHERE User LIKE ${quote(`${this.prefix().replace(/_/g, '\\_')}%`)}`);
      for (const r of rows as { user: string; host: string }[]) await this.admin.query(`DROP USER IF EXISTS ${quote(r.user)}@${quote(r.host)}`);
    })().catch((error: unknown) => {
      // A database unreachable (or refusing TLS) at first use must not fail every later session: sweep again next time.
      this.swept = undefined;
      throw error;
    });
    return this.swept;
  }

  async create(role: string, privilegedRoles: ReadonlySet<string>): Promise<EphemeralUser> {
    await this.sweep();
    await this.assertAssumable(role, privilegedRoles);
    const user: EphemeralUser = { name: `${this.prefix()}${randomBytes(6).toString('hex')}`, host: this.host, password: randomBytes(24).toString('base64url') };
    const account = `${quote(user.name)}@${quote(user.host)}`;
    await this.admin.query(`CREATE USER ${account} IDENTIFIED BY ${quote(user.password)} WITH MAX_USER_CONNECTIONS 1`);
    try {
      await this.admin.query(`GRANT ${ident(role)} TO ${account}`);
      await this.admin.query(`SET DEFAULT ROLE ${ident(role)} FOR ${account}`);
    } catch (error) {
      await this.drop(user);
      throw new UserRefusedError(`"${role}" cannot be granted to a session user (${(error as Error).message.slice(0, 200)}); ask for a role the gateway's administrator account can grant`);
    }
    return user;
  }

  async drop(user: EphemeralUser): Promise<void> {
    await this.admin.query(`DROP USER IF EXISTS ${quote(user.name)}@${quote(user.host)}`);
  }

  /** The role exists, is a role, and is not administrative (unless the resource allows it). */
  private async assertAssumable(role: string, privilegedRoles: ReadonlySet<string>): Promise<void> {
    if (!/^[A-Za-z0-9_.$-]{1,80}$/.test(role)) throw new UserRefusedError(`"${role.slice(0, 100)}" is not a role name the gateway accepts`);
    let grants: string[];
    try {
      const [rows] = await this.admin.query(`SHOW GRANTS FOR ${ident(role)}`);
      grants = (rows as Record<string, string>[]).map((r) => Object.values(r)[0] ?? '');
    } catch {
      throw new UserRefusedError(`role "${role}" does not exist on the database`);
    }
    if (!privilegedRoles.has(role) && grants.some((g) => PRIVILEGED.test(g))) {
      throw new UserRefusedError(`role "${role}" holds administrative privileges; the resource does not list it in mysql.privilegedRoles`);
    }
  }
}
