import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_POLICY, PII, startPgFixture, type PgFixture } from './support/pg-fixture.js';
import { latestSession, sessionEvents } from './support/session-events.js';

const run = promisify(execFile);
type Outcome = { stdout: string; stderr: string; code: number };

/** The fixture policy plus a table no workload may touch. */
const POLICY = `${PG_POLICY}
@id("no-secrets") @reason("the secrets table is off limits to workloads")
forbid (principal, action, resource)
  when { principal.gatewayRoles.contains("requester") && context has tables && context.tables.containsAny(["secrets", "public.secrets"]) };
`;

describe('pg_dump, pg_restore, startup settings and libpq pipeline mode through the gateway', () => {
  let fx: PgFixture;
  let dir: string;
  let conn: string;
  let env: NodeJS.ProcessEnv;
  const tool = (bin: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Outcome> =>
    run(bin, args, { env: { ...env, ...extraEnv }, timeout: 30_000, maxBuffer: 64 * 1024 * 1024 }).then(
      (r) => ({ ...r, code: 0 }),
      (e: Outcome) => ({ stdout: e.stdout, stderr: e.stderr, code: typeof e.code === 'number' ? e.code : 1 }),
    );

  beforeAll(async () => {
    fx = await startPgFixture('dump', { policy: POLICY });
    await fx.directQuery(`CREATE TABLE secrets (id int PRIMARY KEY, token text); INSERT INTO secrets VALUES (1, 'tok-1'); GRANT SELECT ON secrets TO ${fx.role};`);
    dir = mkdtempSync(join(tmpdir(), 'gw-pg-dump-'));
    conn = `host=127.0.0.1 port=${fx.stack.pgPort} dbname=${fx.resource} user=${fx.role} sslmode=require`;
    env = { ...process.env, PGPASSWORD: fx.token, PGCONNECT_TIMEOUT: '10' };
  }, 60_000);

  afterAll(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await fx?.close();
  });

  const pgDump = (args: string[]) => tool('pg_dump', [conn, ...args]);
  const psql = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => tool('psql', [conn, '-X', '-At', ...args], extraEnv);
  const noPii = (text: string) => {
    for (const v of [...Object.values(PII.ada), ...Object.values(PII.bob)]) expect(text).not.toContain(v);
  };

  describe('pg_dump and pg_restore', () => {
    it('pg_dump of tables the principal may read: schema and COPY data, rows masked like any result', async () => {
      const out = await pgDump(['-t', 'customers', '-t', 'orders']);
      expect(out.stderr).toBe('');
      expect(out.code).toBe(0);
      expect(out.stdout).toContain('CREATE TABLE public.customers (');
      const copy = out.stdout.slice(out.stdout.indexOf('COPY public.customers'));
      const rows = copy.split('\n').slice(1, 4);
      expect(rows[0]).toBe("1\tAda Lovelace\ta**@example.com\t**** **** **** ****\t***-**-****\t**** **** **** **** **54 32\t+* ***-***-0132\tvip\t1234.50\t1815-12-10");
      expect(rows[1]).toContain(PII.notACard); // fails Luhn: left alone
      expect(out.stdout).toMatch(/COPY public\.orders \(id, customer_id, amount, item\) FROM stdin;\n1\t1\t19\.99\tbook\n/);
      noPii(out.stdout);
    });

    it('a custom-format archive of everything readable (-T secrets): pg_restore --list shows it, its data is masked', async () => {
      const archive = join(dir, 'app.dump');
      const out = await pgDump(['-Fc', '-T', 'secrets', '-f', archive]);
      expect(out.stderr).toBe('');
      const list = await tool('pg_restore', ['--list', archive]);
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(/TABLE DATA public customers /);
      expect(list.stdout).toMatch(/TABLE DATA public orders /);
      expect(list.stdout).not.toMatch(/secrets/);
      const restored = await tool('pg_restore', ['--data-only', '-f', '-', archive]);
      expect(restored.stdout).toContain('a**@example.com');
      noPii(restored.stdout);
    });

    it('a parallel directory dump (-j 2: synchronized snapshots, several sessions) works and is masked', async () => {
      const target = join(dir, 'parallel');
      const out = await pgDump(['-Fd', '-j', '2', '-T', 'secrets', '-f', target]);
      expect(out.stderr).toBe('');
      expect(out.code).toBe(0);
      const restored = await tool('pg_restore', ['--data-only', '-t', 'customers', '-f', '-', target]);
      expect(restored.stdout).toContain('b**@example.org');
      noPii(restored.stdout);
    });

    it('pg_dump of what the principal may not read is refused, naming the policy; nothing of it is written', async () => {
      for (const args of [['-t', 'secrets'], []]) {
        const out = await pgDump(args);
        expect(out.code, args.join(' ')).toBe(1);
        expect(out.stderr).toMatch(/pg_dump: error: query failed: ERROR: {2}denied by policy "no-secrets": the secrets table is off limits to workloads/);
        expect(out.stdout).not.toContain('tok-1');
      }
    });
  });

  describe('startup settings, as parameters and in options', () => {
    it('PGOPTIONS settings apply (-c and --name=value, libpq escaping) and a statement_timeout cancels a long query', async () => {
      const out = await psql(['-c', 'SHOW statement_timeout', '-c', 'SHOW search_path', '-c', 'SHOW "TimeZone"', '-c', 'SHOW idle_in_transaction_session_timeout', '-c', 'SELECT pg_sleep(2)'], {
        PGOPTIONS: '-c statement_timeout=300 --search-path=pg_catalog,\\ public -cTimeZone=Asia/Tokyo --idle_in_transaction_session_timeout=1min',
      });
      expect(out.stdout.split('\n').slice(0, 4)).toEqual(['300ms', 'pg_catalog, public', 'Asia/Tokyo', '1min']);
      expect(out.stderr).toContain('ERROR:  canceling statement due to statement timeout');
      // The recording names the settings the session started with.
      const events = await sessionEvents(fx.stack, await latestSession(fx.stack, fx.resource), (e) => e.some((x) => x.type === 'pg.end'));
      expect(events[0]).toMatchObject({ type: 'pg.session', data: { settings: { statement_timeout: '300', search_path: 'pg_catalog, public', TimeZone: 'Asia/Tokyo', application_name: 'psql' } } });
    });

    it('settings libpq sends from its environment (PGTZ, PGDATESTYLE) and in the connection string apply', async () => {
      const out = await tool('psql', [`${conn} options='-c search_path=public -c lock_timeout=5s' application_name=matrix`, '-X', '-At', '-c', 'SHOW lock_timeout', '-c', 'SHOW DateStyle', '-c', 'SHOW TimeZone', '-c', 'SHOW application_name'], {
        PGTZ: 'Europe/Paris',
        PGDATESTYLE: 'German',
      });
      expect(out.stderr).toBe('');
      expect(out.stdout.trim().split('\n')).toEqual(['5s', 'German, DMY', 'Europe/Paris', 'matrix']);
    });

    it.each([
      ['-c session_replication_role=replica', /FATAL: {2}startup setting "session_replication_role": denied by policy "no-destructive"/],
      // a schema before pg_catalog: its look-alikes of built-in functions would run under their names
      ['--search-path=public,\\ pg_catalog', /FATAL: {2}startup setting "search_path": denied by policy "no-destructive"/],
      ['-c role=postgres', /FATAL: {2}startup setting "role" is not allowed through the gateway/],
      ['--session-authorization=postgres', /FATAL: {2}startup setting "session_authorization" is not allowed/],
      ['-c standard_conforming_strings=off', /FATAL: {2}standard_conforming_strings "off" is not supported through the gateway .*use on/],
      ['-B 100', /FATAL: {2}"options" switch "-B" is not supported through the gateway/],
    ])('PGOPTIONS=%s is refused with a message naming it', async (options, message) => {
      const out = await psql(['-c', 'SELECT 1'], { PGOPTIONS: options });
      expect(out.code).toBe(2);
      expect(out.stderr).toMatch(message);
      const events = await sessionEvents(fx.stack, await latestSession(fx.stack, fx.resource), (e) => e.some((x) => x.type === 'pg.refused'));
      expect(events.find((e) => e.type === 'pg.refused')?.data['reason']).toMatch(new RegExp(message.source.replace(/^FATAL: \{2\}/, '')));
    });

    it('a client_encoding other than UTF8 is refused (statements are inspected as UTF-8)', async () => {
      const out = await psql(['-c', 'SELECT 1'], { PGCLIENTENCODING: 'LATIN1' });
      expect(out.code).toBe(2);
      expect(out.stderr).toMatch(/client_encoding "LATIN1" is not supported through the gateway.*use UTF8/);
    });
  });

  describe('libpq pipeline mode', () => {
    it('pgbench -M extended with \\startpipeline runs its pipelines (reads and writes) with no failures', async () => {
      const script = join(dir, 'pipeline.sql');
      writeFileSync(
        script,
        ['\\set id random(1, 2)', '\\startpipeline', 'SELECT email FROM customers WHERE id = :id;', 'SELECT count(*) FROM orders WHERE customer_id = :id;', "INSERT INTO orders (customer_id, amount, item) VALUES (:id, 1.00, 'piped');", '\\endpipeline', ''].join('\n'),
      );
      const out = await tool('/usr/lib/postgresql/15/bin/pgbench', ['-n', '-M', 'extended', '-t', '20', '-c', '2', '-f', script, '-h', '127.0.0.1', '-p', String(fx.stack.pgPort), '-U', fx.role, fx.resource], { PGSSLMODE: 'require' });
      expect(out.stderr).not.toMatch(/error|aborted/i);
      expect(out.stdout).toMatch(/number of transactions actually processed: 40\/40/);
      expect(out.stdout).toMatch(/number of failed transactions: 0 \(/);
      expect((await fx.directQuery<{ n: number }>("SELECT count(*)::int AS n FROM orders WHERE item = 'piped'"))[0]?.n).toBe(40);
      await fx.directQuery("DELETE FROM orders WHERE item = 'piped'");
    });

    it('a denied statement inside a pipeline fails that pipeline with 42501 and nothing of it is applied', async () => {
      const script = join(dir, 'pipeline-denied.sql');
      writeFileSync(script, ['\\startpipeline', "INSERT INTO orders (customer_id, amount, item) VALUES (1, 1.00, 'never');", 'DELETE FROM orders;', '\\endpipeline', ''].join('\n'));
      const out = await tool('/usr/lib/postgresql/15/bin/pgbench', ['-n', '-M', 'extended', '-t', '1', '-f', script, '-h', '127.0.0.1', '-p', String(fx.stack.pgPort), '-U', fx.role, fx.resource], { PGSSLMODE: 'require' });
      expect(out.stderr).toMatch(/denied by policy "no-destructive"/);
      expect(await fx.directQuery("SELECT 1 FROM orders WHERE item = 'never'")).toEqual([]);
      expect((await fx.counts()).orders).toBe(3);
    });
  });
});
