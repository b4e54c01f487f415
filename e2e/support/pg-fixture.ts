import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startStack, type Stack } from './stack.js';

/**
 * One Postgres resource behind the gateway for one e2e file: its own database (named like the resource),
 * its own application role with every privilege on the tables, fake PII in `customers`, and `orders`.
 * Everything is dropped by `close()`.
 */

export const PII = {
  ada: { email: 'ada@example.com', card: '4111 1111 1111 1111', ssn: '536-22-8714', iban: 'GB82 WEST 1234 5698 7654 32', phone: '+1 415-555-0132' },
  bob: { email: 'bob@example.org', card: '5555-5555-5555-4444', ssn: '219-45-1234', iban: 'DE89370400440532013000', phone: '+44 20 7946 0958' },
  /** Fails Luhn: must stay visible. */
  notACard: '4111 1111 1111 1112',
} as const;

/** Requesters connect, read masked, insert/update; delete, ddl, admin and procedural are forbidden. */
export const PG_POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("pg-connect") permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "postgres" && !(resource.hasTag("closed")) };
@id("pg-read")
@mask("email:partial, card:full, ssn:full, iban:partial, phone:partial")
permit (principal, action in Gateway::Action::"sql:read", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "postgres" };
@id("pg-write") permit (principal, action in [Gateway::Action::"sql:insert", Gateway::Action::"sql:update"], resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "postgres" };
@id("no-destructive") @reason("workloads may not delete rows, change schema, administer or run procedural code")
forbid (principal, action in [Gateway::Action::"sql:delete", Gateway::Action::"sql:ddl", Gateway::Action::"sql:admin", Gateway::Action::"sql:procedural"], resource)
  when { principal.gatewayRoles.contains("requester") };
@id("closed-resource") @reason("this resource is closed for maintenance")
forbid (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.hasTag("closed") };
`;

export interface PgFixture {
  stack: Stack;
  /** Resource name = database name = what clients put as dbname. */
  resource: string;
  /** A second resource on the same database whose connect is refused by policy. */
  closedResource: string;
  role: string;
  token: string;
  /** A gateway client (TLS, token as password) as the application role. */
  gateway(extra?: Partial<pg.ClientConfig>): pg.Client;
  /** A direct superuser connection to the resource's database. */
  direct(): Promise<pg.Client>;
  /** Runs one query directly as superuser on the resource database. */
  directQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<R[]>;
  counts(): Promise<{ customers: number; orders: number }>;
  close(): Promise<void>;
}

const adminClient = () => new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });

/**
 * vitest externalizes the workspace packages, so `@gw/agent` (and the libs) load from their `dist/`,
 * not from `src/`: a handler fix that was not built would silently not be under test.
 */
export function assertAgentBuilt(root = 'apps/agent'): void {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  const mtime = (file: string) => {
    try {
      return statSync(file).mtimeMs;
    } catch {
      return 0;
    }
  };
  // tsc -b rewrites its build info on every build that saw a change, even when it emits no new file.
  const lastBuild = mtime(join(root, 'dist', 'tsconfig.tsbuildinfo'));
  for (const file of walk(join(root, 'src'))) {
    if (!file.endsWith('.ts') || file.endsWith('.spec.ts')) continue;
    const built = join(root, 'dist', file.slice(join(root, 'src').length).replace(/\.ts$/, '.js'));
    if (Math.max(mtime(built), lastBuild) < mtime(file) || mtime(built) === 0) {
      throw new Error(`${built} is older than ${file}: run \`npx tsc -b ${root}\` before the e2e tests`);
    }
  }
}

export async function startPgFixture(tag: string, opts: { policy?: string; env?: Record<string, string> } = {}): Promise<PgFixture> {
  assertAgentBuilt();
  const suffix = randomBytes(4).toString('hex');
  const resource = `gwpg${tag}${suffix}`;
  const role = `gwpg_app_${tag}_${suffix}`;
  const admin = adminClient();
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${resource}`);
    await admin.query(`CREATE ROLE ${role} NOLOGIN`);
  } finally {
    await admin.end();
  }
  const directQuery = async <R extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<R[]> => {
    const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: resource });
    await c.connect();
    try {
      return (await c.query<R>(sql, values)).rows;
    } finally {
      await c.end();
    }
  };
  await directQuery(`
    CREATE TABLE customers (id int PRIMARY KEY, name text, email text, card varchar(40), ssn text, iban text, phone text, note text, balance numeric(10,2), born date);
    CREATE TABLE orders (id serial PRIMARY KEY, customer_id int REFERENCES customers(id), amount numeric(10,2) NOT NULL, item text);
    INSERT INTO customers VALUES
      (1, 'Ada Lovelace', '${PII.ada.email}', '${PII.ada.card}', '${PII.ada.ssn}', '${PII.ada.iban}', '${PII.ada.phone}', 'vip', 1234.50, '1815-12-10'),
      (2, 'Bob Builder', '${PII.bob.email}', '${PII.bob.card}', '${PII.bob.ssn}', '${PII.bob.iban}', '${PII.bob.phone}', '${PII.notACard}', 10.00, '1990-01-02'),
      (3, 'Nul Person', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    INSERT INTO orders (customer_id, amount, item) VALUES (1, 19.99, 'book'), (1, 5.00, 'pen'), (2, 100.00, 'desk');
    GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role};
    GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${role};
    GRANT CREATE, USAGE ON SCHEMA public TO ${role};
  `);
  let stack: Stack | undefined;
  try {
    stack = await startStack({
      policy: opts.policy ?? PG_POLICY,
      ...(opts.env ? { env: opts.env } : {}),
      resources: [
        { name: resource, type: 'postgres', address: '127.0.0.1:5432', extra: { credentials: { user: 'literal:postgres' }, postgres: { database: resource } } },
        { name: `${resource}-closed`, type: 'postgres', address: '127.0.0.1:5432', labels: { closed: 'yes' }, extra: { credentials: { user: 'literal:postgres' }, postgres: { database: resource } } },
      ],
    });
  } catch (err) {
    await dropAll(resource, role);
    throw err;
  }
  const started = stack;
  const token = await started.cp.token('ai-agent');
  return {
    stack: started,
    resource,
    closedResource: `${resource}-closed`,
    role,
    token,
    gateway: (extra = {}) =>
      new pg.Client({ host: '127.0.0.1', port: started.pgPort, user: role, password: token, database: resource, ssl: { rejectUnauthorized: false }, ...extra }),
    async direct() {
      const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: resource });
      await c.connect();
      return c;
    },
    directQuery,
    async counts() {
      const rows = await directQuery<{ customers: number; orders: number }>(
        'SELECT (SELECT count(*) FROM customers)::int AS customers, (SELECT count(*) FROM orders)::int AS orders',
      );
      return rows[0] ?? { customers: -1, orders: -1 };
    },
    async close() {
      await started.close().catch(() => undefined);
      await dropAll(resource, role);
    },
  };
}

async function dropAll(database: string, role: string): Promise<void> {
  const admin = adminClient();
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    // Gateway roles that are members of ours would block DROP ROLE if the agent left any behind.
    const left = await admin.query<{ rolname: string }>(
      `SELECT rolname FROM pg_roles WHERE rolname LIKE 'gw\\_%' AND pg_has_role(rolname, $1, 'MEMBER') AND rolname <> $1`,
      [role],
    );
    for (const r of left.rows) await admin.query(`DROP ROLE IF EXISTS "${r.rolname}"`);
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
  } finally {
    await admin.end();
  }
}
