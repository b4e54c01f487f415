import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as mariadb from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionEvents, latestSession } from './support/session-events.js';
import { startMysqlFixture, type MysqlFixture } from './support/mysql-fixture.js';

const run = promisify(execFile);

/** Requesters read (secrets excepted) and insert; a DELETE waits for an approver; DDL and admin are forbidden. */
const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("my-connect") permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "mysql" };
@id("my-read") @mask("email:partial, card:full, phone:partial")
permit (principal, action in Gateway::Action::"sql:read", resource) when { principal.gatewayRoles.contains("requester") };
@id("no-secrets") @reason("the secrets table is off limits")
forbid (principal, action, resource) when { principal.gatewayRoles.contains("requester") && context has tables && context.tables.contains("secrets") };
@id("my-insert") permit (principal, action == Gateway::Action::"sql:insert", resource) when { principal.gatewayRoles.contains("requester") };
@id("my-delete-held") @approval("required") @approvers("role:approver")
permit (principal, action == Gateway::Action::"sql:delete", resource) when { principal.gatewayRoles.contains("requester") };
@id("no-ddl") @reason("no schema changes")
forbid (principal, action in [Gateway::Action::"sql:ddl", Gateway::Action::"sql:admin", Gateway::Action::"sql:procedural"], resource)
  when { principal.gatewayRoles.contains("requester") };
`;

describe('mysql clients through the gateway: held statements, mysqldump, the mariadb connector, KILL QUERY, recording', () => {
  let fx: MysqlFixture;
  let approver: string;
  const api = (method: string, path: string, token: string, body?: unknown) => fx.stack.cp.request(method, path, { token, body });

  beforeAll(async () => {
    fx = await startMysqlFixture('clients', { policy: POLICY });
    approver = await fx.stack.cp.token('approver');
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
  });

  it('a DELETE is held until an approver approves it, then runs once; a denied one does not run', async () => {
    const c = await fx.gateway();
    try {
      const pending = c.query("DELETE FROM orders WHERE item = 'pen'");
      let id = '';
      await expect
        .poll(async () => {
          const list = (await api('GET', '/api/v1/approvals?status=pending', approver)).body.items as { id: string; subject: { text: string } }[];
          id = list.find((a) => a.subject.text.includes("'pen'"))?.id ?? '';
          return id;
        }, { timeout: 10_000 })
        .not.toBe('');
      expect((await api('POST', `/api/v1/approvals/${id}/approve`, approver, {})).status).toBe(200);
      const [ok] = await pending;
      expect(ok).toMatchObject({ affectedRows: 1 });

      const refused = c.query("DELETE FROM orders WHERE item = 'desk'");
      let second = '';
      await expect
        .poll(async () => {
          const list = (await api('GET', '/api/v1/approvals?status=pending', approver)).body.items as { id: string }[];
          second = list[0]?.id ?? '';
          return second;
        }, { timeout: 10_000 })
        .not.toBe('');
      expect((await api('POST', `/api/v1/approvals/${second}/deny`, approver, { comment: 'not today' })).status).toBe(200);
      await expect(refused).rejects.toMatchObject({ errno: 1142, message: expect.stringMatching(/was denied.*not today/) as unknown });
      const [items] = await c.query('SELECT item FROM orders ORDER BY id');
      expect(items).toEqual([{ item: 'book' }, { item: 'desk' }]);
    } finally {
      await c.end();
    }
  });

  it('a held execution of a prepared DELETE shows the approver the value it binds (mysql2 execute)', async () => {
    const c = await fx.gateway();
    try {
      const pending = c.execute('DELETE FROM orders WHERE item = ?', ['desk']);
      let id = '';
      await expect
        .poll(async () => {
          const list = (await api('GET', '/api/v1/approvals?status=pending', approver)).body.items as { id: string; subject: { text: string } }[];
          id = list.find((a) => a.subject.text.includes('item = ?'))?.id ?? '';
          return id;
        }, { timeout: 10_000 })
        .not.toBe('');
      const shown = await api('GET', `/api/v1/approvals/${id}`, approver);
      expect(shown.body.detail).toMatchObject({ text: 'DELETE FROM orders WHERE item = ?', params: ['desk'] });
      expect((await api('POST', `/api/v1/approvals/${id}/deny`, approver, { comment: 'not this one' })).status).toBe(200);
      await expect(pending).rejects.toMatchObject({ errno: 1142 });
      const [items] = await c.query('SELECT item FROM orders ORDER BY id');
      expect(items).toEqual([{ item: 'book' }, { item: 'desk' }]);
    } finally {
      await c.end();
    }
  });

  it('mysqldump dumps what policy allows (masked) and is refused on a table it forbids', async () => {
    const dump = (tables: string[], options: string[] = []) =>
      run('mysqldump', ['-h', '127.0.0.1', '-P', String(fx.stack.mysqlPort), '-u', `${fx.role}@${fx.resource}`, `-p${fx.token}`, '--ssl', '--skip-ssl-verify-server-cert', '--skip-triggers', '--no-tablespaces', ...options, fx.db, ...tables], { timeout: 30_000 });
    // --single-transaction: one consistent snapshot (START TRANSACTION WITH CONSISTENT SNAPSHOT, savepoints).
    for (const options of [[], ['--single-transaction']]) {
      const { stdout } = await dump(['customers'], options);
      expect(stdout).toContain('CREATE TABLE `customers`');
      expect(stdout).toContain("a**@example.com");
      expect(stdout).not.toContain('ada@example.com');
      expect(stdout).not.toContain('4111 1111 1111 1111');
    }
    await expect(dump(['secrets'])).rejects.toMatchObject({ stderr: expect.stringContaining('no-secrets') as unknown });
  });

  it('the mariadb connector: text and prepared queries masked, a forbidden table refused', async () => {
    const c = await mariadb.createConnection({
      host: '127.0.0.1', port: fx.stack.mysqlPort, user: `${fx.role}@${fx.resource}`, password: fx.token, database: fx.db, ssl: { rejectUnauthorized: false }, permitConnectionWhenExpired: false,
    });
    try {
      expect(await c.query('SELECT email, card FROM customers WHERE id = 1')).toEqual([{ email: 'a**@example.com', card: '**** **** **** ****' }]);
      expect(await c.execute('SELECT email FROM customers WHERE id = ?', [2])).toEqual([{ email: 'b**@example.org' }]);
      await expect(c.query('SELECT * FROM secrets')).rejects.toMatchObject({ errno: 1142, message: expect.stringContaining('no-secrets') as unknown });
    } finally {
      await c.end();
    }
  });

  it('KILL QUERY <the connection id the gateway gave> from a second connection stops the running statement', async () => {
    const a = await fx.gateway();
    const b = await fx.gateway();
    try {
      const sleeping = a.query('SELECT SLEEP(30) AS s');
      sleeping.catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 500));
      await b.query(`KILL QUERY ${a.threadId}`);
      await expect(sleeping).rejects.toMatchObject({ errno: 1317 });
      await expect(b.query('KILL QUERY 12345')).rejects.toMatchObject({ errno: 1094 });
    } finally {
      await a.end();
      await b.end();
    }
  });

  it('records every statement with its decision and the rows as the client saw them', async () => {
    const c = await fx.gateway();
    await c.query('SELECT id, email FROM customers WHERE id = 1');
    await c.query('SELECT * FROM secrets').catch(() => undefined);
    await c.end();
    const id = await latestSession(fx.stack, fx.resource);
    const events = await sessionEvents(fx.stack, id, (ev) => ev.some((e) => e.type === 'mysql.end'));
    const statements = events.filter((e) => e.type === 'mysql.statement').map((e) => e.data);
    expect(statements).toContainEqual(expect.objectContaining({ text: 'SELECT id, email FROM customers WHERE id = 1', decision: 'allow', rows: [['1', 'a**@example.com']] }));
    expect(statements).toContainEqual(expect.objectContaining({ text: 'SELECT * FROM secrets', decision: 'deny', policies: ['no-secrets'] }));
    expect(events.find((e) => e.type === 'mysql.session')?.data).toMatchObject({ resource: fx.resource, user: fx.role, mode: 'ephemeral' });
  });
});
