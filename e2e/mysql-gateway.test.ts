import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './support/stack.js';

const run = promisify(execFile);
const suffix = randomBytes(4).toString('hex');
const DB = `gw_e2e_${suffix}`;
const ROLE = `gw_e2e_app_${suffix}`;
const RESOURCE = 'shop-db';
/** A second resource in fixed mode: every session logs in as this one database user. */
const FIXED_USER = `gw_e2e_fixed_${suffix}`;
const FIXED_PASSWORD = `pw-${suffix}`;

const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("my-connect") permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "mysql" };
@id("my-read")
@mask("email:partial, card:full")
permit (principal, action in Gateway::Action::"sql:read", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "mysql" };
@id("my-insert") permit (principal, action == Gateway::Action::"sql:insert", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "mysql" };
@id("no-delete") @reason("deleting rows is not allowed for workloads")
forbid (principal, action in [Gateway::Action::"sql:delete", Gateway::Action::"sql:admin", Gateway::Action::"sql:procedural", Gateway::Action::"sql:ddl"], resource)
  when { principal.gatewayRoles.contains("requester") };
`;

const root = () => mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', multipleStatements: true });

describe('mysql through the gateway: policy, masking, recording, ephemeral users', () => {
  let stack: Stack;
  let token: string;
  const client = (extra: mysql.ConnectionOptions = {}) =>
    mysql.createConnection({
      host: '127.0.0.1',
      port: stack.mysqlPort,
      user: `${ROLE}@${RESOURCE}`,
      password: token,
      database: DB,
      ssl: { rejectUnauthorized: false },
      authPlugins: { mysql_clear_password: () => () => Buffer.from(`${token}\0`) },
      ...extra,
    });
  const cli = (sql: string, extra: string[] = []) =>
    run('mariadb', ['-h', '127.0.0.1', '-P', String(stack.mysqlPort), '-u', `${ROLE}@${RESOURCE}`, `-p${token}`, '--ssl', '--skip-ssl-verify-server-cert', '--batch', DB, '-e', sql, ...extra], { timeout: 20_000 });

  beforeAll(async () => {
    const r = await root();
    await r.query(`CREATE DATABASE ${DB}; CREATE TABLE ${DB}.customers (id int primary key, name varchar(50), email varchar(100), card varchar(30));
      INSERT INTO ${DB}.customers VALUES (1, 'Ada', 'ada@example.com', '4111 1111 1111 1111'), (2, 'Bob', 'bob@example.org', 'none');
      CREATE ROLE ${ROLE}; GRANT SELECT, INSERT, DELETE ON ${DB}.* TO ${ROLE};
      CREATE USER '${FIXED_USER}'@'%' IDENTIFIED BY '${FIXED_PASSWORD}'; GRANT SELECT ON ${DB}.* TO '${FIXED_USER}'@'%';`);
    await r.end();
    stack = await startStack({
      policy: POLICY,
      resources: [
        { name: RESOURCE, type: 'mysql', address: '127.0.0.1:3306', extra: { credentials: { user: 'literal:root' } } },
        { name: 'shop-fixed', type: 'mysql', address: '127.0.0.1:3306', extra: { credentials: { user: `literal:${FIXED_USER}`, password: `literal:${FIXED_PASSWORD}` }, mysql: { mode: 'fixed' } } },
      ],
    });
    token = await stack.cp.token('ai-agent');
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    const r = await root();
    await r.query(`DROP DATABASE IF EXISTS ${DB}; DROP ROLE IF EXISTS ${ROLE}; DROP USER IF EXISTS '${FIXED_USER}'@'%'`);
    await r.end();
  });

  it('mysql2: masks rows (text and prepared), refuses a DELETE naming the policy, the session goes on', async () => {
    const c = await client();
    try {
      const [rows] = await c.query('SELECT id, email, card FROM customers ORDER BY id');
      expect((rows as unknown[])[0]).toEqual({ id: 1, email: 'a**@example.com', card: '**** **** **** ****' });
      const [prepared] = await c.execute('SELECT id, email FROM customers WHERE id = ?', [2]);
      expect(prepared).toEqual([{ id: 2, email: 'b**@example.org' }]);
      await expect(c.query('DELETE FROM customers WHERE id = 1')).rejects.toMatchObject({ errno: 1142, message: expect.stringContaining('no-delete') as unknown });
      await expect(c.execute('DELETE FROM customers WHERE id = ?', [1])).rejects.toMatchObject({ errno: 1142 });
      const [count] = await c.query('SELECT count(*) AS n FROM customers');
      expect(count).toEqual([{ n: 2 }]);
    } finally {
      await c.end();
    }
  });

  it('a stored function, and a view that calls one (directly or through another view), are procedural: refused, and the function never runs', async () => {
    const r = await root();
    await r.query(`CREATE TABLE ${DB}.bumps (n int);
      CREATE FUNCTION ${DB}.bump() RETURNS INT MODIFIES SQL DATA BEGIN INSERT INTO ${DB}.bumps VALUES (1); RETURN 1; END;
      CREATE VIEW ${DB}.bumping AS SELECT id, ${DB}.bump() AS b FROM ${DB}.customers;
      CREATE VIEW ${DB}.over_bumping AS SELECT id FROM ${DB}.bumping;
      CREATE VIEW ${DB}.plain_names AS SELECT id, name FROM ${DB}.customers;`);
    const c = await client();
    try {
      const [plain] = await c.query('SELECT id, name FROM plain_names ORDER BY id');
      expect(plain).toEqual([{ id: 1, name: 'Ada' }, { id: 2, name: 'Bob' }]);
      for (const sql of ['SELECT bump()', 'SELECT * FROM bumping', 'SELECT id FROM over_bumping', 'SELECT c.id FROM customers c JOIN `bumping` b ON b.id = c.id']) {
        await expect(c.query(sql), sql).rejects.toMatchObject({ message: expect.stringContaining('denied by policy "no-delete"') as unknown });
      }
      const [ran] = await r.query(`SELECT count(*) AS n FROM ${DB}.bumps`);
      expect(ran).toEqual([{ n: 0 }]);
    } finally {
      await c.end();
      await r.end();
    }
  });

  it('mariadb CLI: reads masked rows, a refused DROP, and the session\'s database user is gone afterwards', async () => {
    const { stdout } = await cli('SELECT id, email FROM customers ORDER BY id; SELECT CURRENT_USER() AS u');
    const [rows, user] = stdout.split('u\n');
    expect(rows).toBe('id\temail\n1\ta**@example.com\n2\tb**@example.org\n');
    const sessionUser = user!.trim().replace(/@%$/, '');
    expect(sessionUser).toMatch(/^gw_[0-9a-f]{8}_[0-9a-f]{12}$/);
    await expect(cli('DROP TABLE customers')).rejects.toMatchObject({ stderr: expect.stringMatching(/ERROR 1142 .*no-delete/) as unknown });
    const r = await root();
    await expect.poll(async () => (await r.query('SELECT User FROM mysql.user WHERE User = ?', [sessionUser]))[0], { timeout: 5000 }).toEqual([]);
    await r.end();
  });

  it('refuses a login without TLS and a token that is not one', async () => {
    await expect(run('mariadb', ['-h', '127.0.0.1', '-P', String(stack.mysqlPort), '-u', `${ROLE}@${RESOURCE}`, `-p${token}`, '--skip-ssl', DB, '-e', 'SELECT 1'])).rejects.toMatchObject({
      stderr: expect.stringContaining('requires TLS') as unknown,
    });
    await expect(run('mariadb', ['-h', '127.0.0.1', '-P', String(stack.mysqlPort), '-u', `${ROLE}@${RESOURCE}`, '-pnot-a-token', '--ssl', '--skip-ssl-verify-server-cert', DB, '-e', 'SELECT 1'])).rejects.toMatchObject({
      stderr: expect.stringMatching(/ERROR 1045 .*token refused/) as unknown,
    });
  });

  it('fixed mode: the session logs in as the configured user (mysql_native_password upstream); asking for another user is refused', async () => {
    const fixed = (user: string) => client({ user: `${user}@shop-fixed` });
    const c = await fixed(FIXED_USER);
    try {
      const [rows] = await c.query('SELECT CURRENT_USER() AS u, email FROM customers WHERE id = 1');
      expect(rows).toEqual([{ u: `${FIXED_USER}@%`, email: 'a**@example.com' }]);
    } finally {
      await c.end();
    }
    await expect(fixed(ROLE)).rejects.toMatchObject({ errno: 1045, message: expect.stringContaining('mysql.mode: fixed') as unknown });
  });
});
