import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PII, startPgFixture, type PgFixture } from './support/pg-fixture.js';

const run = promisify(execFile);

interface SessionDto {
  id: string;
  status: string;
  principal: { id?: string; clientId?: string; [k: string]: unknown };
  tokenId: string | null;
  resource: { name: string; type: string };
  role: string | null;
  sourceAddress: string | null;
  declared: Record<string, unknown> | null;
  endReason: string | null;
}

describe('postgres gateway sessions: recording, attribution, kill, cancel, refusals, ephemeral roles', () => {
  let fx: PgFixture;

  const api = (method: string, path: string) => fx.stack.cp.request(method, path, { token: fx.stack.admin });

  /** The newest session of this file's resource whose declared application_name is `app`. */
  async function sessionFor(app: string): Promise<SessionDto> {
    let found: SessionDto | undefined;
    await expect
      .poll(
        async () => {
          const res = await api('GET', `/api/v1/sessions?resource=${fx.resource}`);
          const items = (res.body as { items: SessionDto[] }).items;
          found = items.find((s) => JSON.stringify(s.declared ?? {}).includes(app));
          return found !== undefined;
        },
        { timeout: 5000 },
      )
      .toBe(true);
    return found as SessionDto;
  }

  const gatewayRoles = async () =>
    (
      await fx.directQuery<{ rolname: string }>(
        `SELECT rolname FROM pg_roles WHERE rolname LIKE 'gw\\_%' AND rolname <> $1 AND pg_has_role(rolname, $1, 'MEMBER')`,
        [fx.role],
      )
    ).map((r) => r.rolname);

  beforeAll(async () => {
    fx = await startPgFixture('session');
  }, 60_000);

  afterAll(async () => {
    await fx?.close();
  });

  it('records statements (literals masked), decisions, row counts and masked sample rows; the session shows who connected', async () => {
    const c = fx.gateway({ application_name: 'gw-e2e-recorder' });
    await c.connect();
    try {
      await c.query(`SELECT id, email, card FROM customers WHERE email = '${PII.ada.email}'`);
      await expect(c.query('DELETE FROM orders')).rejects.toMatchObject({ code: '42501' });
      await c.query({ text: 'SELECT email FROM customers WHERE ssn = $1', values: [PII.bob.ssn] });
    } finally {
      await c.end();
    }
    const s = await sessionFor('gw-e2e-recorder');
    expect(s.resource).toEqual({ name: fx.resource, type: 'postgres' });
    expect(s.role).toBe(fx.role);
    expect(JSON.stringify(s.principal)).toContain('ai-agent');
    expect(s.tokenId).toEqual(expect.any(String));
    expect(s.tokenId?.length).toBeGreaterThan(0);
    expect(s.sourceAddress).toBe('127.0.0.1');
    expect(s.declared).toMatchObject({ applicationName: 'gw-e2e-recorder', client: 'postgres' });

    let events: { type: string; data: Record<string, unknown> }[] = [];
    await expect
      .poll(
        async () => {
          events = ((await api('GET', `/api/v1/sessions/${s.id}/events`)).body as { items: typeof events }).items;
          return events.some((e) => e.type === 'pg.end');
        },
        { timeout: 10_000 },
      )
      .toBe(true);
    const text = JSON.stringify(events);
    // Nothing of the PII the client sent or received appears in the recording.
    for (const v of [PII.ada.email, PII.ada.card, PII.bob.ssn]) expect(text).not.toContain(v);
    expect(events[0]).toMatchObject({ type: 'pg.session', data: { role: fx.role, declared: { applicationName: 'gw-e2e-recorder' }, principal: { appId: 'ai-agent' } } });
    const statements = events.filter((e) => e.type === 'pg.statement').map((e) => e.data);
    expect(statements).toHaveLength(3);
    expect(statements[0]).toMatchObject({
      text: "SELECT id, email, card FROM customers WHERE email = '***@*******.***'",
      decision: 'allow',
      policies: ['pg-read'],
      rowCount: 1,
      rows: [['1', 'a**@example.com', '**** **** **** ****']],
    });
    expect(statements[1]).toMatchObject({
      text: 'DELETE FROM orders',
      decision: 'deny',
      actions: ['sql:delete'],
      policies: ['no-destructive'],
      reasons: ['workloads may not delete rows, change schema, administer or run procedural code'],
    });
    expect(statements[2]).toMatchObject({ text: 'SELECT email FROM customers WHERE ssn = $1', params: ['***-**-****'], rowCount: 1, rows: [['b**@example.org']] });
    expect(events.at(-1)?.type).toBe('pg.end');
  });

  it('POST /sessions/:id/kill ends the client connection within a second', async () => {
    const c = fx.gateway({ application_name: 'gw-e2e-kill' });
    const ended = new Promise<number>((resolve) => {
      c.on('error', () => resolve(Date.now()));
      c.on('end', () => resolve(Date.now()));
    });
    await c.connect();
    await c.query('SELECT 1');
    const s = await sessionFor('gw-e2e-kill');
    const t0 = Date.now();
    const res = await api('POST', `/api/v1/sessions/${s.id}/kill`);
    expect(res.status).toBe(202);
    const at = await Promise.race([ended, new Promise<number>((r) => setTimeout(() => r(Number.POSITIVE_INFINITY), 3000))]);
    expect(at - t0).toBeLessThan(1000);
    await expect(c.query('SELECT 1')).rejects.toThrow();
    await expect.poll(async () => ((await api('GET', `/api/v1/sessions/${s.id}`)).body as SessionDto).status, { timeout: 5000 }).toBe('killed');
  });

  it('a CancelRequest from node-postgres cancels a running pg_sleep with 57014; the session stays usable', async () => {
    const c = fx.gateway();
    await c.connect();
    try {
      const t0 = Date.now();
      const sleeping = c.query('SELECT pg_sleep(30)').then(
        () => undefined,
        (e: unknown) => e,
      );
      await new Promise((r) => setTimeout(r, 300));
      // pg's cancel opens a second connection with the BackendKeyData the gateway handed out.
      const canceller = fx.gateway();
      await (canceller as unknown as { cancel(target: pg.Client, query: unknown): Promise<void> }).cancel(c, (c as unknown as { activeQuery: unknown }).activeQuery);
      const err = (await sleeping) as { code?: string } | undefined;
      expect(err?.code).toBe('57014');
      expect(Date.now() - t0).toBeLessThan(5000);
      expect((await c.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    } finally {
      await c.end();
    }
  });

  it('psql: SIGINT cancels a running pg_sleep', async () => {
    const child = spawn('psql', [`host=127.0.0.1 port=${fx.stack.pgPort} dbname=${fx.resource} user=${fx.role} sslmode=require`, '-X', '-c', 'SELECT pg_sleep(30)'], {
      env: { ...process.env, PGPASSWORD: fx.token },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t0 = Date.now();
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Wait until the statement is running on the server before interrupting.
    await expect.poll(async () => (await fx.directQuery(`SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'`)).length, { timeout: 5000 }).toBe(1);
    child.kill('SIGINT');
    const code = await exited;
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/canceling statement due to user request/);
    expect(Date.now() - t0).toBeLessThan(8000);
  });

  it('refusals: invalid token 28P01, refused resource 28000 with the reason, cleartext refused', async () => {
    const bad = fx.gateway({ password: `${fx.token.slice(0, -4)}AAAA` });
    await expect(bad.connect()).rejects.toMatchObject({ code: '28P01' });
    const closed = fx.gateway({ database: fx.closedResource });
    await expect(closed.connect()).rejects.toMatchObject({ code: '28000', message: expect.stringContaining('closed for maintenance') as unknown });
    const plain = fx.gateway({ ssl: false });
    await expect(plain.connect()).rejects.toThrow();
    const psqlPlain = await run('psql', [`host=127.0.0.1 port=${fx.stack.pgPort} dbname=${fx.resource} user=${fx.role} sslmode=disable`, '-Atc', 'SELECT 1'], {
      env: { ...process.env, PGPASSWORD: fx.token },
    }).then(
      () => ({ stderr: '', failed: false }),
      (e: { stderr: string }) => ({ stderr: e.stderr, failed: true }),
    );
    expect(psqlPlain.failed).toBe(true);
    expect(psqlPlain.stderr).toMatch(/TLS|SSL|encrypt/i);
  });

  it('the ephemeral role exists while the session is open and is gone after it ends', async () => {
    const c = fx.gateway();
    await c.connect();
    const r = await c.query<{ u: string }>('SELECT session_user AS u');
    const eph = r.rows[0]?.u ?? '';
    expect(eph).toMatch(/^gw_/);
    expect(await gatewayRoles()).toContain(eph);
    await c.end();
    await expect.poll(async () => (await gatewayRoles()).includes(eph), { timeout: 5000 }).toBe(false);
  });
});
