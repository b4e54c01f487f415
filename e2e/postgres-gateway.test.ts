import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './support/stack.js';

const run = promisify(execFile);
const suffix = randomBytes(4).toString('hex');
const DB = `gw_e2e_${suffix}`;
const ROLE = `gw_e2e_app_${suffix}`;

const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("pg-connect") permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "postgres" };
@id("pg-read")
@mask("email:partial, card:full")
permit (principal, action in Gateway::Action::"sql:read", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "postgres" };
@id("pg-insert") permit (principal, action == Gateway::Action::"sql:insert", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "postgres" };
@id("no-delete") @reason("deleting rows is not allowed for workloads")
forbid (principal, action in [Gateway::Action::"sql:delete", Gateway::Action::"sql:admin", Gateway::Action::"sql:procedural", Gateway::Action::"sql:ddl"], resource)
  when { principal.gatewayRoles.contains("requester") };
`;

const superuser = () => new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: DB });

describe('postgres through the gateway: policy, masking, recording, ephemeral roles', () => {
  let stack: Stack;
  let token: string;
  const client = (extra: Partial<pg.ClientConfig> = {}) =>
    new pg.Client({ host: '127.0.0.1', port: stack.pgPort, user: ROLE, password: token, database: 'crm', ssl: { rejectUnauthorized: false }, ...extra });

  beforeAll(async () => {
    const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${DB}`);
    await admin.query(`CREATE ROLE ${ROLE} NOLOGIN`);
    await admin.end();
    const db = superuser();
    await db.connect();
    await db.query(`CREATE TABLE customers (id int primary key, name text, email text, card varchar(30))`);
    await db.query(`INSERT INTO customers VALUES (1, 'Ada', 'ada@example.com', '4111 1111 1111 1111'), (2, 'Bob', 'bob@example.org', 'none')`);
    await db.query(`GRANT SELECT, INSERT, DELETE ON customers TO ${ROLE}`);
    await db.end();
    stack = await startStack({
      policy: POLICY,
      resources: [{ name: 'crm', type: 'postgres', address: '127.0.0.1:5432', extra: { credentials: { user: 'literal:postgres' }, postgres: { database: DB } } }],
    });
    token = await stack.cp.token('ai-agent');
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await admin.query(`DROP ROLE IF EXISTS ${ROLE}`);
    await admin.end();
  });

  it('masks results and keeps a denied DELETE from running, session still usable', async () => {
    const c = client();
    await c.connect();
    try {
      const rows = await c.query('SELECT id, email, card FROM customers ORDER BY id');
      expect(rows.rows[0]).toEqual({ id: 1, email: 'a**@example.com', card: '**** **** **** ****' });
      await expect(c.query('DELETE FROM customers WHERE id = 1')).rejects.toMatchObject({ code: '42501', message: expect.stringContaining('no-delete') as unknown });
      const ext = await c.query({ text: 'SELECT email FROM customers WHERE id = $1', values: [2] });
      expect(ext.rows[0]).toEqual({ email: 'b**@example.org' });
      await expect(c.query({ text: 'DELETE FROM customers WHERE id = $1', values: [1] })).rejects.toMatchObject({ code: '42501' });
      expect((await c.query('SELECT count(*)::int AS n FROM customers')).rows[0]).toEqual({ n: 2 });
    } finally {
      await c.end();
    }
  });

  it('psql: simple queries, a denied statement, and the ephemeral role is gone afterwards', async () => {
    const env = { ...process.env, PGPASSWORD: token };
    const conn = `host=127.0.0.1 port=${stack.pgPort} dbname=crm user=${ROLE} sslmode=require`;
    const out = await run('psql', [conn, '-Atc', 'SELECT email FROM customers ORDER BY id'], { env });
    expect(out.stdout.trim().split('\n')).toEqual(['a**@example.com', 'b**@example.org']);
    const denied = await run('psql', [conn, '-Atc', 'SELECT 1; DELETE FROM customers; SELECT 2'], { env }).catch((e: { stderr: string }) => e);
    expect(denied.stderr).toContain('denied by policy');
    const db = superuser();
    await db.connect();
    try {
      expect((await db.query('SELECT count(*)::int AS n FROM customers')).rows[0]).toEqual({ n: 2 });
      await expect.poll(async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_roles WHERE rolname LIKE 'gw\\_%' AND rolname <> '${ROLE}' AND pg_has_role(rolname, '${ROLE}', 'MEMBER')`)).rows[0]?.n, { timeout: 5000 }).toBe(0);
    } finally {
      await db.end();
    }
  });
});
