import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './support/stack.js';

/**
 * The refusals that the Postgres and MySQL endpoints share (db-endpoint: token, unknown resource,
 * resource offline), each in its protocol's own error shape, through real client libraries. Neither
 * resource is contacted: they are refused before any session opens.
 */
const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("db-connect") permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && ["postgres", "mysql"].contains(resource.type) };
`;

describe('database endpoints: refusals before the session, in each protocol’s error shape', () => {
  let stack: Stack;
  let token: string;
  const pgClient = (database: string, password = token) =>
    new pg.Client({ host: '127.0.0.1', port: stack.pgPort, user: 'app', password, database, ssl: { rejectUnauthorized: false } });
  const mysqlClient = (resource: string, password = token) =>
    mysql.createConnection({
      host: '127.0.0.1',
      port: stack.mysqlPort,
      user: `app@${resource}`,
      password,
      ssl: { rejectUnauthorized: false },
      authPlugins: { mysql_clear_password: () => () => Buffer.from(`${password}\0`) },
    });

  beforeAll(async () => {
    stack = await startStack({ policy: POLICY });
    // Resources become known when an agent declares them, and offline when it leaves.
    const agent = await stack.addAgent('edge-gone', [
      { name: 'pg-gone', type: 'postgres', address: '127.0.0.1:5432' },
      { name: 'my-gone', type: 'mysql', address: '127.0.0.1:3306' },
    ]);
    await stack.waitOnline('pg-gone');
    await agent.close();
    await stack.waitOnline('pg-gone', false);
    await stack.waitOnline('my-gone', false);
    token = await stack.cp.token('ai-agent');
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('postgres: unknown resource 3D000, offline resource 08006, refused token 28P01', async () => {
    await expect(pgClient('no-such-db').connect()).rejects.toMatchObject({ code: '3D000', message: 'unknown resource "no-such-db"' });
    await expect(pgClient('pg-gone').connect()).rejects.toMatchObject({
      code: '08006',
      message: 'resource "pg-gone" is offline: no agent serving it is connected',
    });
    await expect(pgClient('pg-gone', `${token.slice(0, -4)}AAAA`).connect()).rejects.toMatchObject({ code: '28P01', message: expect.stringMatching(/^token refused: /) as unknown });
  });

  it('mysql: unknown resource and refused token 1045 (28000), offline resource 1105 (HY000)', async () => {
    await expect(mysqlClient('no-such-db')).rejects.toMatchObject({ errno: 1045, sqlState: '28000', sqlMessage: 'unknown resource "no-such-db"' });
    await expect(mysqlClient('my-gone')).rejects.toMatchObject({
      errno: 1105,
      sqlState: 'HY000',
      sqlMessage: 'resource "my-gone" is offline: no agent serving it is connected',
    });
    await expect(mysqlClient('my-gone', `${token.slice(0, -4)}AAAA`)).rejects.toMatchObject({ errno: 1045, sqlState: '28000', sqlMessage: expect.stringMatching(/^token refused: /) as unknown });
  });
});
