import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateMariadb, type PrivateMariadb } from './support/private-mariadb.js';
import { latestSession, sessionEvents } from './support/session-events.js';
import { startStack, type Stack, type StackResource } from './support/stack.js';

const ROLE = 'tls_app';
const SCHEMA = 'tlsdb';
const POLICY = `
@id("my-connect") permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "mysql" };
@id("my-read") @mask("email:partial")
permit (principal, action in Gateway::Action::"sql:read", resource) when { principal.gatewayRoles.contains("requester") };
`;

/**
 * TLS from the agent to MariaDB (resource `mysql.tls`), against a MariaDB of the test's own with a
 * certificate; its administrator may log in with TLS only, so the agent's own connections are
 * encrypted too. The machine's MariaDB on 3306 (no TLS) stands for a server that cannot do it.
 */
describe('TLS from the agent to the database (resource `mysql.tls`)', () => {
  let db: PrivateMariadb;
  let stack: Stack;
  let token: string;

  const resource = (name: string, address: string, tls: Record<string, string> | undefined, credentials: Record<string, string>): StackResource => ({
    name, type: 'mysql', address, extra: { credentials, ...(tls ? { mysql: { tls } } : {}) },
  });
  const connect = (name: string) =>
    mysql.createConnection({
      host: '127.0.0.1', port: stack.mysqlPort, user: `${ROLE}@${name}`, password: token, database: SCHEMA, ssl: { rejectUnauthorized: false },
      authPlugins: { mysql_clear_password: () => () => Buffer.from(`${token}\0`) },
    });
  const refusal = async (name: string): Promise<{ errno?: number; message: string }> => {
    try {
      const c = await connect(name);
      await c.end();
      return { message: 'connected' };
    } catch (error) {
      return error as { errno?: number; message: string };
    }
  };

  beforeAll(async () => {
    db = await startPrivateMariadb();
    await db.sql(`CREATE DATABASE ${SCHEMA};
      CREATE TABLE ${SCHEMA}.customers (id int primary key, email varchar(100));
      INSERT INTO ${SCHEMA}.customers VALUES (1, 'ada@example.com');
      CREATE ROLE ${ROLE} WITH ADMIN '${db.admin.user}'@'%';
      GRANT SELECT ON ${SCHEMA}.* TO ${ROLE};`);
    const admin = { user: `literal:${db.admin.user}`, password: `literal:${db.admin.password}` };
    const at = `127.0.0.1:${db.port}`;
    stack = await startStack({
      policy: POLICY,
      resources: [
        resource('mytls-verify-full', at, { caFile: db.caFile }, admin),
        resource('mytls-verify-full-by-name', `localhost:${db.port}`, { mode: 'verify-full', caFile: db.caFile }, admin),
        resource('mytls-require', at, { mode: 'require' }, admin),
        resource('mytls-wrong-ca', at, { caFile: db.otherCaFile }, admin),
        resource('mytls-wrong-name', at, { caFile: db.caFile, serverName: 'db.example.net' }, admin),
        resource('mytls-plain-server', '127.0.0.1:3306', { caFile: db.caFile }, { user: 'literal:root' }),
      ],
    });
    token = await stack.cp.token('ai-agent');
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
    await db?.stop();
  });

  it.each(['mytls-verify-full', 'mytls-verify-full-by-name', 'mytls-require'])('%s: the session runs over TLS, masked as always', async (name) => {
    const c = await connect(name);
    try {
      expect((await c.query('SELECT email FROM customers WHERE id = 1'))[0]).toEqual([{ email: 'a**@example.com' }]);
    } finally {
      await c.end();
    }
    const events = await sessionEvents(stack, await latestSession(stack, name), (ev) => ev.some((e) => e.type === 'mysql.session'));
    expect(events.find((e) => e.type === 'mysql.session')?.data).toMatchObject({ tls: expect.stringMatching(/^TLSv1\.[23]$/) as unknown });
  });

  it('a certificate from another CA, or one that does not name the server, is refused with a clear error', async () => {
    const wrongCa = await refusal('mytls-wrong-ca');
    expect(wrongCa.errno).toBe(2026);
    expect(wrongCa.message).toMatch(/^TLS to the database failed \(mysql\.tls\): .*(certificate|verify)/i);
    const wrongName = await refusal('mytls-wrong-name');
    expect(wrongName.errno).toBe(2026);
    expect(wrongName.message).toMatch(/^TLS to the database failed \(mysql\.tls\): .*db\.example\.net/);
  });

  it('a server without TLS is refused, never used in the clear', async () => {
    const plain = await refusal('mytls-plain-server');
    expect(plain).toMatchObject({ errno: 2026, message: 'the database does not offer TLS, and the resource requires it (mysql.tls)' });
  });
});
