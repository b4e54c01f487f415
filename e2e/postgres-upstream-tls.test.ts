import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertAgentBuilt, PG_POLICY } from './support/pg-fixture.js';
import { startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.js';
import { startStack, type Stack } from './support/stack.js';

const ROLE = 'tls_app';

describe('TLS from the agent to the database (resource `postgres.tls`)', () => {
  let db: PrivatePostgres;
  let stack: Stack;
  let token: string;

  const resource = (name: string, address: string, tls: Record<string, string>, password?: string) => ({
    name,
    type: 'postgres' as const,
    address,
    extra: { credentials: { user: 'literal:postgres', ...(password ? { password: `literal:${password}` } : {}) }, postgres: { database: 'postgres', tls } },
  });

  const client = (name: string) =>
    new pg.Client({ host: '127.0.0.1', port: stack.pgPort, user: ROLE, password: token, database: name, ssl: { rejectUnauthorized: false } });

  /**
   * Connects through the gateway and asks the database (as superuser: the session's own role cannot
   * see its backend's row, its login role being the ephemeral one) whether that session is encrypted.
   */
  async function sessionUsesTls(name: string): Promise<boolean> {
    const c = client(name);
    await c.connect();
    try {
      const r = await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      return (await db.psql(`SELECT ssl FROM pg_stat_ssl WHERE pid = ${Number(r.rows[0]?.pid)}`)).trim() === 't';
    } finally {
      await c.end();
    }
  }

  async function refusal(name: string): Promise<{ code?: string; message: string }> {
    const c = client(name);
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.end();
      return { message: 'connected' };
    } catch (error) {
      return error as { code?: string; message: string };
    }
  }

  beforeAll(async () => {
    assertAgentBuilt();
    db = await startPrivatePostgres();
    await db.psql(`CREATE ROLE ${ROLE} NOLOGIN`);
    const at = `127.0.0.1:${db.port}`;
    stack = await startStack({
      policy: PG_POLICY,
      resources: [
        resource('tls-verify-full', at, { mode: 'verify-full', caFile: db.caFile }, db.password),
        resource('tls-verify-ca', `localhost:${db.port}`, { mode: 'verify-ca', caFile: db.caFile }, db.password),
        resource('tls-prefer', at, { mode: 'prefer' }, db.password),
        resource('tls-wrong-ca', at, { mode: 'verify-full', caFile: db.otherCaFile }, db.password),
        resource('tls-disabled', at, { mode: 'disable' }, db.password),
        resource('tls-required-plain-server', '127.0.0.1:5432', { mode: 'require' }),
      ],
    });
    token = await stack.cp.token('ai-agent');
  }, 90_000);

  afterAll(async () => {
    await stack?.close();
    await db?.stop();
  });

  it('verify-full, verify-ca and prefer sessions run encrypted, with SCRAM over TLS', async () => {
    expect(await sessionUsesTls('tls-verify-full')).toBe(true);
    expect(await sessionUsesTls('tls-verify-ca')).toBe(true);
    expect(await sessionUsesTls('tls-prefer')).toBe(true);
  });

  it('a certificate from another CA is refused before any credential is sent', async () => {
    const error = await refusal('tls-wrong-ca');
    expect(error.code).toBe('08001');
    expect(error.message).toMatch(/certificate/i);
  });

  it('a server that refuses plaintext, reached with tls disabled, gives a clear refusal', async () => {
    const error = await refusal('tls-disabled');
    expect(error.code).toMatch(/^(08|28)/);
    expect(error.message).toMatch(/no encryption|pg_hba/);
  });

  it('require against a server without TLS is refused (08001), not downgraded', async () => {
    const error = await refusal('tls-required-plain-server');
    expect(error.code).toBe('08001');
    expect(error.message).toMatch(/does not (offer|support) (TLS|SSL)/i);
  });
});
