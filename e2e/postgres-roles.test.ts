import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_POLICY } from '@gw/policy';
import { assertAgentBuilt } from './support/pg-fixture.js';
import { sessionEvents } from './support/session-events.js';
import { startStack, type Stack } from './support/stack.js';

/** Requesters may connect to any postgres resource as any role: only the agent's role check stands in the way. */
const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("pg-connect") permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "postgres" };
@id("pg-read") permit (principal, action in Gateway::Action::"sql:read", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "postgres" };
`;

const PREDEFINED = [
  'pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files', 'pg_signal_backend', 'pg_read_all_data',
  'pg_write_all_data', 'pg_monitor', 'pg_read_all_settings', 'pg_read_all_stats', 'pg_stat_scan_tables', 'pg_checkpoint',
  'pg_database_owner',
];

const suffix = randomBytes(3).toString('hex');
const db = `gwroles${suffix}`;
/** Role names of this file (unquoted names are lower case; one name needs quoting). */
const r = (name: string) => `gwr_${suffix}_${name}`;
const MIXED = `Gw Roles ${suffix} "Mixed"`;
const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** What this file creates, in creation order; each line runs as the superuser. */
const SETUP = [
  `CREATE ROLE ${r('plain')} NOLOGIN`,
  `CREATE ROLE ${r('member_file_read')} NOLOGIN`, `GRANT pg_read_server_files TO ${r('member_file_read')}`,
  `CREATE ROLE ${r('mid_exec')} NOLOGIN`, `GRANT pg_execute_server_program TO ${r('mid_exec')}`,
  `CREATE ROLE ${r('two_levels_exec')} NOLOGIN`, `GRANT ${r('mid_exec')} TO ${r('two_levels_exec')}`,
  `CREATE ROLE ${r('noinherit_monitor')} NOLOGIN NOINHERIT`, `GRANT pg_monitor TO ${r('noinherit_monitor')}`,
  `CREATE ROLE ${quote(MIXED)} NOLOGIN`, `GRANT pg_signal_backend TO ${quote(MIXED)}`,
  `CREATE ROLE ${r('super')} NOLOGIN SUPERUSER`,
  `CREATE ROLE ${r('createrole')} NOLOGIN CREATEROLE`,
  `CREATE ROLE ${r('createdb')} NOLOGIN CREATEDB`,
  `CREATE ROLE ${r('replication')} NOLOGIN REPLICATION`,
  `CREATE ROLE ${r('bypassrls')} NOLOGIN BYPASSRLS`,
  `CREATE ROLE ${r('via_createrole')} NOLOGIN`, `GRANT ${r('createrole')} TO ${r('via_createrole')}`,
  `CREATE ROLE ${r('via_super_mid')} NOLOGIN`, `GRANT ${r('super')} TO ${r('via_super_mid')}`,
  `CREATE ROLE ${r('via_super')} NOLOGIN NOINHERIT`, `GRANT ${r('via_super_mid')} TO ${r('via_super')}`,
  `CREATE ROLE ${r('listed')} NOLOGIN CREATEDB`, `GRANT pg_read_all_stats TO ${r('listed')}`,
  `CREATE ROLE ${r('fixed_login')} LOGIN`,
];
const ALL_ROLES = [
  'plain', 'member_file_read', 'mid_exec', 'two_levels_exec', 'noinherit_monitor', 'super', 'createrole', 'createdb', 'replication',
  'bypassrls', 'via_createrole', 'via_super_mid', 'via_super', 'listed', 'fixed_login',
].map(r).concat([MIXED]);

async function asSuperuser<T>(database: string, run: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database });
  await c.connect();
  try {
    return await run(c);
  } finally {
    await c.end();
  }
}

describe('postgres: privileged database roles are refused at connect unless the resource lists them', () => {
  let stack: Stack;
  let workload: string;

  const connect = (resource: string, user: string, token = workload) =>
    new pg.Client({ host: '127.0.0.1', port: stack.pgPort, user, password: token, database: resource, ssl: { rejectUnauthorized: false } });

  /** Opens a session; resolves with the database's own idea of who it runs as, or rejects with the refusal. */
  async function sessionAs(resource: string, user: string, token = workload): Promise<{ current: string; session: string }> {
    const c = connect(resource, user, token);
    c.on('error', () => undefined);
    await c.connect();
    try {
      return (await c.query<{ current: string; session: string }>('SELECT current_user AS current, session_user AS session')).rows[0]!;
    } finally {
      await c.end();
    }
  }

  beforeAll(async () => {
    assertAgentBuilt();
    await asSuperuser('postgres', async (c) => {
      await c.query(`CREATE DATABASE ${db}`);
      for (const sql of SETUP) await c.query(sql);
    });
    const pgResource = (name: string, postgres: Record<string, unknown>, user = 'postgres') => ({
      name, type: 'postgres' as const, address: '127.0.0.1:5432', extra: { credentials: { user: `literal:${user}` }, postgres: { database: db, ...postgres } },
    });
    stack = await startStack({
      policy: POLICY,
      resources: [
        pgResource(db, {}),
        pgResource(`${db}-listed`, { privilegedRoles: [r('listed'), 'pg_monitor', r('super')] }),
        pgResource(`${db}-fixed-su`, { mode: 'fixed' }),
        pgResource(`${db}-fixed`, { mode: 'fixed' }, r('fixed_login')),
      ],
    });
    workload = await stack.cp.token('ai-agent');
  }, 90_000);

  afterAll(async () => {
    await stack?.close().catch(() => undefined);
    await asSuperuser('postgres', async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      const left = await c.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'gw\\_%' AND pg_has_role(rolname, $1, 'MEMBER') AND rolname <> $1`, [r('plain')]);
      for (const row of left.rows) await c.query(`DROP ROLE IF EXISTS ${quote(row.rolname)}`);
      for (const role of [...ALL_ROLES].reverse()) await c.query(`DROP ROLE IF EXISTS ${quote(role)}`);
    });
  });

  it('runs on the PostgreSQL this machine has (15: any member may SET ROLE)', async () => {
    const version = await asSuperuser(db, async (c) => (await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v);
    expect(Number(version)).toBeGreaterThanOrEqual(150000);
  });

  it('an ordinary role is handed out and the session runs as it', async () => {
    const who = await sessionAs(db, r('plain'));
    expect(who.current).toBe(r('plain'));
    expect(who.session).toMatch(/^gw_/);
  });

  it.each(PREDEFINED.map((role) => [role]))('predefined role %s is refused with 28000 naming it', async (role) => {
    await expect(sessionAs(db, role)).rejects.toMatchObject({
      code: '28000',
      message: expect.stringMatching(new RegExp(`role "${role}" is privileged \\(a predefined role\\).*postgres\\.privilegedRoles`)) as unknown,
    });
  });

  it.each([
    ['direct member of pg_read_server_files', r('member_file_read'), 'pg_read_server_files', 'a predefined role'],
    ['member two levels down of pg_execute_server_program', r('two_levels_exec'), 'pg_execute_server_program', 'a predefined role'],
    ['NOINHERIT member of pg_monitor (SET ROLE still reaches it)', r('noinherit_monitor'), 'pg_monitor', 'a predefined role'],
    ['quoted mixed-case name, member of pg_signal_backend', MIXED, 'pg_signal_backend', 'a predefined role'],
    ['member of a CREATEROLE role', r('via_createrole'), r('createrole'), 'has CREATEROLE'],
    ['member two levels down (NOINHERIT) of a SUPERUSER role', r('via_super'), r('super'), 'has SUPERUSER'],
  ])('a role that can assume a privileged one is refused: %s', async (_name, role, target, why) => {
    const refusal = sessionAs(db, role);
    await expect(refusal).rejects.toMatchObject({ code: '28000' });
    const message = (await refusal.catch((e: Error) => e)).message;
    expect(message).toContain(`role "${role}" is privileged: it can assume "${target}" (${why}) through membership "${role}" -> `);
  });

  it.each([
    ['SUPERUSER', r('super'), /is a superuser/],
    ['CREATEROLE', r('createrole'), /\(has CREATEROLE\)/],
    ['CREATEDB', r('createdb'), /\(has CREATEDB\)/],
    ['REPLICATION', r('replication'), /\(has REPLICATION\)/],
    ['BYPASSRLS', r('bypassrls'), /\(has BYPASSRLS\)/],
  ])('a role with %s is refused', async (_attribute, role, reason) => {
    await expect(sessionAs(db, role)).rejects.toMatchObject({ code: '28000', message: expect.stringMatching(reason) as unknown });
  });

  it('a role the resource lists in privilegedRoles is handed out (a privileged role it reaches included); others still are not; a superuser never', async () => {
    const listed = `${db}-listed`;
    expect((await sessionAs(listed, r('listed'))).current).toBe(r('listed'));
    expect((await sessionAs(listed, 'pg_monitor')).current).toBe('pg_monitor');
    await expect(sessionAs(listed, r('createdb'))).rejects.toMatchObject({ code: '28000', message: expect.stringMatching(/has CREATEDB/) as unknown });
    await expect(sessionAs(listed, r('super'))).rejects.toMatchObject({ code: '28000', message: expect.stringMatching(/is a superuser/) as unknown });
    // The same role on the resource that does not list it.
    await expect(sessionAs(db, r('listed'))).rejects.toMatchObject({ code: '28000', message: expect.stringMatching(/has CREATEDB/) as unknown });
  });

  it('admins get the same refusal: the agent decides what it hands out, not the principal', async () => {
    const admin = await stack.cp.token('security-admin');
    await expect(sessionAs(db, 'pg_read_server_files', admin)).rejects.toMatchObject({ code: '28000' });
    expect((await sessionAs(db, r('plain'), admin)).current).toBe(r('plain'));
  });

  it('fixed mode: the requested role must be the fixed user, and a privileged fixed user is refused', async () => {
    expect((await sessionAs(`${db}-fixed`, r('fixed_login'))).session).toBe(r('fixed_login'));
    await expect(sessionAs(`${db}-fixed`, r('plain'))).rejects.toMatchObject({
      code: '28000', message: expect.stringMatching(new RegExp(`logs every session in as "${r('fixed_login')}" \\(postgres\\.mode: fixed\\); request that role, not "${r('plain')}"`)) as unknown,
    });
    await expect(sessionAs(`${db}-fixed-su`, 'postgres')).rejects.toMatchObject({ code: '28000', message: expect.stringMatching(/role "postgres" is a superuser/) as unknown });
  });

  it('a refusal is audited as a denied connect (refused by the agent) and recorded in the session', async () => {
    await expect(sessionAs(db, r('member_file_read'))).rejects.toMatchObject({ code: '28000' });
    let denied: { outcome: string; details: Record<string, unknown> } | undefined;
    await expect
      .poll(async () => {
        const res = await stack.cp.request('GET', `/api/v1/audit/events?action=session.connect&resource=${db}`, { token: stack.admin });
        denied = (res.body.items as { outcome: string; details: Record<string, unknown> }[]).find(
          (e) => e.outcome === 'denied' && e.details.role === r('member_file_read'),
        );
        return denied !== undefined;
      }, { timeout: 10_000 })
      .toBe(true);
    expect(denied?.details).toMatchObject({ refusedBy: 'agent', sqlstate: '28000', reason: expect.stringContaining('"pg_read_server_files" (a predefined role)') as unknown });
    const sessionId = denied?.details.sessionId as string;
    const session = await stack.cp.request('GET', `/api/v1/sessions/${sessionId}`, { token: stack.admin });
    expect(session.body).toMatchObject({ status: 'failed' });
    const events = await sessionEvents(stack, sessionId, (e) => e.some((x) => x.type === 'pg.refused'));
    expect(events.find((e) => e.type === 'pg.refused')?.data).toMatchObject({ role: r('member_file_read'), code: '28000' });
  });

  it('the demo policy lets workloads connect only as the roles it names; admins as any role the agent allows', async () => {
    await stack.activatePolicy(DEMO_POLICY);
    try {
      await expect(sessionAs(db, r('plain'))).rejects.toMatchObject({ code: '28000', message: expect.stringMatching(/not allowed to connect/) as unknown });
      await expect(sessionAs(db, 'postgres')).rejects.toMatchObject({ code: '28000', message: expect.stringMatching(/not allowed to connect/) as unknown });
      // demo_writer passes policy; whether it exists here is the agent's business, not a policy refusal.
      const named = await sessionAs(db, 'demo_writer').then(() => 'opened', (e: Error) => e.message);
      expect(named).not.toMatch(/not allowed to connect/);
      const admin = await stack.cp.token('security-admin');
      expect((await sessionAs(db, r('plain'), admin)).current).toBe(r('plain'));
    } finally {
      await stack.activatePolicy(POLICY);
    }
  });
});
