import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMysqlFixture, type MysqlFixture } from './support/mysql-fixture.js';
import type { SessionEvent } from './support/session-events.js';

const run = promisify(execFile);

/** Requesters read (secrets excepted, PII masked) and insert; DDL and admin are forbidden. */
const POLICY = `
@id("matrix-connect") permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "mysql" };
@id("matrix-read") @mask("email:partial, card:full, phone:partial")
permit (principal, action in Gateway::Action::"sql:read", resource) when { principal.gatewayRoles.contains("requester") };
@id("matrix-no-secrets") @reason("the secrets table is off limits")
forbid (principal, action, resource) when { principal.gatewayRoles.contains("requester") && context has tables && context.tables.contains("secrets") };
@id("matrix-insert") permit (principal, action == Gateway::Action::"sql:insert", resource) when { principal.gatewayRoles.contains("requester") };
@id("matrix-no-ddl") @reason("no schema changes")
forbid (principal, action in [Gateway::Action::"sql:ddl", Gateway::Action::"sql:admin", Gateway::Action::"sql:procedural"], resource)
  when { principal.gatewayRoles.contains("requester") };
`;

const PEOPLE = 3000;
const ADA = ['a**@example.com', '**** **** **** ****', '+* *** *** 0100'];
const BOB = ['b**@example.org', 'none', 'n/a'];
const DDL_DENIED = /denied by policy "matrix-no-ddl": no schema changes/;
/** Several statements in one text from a session that has not turned multi-statements on (login flag or COM_SET_OPTION). */
const MULTI_OFF = [1142, expect.stringMatching(/several statements in one query need CLIENT_MULTI_STATEMENTS/) as unknown];
/** The client checks the endpoint's certificate: CAs that did not sign it fail the login. */
const UNTRUSTED = [expect.any(Number) as unknown, expect.stringMatching(/certif|SSL/i) as unknown];

/** What every client's script reports, whatever its language (see e2e/support/mysql_clients.py). */
interface Outcomes {
  rows: unknown[][];
  param: unknown[][];
  streamed: { rows: number; leaked: number; first: string };
  denied: [number, string];
  forbidden: [number, string];
  duplicate: [number, string];
  denied_in_transaction: [number, string];
  multi: unknown;
  multi_refused: [number, string];
  no_tls: [number, string];
  bad_token: [number, string];
  [other: string]: unknown;
}

/**
 * MySQL clients other than the Node ones (e2e/mysql-clients.test.ts): Python's pure PyMySQL,
 * mysqlclient and Perl's DBD::MariaDB (both on MariaDB Connector/C), and two that implement the
 * protocol themselves, PHP's mysqlnd (PDO_MYSQL and mysqli) and Java's MariaDB Connector/J, each
 * doing what its users do.
 */
describe('mysql client matrix through the gateway: PyMySQL, mysqlclient, DBD::MariaDB, PHP mysqlnd, Connector/J', () => {
  let fx: MysqlFixture;

  beforeAll(async () => {
    fx = await startMysqlFixture('matrix', { policy: POLICY });
    const root = await fx.direct();
    await root.query(`CREATE TABLE ${fx.db}.people (id int primary key, email varchar(100));
      INSERT INTO ${fx.db}.people SELECT seq, CONCAT('u', seq, '@example.com') FROM ${fx.db}.seq_1_to_${PEOPLE}`);
    await root.end();
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
  });

  async function client(command: string, args: string[], tag: string): Promise<Outcomes> {
    const env = {
      ...process.env,
      GW_HOST: '127.0.0.1',
      GW_PORT: String(fx.stack.mysqlPort),
      GW_USER: `${fx.role}@${fx.resource}`,
      GW_PASSWORD: fx.token,
      GW_DB: fx.db,
      GW_CA: join(fx.stack.cp.config.dataDir, 'tls', 'mysql-endpoint.crt'),
      GW_TAG: tag,
      GW_DRIVER: tag,
    };
    const { stdout } = await run(command, args, { env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
    return JSON.parse(stdout) as Outcomes;
  }

  async function orders(item: string): Promise<number> {
    const root = await fx.direct();
    try {
      const [rows] = await root.query(`SELECT COUNT(*) AS n FROM ${fx.db}.orders WHERE item = ?`, [item]);
      return Number((rows as { n: number }[])[0]?.n);
    } finally {
      await root.end();
    }
  }

  /**
   * The statement texts the gateway recorded for the client tagged `tag` (its parameterized queries end in
   * a `/* tag *\/` comment), polled until both appear: a query prepared on the server is recorded with its
   * `?`, one the driver filled in with the value.
   */
  async function recordedQueries(tag: string): Promise<string[]> {
    let texts: string[] = [];
    await expect
      .poll(async () => {
        const sessions = (await fx.stack.cp.request('GET', `/api/v1/sessions?resource=${fx.resource}&limit=500`, { token: fx.stack.admin })).body.items as { id: string }[];
        texts = [];
        for (const { id } of sessions) {
          const events = (await fx.stack.cp.request('GET', `/api/v1/sessions/${id}/events?limit=1000`, { token: fx.stack.admin })).body.items as SessionEvent[];
          texts.push(...events.filter((e) => e.type === 'mysql.statement' && String(e.data['text']).endsWith(`/* ${tag} */`)).map((e) => String(e.data['text'])));
        }
        return texts.some((t) => t.includes('card_number')) && texts.some((t) => !t.includes('card_number'));
      }, { timeout: 10_000 })
      .toBe(true);
    return [...new Set(texts)].sort();
  }

  /** What holds for every client: masking, refusals with their codes, transactions, TLS and the token. */
  async function expectCommon(out: Outcomes, tag: string): Promise<void> {
    expect(out.rows).toEqual([[1, ...ADA], [2, ...BOB]]);
    expect(out.param).toEqual([ADA.slice(0, 2)]);
    expect(out.streamed).toEqual({ rows: PEOPLE, leaked: 0, first: expect.stringMatching(/^u\*+@example\.com$/) as unknown });
    expect(out.denied).toEqual([1142, expect.stringMatching(DDL_DENIED) as unknown]);
    expect(out.forbidden).toEqual([1142, expect.stringMatching(/denied by policy "matrix-no-secrets": the secrets table is off limits/) as unknown]);
    expect(out.duplicate).toEqual([1062, "Duplicate entry '1' for key 'PRIMARY'"]);
    expect(out.denied_in_transaction).toEqual([1142, expect.stringMatching(DDL_DENIED) as unknown]);
    expect([1142, 1227]).toContain(out.multi_refused[0]);
    expect(out.multi_refused[1]).toMatch(DDL_DENIED);
    expect(out.no_tls).toEqual([3159, expect.stringMatching(/the gateway requires TLS/) as unknown]);
    expect(out.bad_token[0]).toBe(1045);
    expect(out.bad_token[1]).toMatch(/token refused/);
    expect(out.bad_token[1]).not.toContain(fx.token);
    // The refused statement rolled nothing forward; the insert after the rollback was kept; no
    // statement of the refused multi-statement text ran.
    expect([await orders(`${tag}-undone`), await orders(`${tag}-kept`), await orders(`${tag}-multi`)]).toEqual([0, 1, 0]);
  }

  for (const driver of ['pymysql', 'mysqldb'] as const) {
    it(`${driver === 'pymysql' ? 'PyMySQL' : 'mysqlclient (MySQLdb)'}: masked rows, unbuffered cursor, refusals, transaction, multi-statements, TLS`, async () => {
      const out = await client('/usr/bin/python3', ['e2e/support/mysql_clients.py'], driver);
      await expectCommon(out, driver);
      expect(out['server']).toMatch(/MariaDB-gateway$/);
      expect(out['after_denied']).toEqual([[1]]);
      expect(out['after_multi_refused']).toEqual([[2]]);
      expect(out.multi).toEqual([[ADA[0]], [ADA[2]]]);
    }, 90_000);
  }

  it('DBD::MariaDB (Perl DBI): also server-side prepared statements, masked in binary rows', async () => {
    const out = await client('perl', ['e2e/support/dbd_mariadb_client.pl'], 'dbd');
    await expectCommon(out, 'dbd');
    // A card number stored in a BIGINT is itself an entity: it comes back NULL.
    expect(out['server_prepared']).toEqual([[[...ADA.slice(0, 2), null]], [[...BOB.slice(0, 2), 42]]]);
    expect(out['after_denied']).toEqual([[1]]);
    expect(out.multi).toEqual([[[ADA[0]]], [[ADA[2]]]]);
  }, 90_000);

  for (const driver of ['pdo', 'mysqli'] as const) {
    it(`PHP ${driver === 'pdo' ? 'PDO_MYSQL (mysqlnd): emulated and native' : 'mysqli (mysqlnd): server'} prepares, unbuffered reads, refusals, transaction, multi-statements, TLS`, async () => {
      const out = await client('php', ['e2e/support/php_mysqlnd_client.php'], driver);
      await expectCommon(out, driver);
      expect(out['server']).toMatch(/MariaDB-gateway$/);
      // Prepared on the server (PDO without emulation, every mysqli statement): binary rows, masked;
      // a card number stored in a BIGINT is itself an entity and comes back NULL.
      expect(out['server_prepared']).toEqual([[[...ADA.slice(0, 2), null]], [[...BOB.slice(0, 2), 42]]]);
      expect(out['after_denied']).toEqual([[1]]);
      expect(out['after_transaction']).toEqual([[3]]);
      expect(out['after_multi_refused']).toEqual([[2]]);
      expect(out.multi).toEqual([[ADA[0]], [ADA[2]]]);
      // Without multi-statements (PDO_MYSQL's option off; mysqli's query() after a multi_query turned them
      // on and off again) the text is refused, and none of it runs.
      expect(out['multi_off']).toEqual(MULTI_OFF);
      expect(await orders(`${driver}-single`)).toBe(0);
      expect(out['untrusted']).toEqual(UNTRUSTED);
      // PDO fills the value in itself unless emulation is off; mysqli always prepares on the server.
      expect(await recordedQueries(driver)).toEqual([
        `SELECT email, card FROM customers WHERE id = ${driver === 'pdo' ? "'1'" : '?'} /* ${driver} */`,
        `SELECT email, card, card_number FROM customers WHERE id = ? /* ${driver} */`,
      ].sort());
    }, 90_000);
  }

  it('Java MariaDB Connector/J: client and server prepared statements, streamed results, refusals, transaction and savepoint, query timeout, metadata, multi-statements, TLS', async () => {
    const out = await client('java', ['-cp', '/usr/share/java/mariadb-java-client.jar', 'e2e/support/MariadbJdbcClient.java'], 'jdbc');
    await expectCommon(out, 'jdbc');
    expect(out['server']).toMatch(/MariaDB-gateway$/);
    expect(out['server_prepared']).toEqual([[[...ADA.slice(0, 2), null]], [[...BOB.slice(0, 2), 42]]]);
    expect(out['server_streamed']).toEqual({ rows: 500, leaked: 0 });
    expect(out['columns']).toEqual(['id INT', 'name VARCHAR', 'email VARCHAR', 'card VARCHAR', 'phone VARCHAR', 'card_number BIGINT']);
    expect(out['after_denied']).toEqual([[1]]);
    expect(out['after_transaction']).toEqual([[3]]);
    expect(out['after_multi_refused']).toEqual([[2]]);
    expect(out.multi).toEqual([[ADA[0]], [ADA[2]]]);
    expect(out['multi_off']).toEqual(MULTI_OFF);
    expect(await orders('jdbc-single')).toBe(0);
    expect(out['untrusted']).toEqual(UNTRUSTED);
    // rollback(Savepoint) undid the insert after it; setQueryTimeout stopped a long query and leaves short ones alone.
    expect(await orders('jdbc-savepoint')).toBe(0);
    expect(out['timeout']).toEqual([1969, expect.stringMatching(/max_statement_time exceeded/) as unknown]);
    expect(out['within_timeout']).toEqual([[ADA[0]]]);
    expect(await recordedQueries('jdbc')).toEqual([
      'SELECT email, card FROM customers WHERE id = 1 /* jdbc */',
      'SELECT email, card, card_number FROM customers WHERE id = ? /* jdbc */',
    ].sort());
  }, 90_000);
});
