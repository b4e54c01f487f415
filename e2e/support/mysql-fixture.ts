import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { startStack, type Stack, type StackResource } from './stack.js';

const run = promisify(execFile);

export interface MysqlFixture {
  stack: Stack;
  /** The test's own schema on the real MariaDB. */
  db: string;
  /** The database role sessions ask for (granted to each ephemeral user). */
  role: string;
  resource: string;
  token: string;
  /** A mysql2 connection through the gateway as `<role>@<resource>`, TLS, the token as cleartext password. */
  gateway(extra?: mysql.ConnectionOptions): Promise<mysql.Connection>;
  /** The agent's resource entry (to serve the same resource from another agent). */
  stackResource: StackResource;
  /** The `mariadb` command-line client through the gateway; `args` come before the schema. */
  cli(sql: string, args?: string[]): Promise<{ stdout: string; stderr: string }>;
  /** A root connection straight to MariaDB (setup and checks, never through the gateway). */
  direct(): Promise<mysql.Connection>;
  close(): Promise<void>;
}

/**
 * A schema with fake customers and orders on the real MariaDB (127.0.0.1:3306), a role with rights on
 * it, and the whole gateway (control plane and an agent serving it as a `mysql` resource in ephemeral mode).
 */
export async function startMysqlFixture(
  name: string,
  opts: { policy: string; token?: string; resourceExtra?: Record<string, unknown>; env?: Record<string, string>; agentControlPlane?: Record<string, unknown> },
): Promise<MysqlFixture> {
  const suffix = randomBytes(4).toString('hex');
  const db = `gw_${name}_${suffix}`;
  const role = `gw_${name}_app_${suffix}`;
  const resource = `${name}-db`;
  const direct = () => mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', multipleStatements: true });
  const r = await direct();
  await r.query(`CREATE DATABASE ${db};
    CREATE TABLE ${db}.customers (id int primary key, name varchar(50), email varchar(100), card varchar(30), phone varchar(30), card_number bigint);
    INSERT INTO ${db}.customers VALUES (1, 'Ada', 'ada@example.com', '4111 1111 1111 1111', '+1 415 555 0100', 4111111111111111), (2, 'Bob', 'bob@example.org', 'none', 'n/a', 42);
    CREATE TABLE ${db}.orders (id int primary key auto_increment, customer_id int, item varchar(50));
    INSERT INTO ${db}.orders (customer_id, item) VALUES (1, 'book'), (1, 'pen'), (2, 'desk');
    CREATE TABLE ${db}.secrets (id int primary key, value varchar(50));
    INSERT INTO ${db}.secrets VALUES (1, 'launch codes');
    CREATE ROLE ${role}; GRANT SELECT, INSERT, UPDATE, DELETE, LOCK TABLES, SHOW VIEW, EXECUTE ON ${db}.* TO ${role};`);
  await r.end();
  const stackResource: StackResource = { name: resource, type: 'mysql', address: '127.0.0.1:3306', extra: { credentials: { user: 'literal:root' }, ...(opts.resourceExtra ?? {}) } };
  const stack = await startStack({
    policy: opts.policy,
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.agentControlPlane ? { agentControlPlane: opts.agentControlPlane } : {}),
    resources: [stackResource],
  });
  const token = await stack.cp.token(opts.token ?? 'ai-agent');
  return {
    stack,
    db,
    role,
    resource,
    token,
    stackResource,
    gateway: (extra = {}) =>
      mysql.createConnection({
        host: '127.0.0.1',
        port: stack.mysqlPort,
        user: `${role}@${resource}`,
        password: token,
        database: db,
        ssl: { rejectUnauthorized: false },
        authPlugins: { mysql_clear_password: () => () => Buffer.from(`${token}\0`) },
        ...extra,
      }),
    cli: (sql, args = []) =>
      run('mariadb', ['-h', '127.0.0.1', '-P', String(stack.mysqlPort), '-u', `${role}@${resource}`, `-p${token}`, '--ssl', '--skip-ssl-verify-server-cert', '--batch', ...args, db, '-e', sql], { timeout: 20_000 }),
    direct,
    async close() {
      await stack.close();
      const c = await direct();
      await c.query(`DROP DATABASE IF EXISTS ${db}; DROP ROLE IF EXISTS ${role}`);
      await c.end();
    },
  };
}
