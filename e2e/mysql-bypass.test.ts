import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMysqlFixture, type MysqlFixture } from './support/mysql-fixture.js';

/** Requesters may read (the secrets table excepted, card numbers masked) and nothing else. */
const POLICY = `
@id("my-connect") permit (principal, action == Gateway::Action::"connect", resource) when { principal.gatewayRoles.contains("requester") };
@id("my-read") @mask_columns("customers.card:null")
permit (principal, action in Gateway::Action::"sql:read", resource) when { principal.gatewayRoles.contains("requester") };
@id("no-secrets") @reason("the secrets table is off limits")
forbid (principal, action, resource) when { context has tables && context.tables.contains("secrets") };
`;

/**
 * Ways around statement policy that a MySQL client can try, each through the real gateway to the
 * real MariaDB with a read-only policy: every one must be refused with a MySQL error, and the data
 * must be as it was. The controls at the end must work, so the refusals are not a broken session.
 */
const REFUSED: [string, string][] = [
  ['executable comment hiding a DROP', 'SELECT 1 /*! ; DROP TABLE customers */'],
  ['versioned executable comment', '/*!50000 DELETE FROM customers */'],
  ['MariaDB executable comment', 'SELECT 1 /*M!100000 ; DELETE FROM customers */'],
  // The server ends both comments at the first `*/`; the second is `*` and a comment up to the quoted `*/`: a DELETE.
  ['executable comment nested in another', "SELECT 1 /*!, 2 /*!, 3 */, 4 */* '*/', 5 AS y, ' ; DELETE FROM customers; -- '"],
  ['multi-statement with a DELETE', 'SELECT 1; DELETE FROM customers'],
  ['PREPARE from a user variable', "SET @q = 'DELETE FROM customers'; PREPARE s FROM @q; EXECUTE s"],
  ['PREPARE from a literal DELETE', "PREPARE s FROM 'DELETE FROM customers'"],
  ['LOAD DATA LOCAL INFILE', "LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE customers"],
  ['LOAD DATA INFILE (server file)', "LOAD DATA INFILE '/etc/passwd' INTO TABLE customers"],
  ['SELECT INTO OUTFILE', "SELECT * FROM customers INTO OUTFILE '/tmp/gw-bypass-out'"],
  ['SELECT INTO DUMPFILE', "SELECT email FROM customers LIMIT 1 INTO DUMPFILE '/tmp/gw-bypass-dump'"],
  ['LOAD_FILE', "SELECT LOAD_FILE('/etc/passwd')"],
  ['HANDLER on a forbidden table', 'HANDLER secrets OPEN'],
  // `HANDLER h READ FIRST` would then name no table: the rows' card column would miss its masking rule.
  ['HANDLER under an alias', 'HANDLER customers OPEN AS h'],
  ['CALL', 'CALL no_such_procedure()'],
  ['SET ROLE', 'SET ROLE NONE'],
  ['SET @@global', 'SET @@global.max_connections = 1000'],
  ['SET GLOBAL', 'SET GLOBAL max_connections = 1000'],
  ['sql_log_bin', 'SET SESSION sql_log_bin = 0'],
  ['system schema', 'SELECT * FROM mysql.user'],
  ['forbidden table in a subquery', 'SELECT * FROM (SELECT value FROM secrets) s'],
  ['forbidden table in DO', 'DO (SELECT COUNT(*) FROM secrets)'],
  ['forbidden table in SET', 'SET @v = (SELECT value FROM secrets LIMIT 1)'],
  ['UPDATE without a permit', "UPDATE customers SET name = 'x'"],
  ['SHOW PROCESSLIST', 'SHOW PROCESSLIST'],
  ['CREATE TABLE AS SELECT', 'CREATE TEMPORARY TABLE t AS SELECT * FROM secrets'],
  ['unparseable text', 'SELEC 1 FROM customers'],
  ['unterminated comment', 'SELECT 1 /* DROP TABLE customers'],
  ['GRANT', 'GRANT ALL ON *.* TO CURRENT_USER'],
  // There `SELECT info FROM processlist` reads other sessions' statements without naming information_schema.
  ['USE information_schema', 'USE information_schema'],
];

/** A result's values as text (a BINARY value arrives as a Buffer). */
const valuesOf = (rows: unknown): string => (rows as Record<string, unknown>[]).flatMap((r) => Object.values(r).map((v) => (Buffer.isBuffer(v) ? v.toString() : String(v)))).join(' ');

describe('mysql bypass table: each way around statement policy is refused through the gateway', () => {
  let fx: MysqlFixture;

  beforeAll(async () => {
    fx = await startMysqlFixture('bypass', { policy: POLICY });
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
  });

  it('a forbid naming the bare table holds when the statement names its database too', async () => {
    const c = await fx.gateway();
    try {
      for (const sql of [`SELECT * FROM ${fx.db}.secrets`, `SELECT * FROM \`${fx.db}\`.\`secrets\``, `SELECT (SELECT value FROM ${fx.db}.secrets LIMIT 1) AS v`]) {
        await expect(c.query(sql), sql).rejects.toMatchObject({ errno: 1142 });
      }
    } finally {
      await c.end();
    }
  });

  it.each(REFUSED)('%s', async (_name, sql) => {
    const c = await fx.gateway({ multipleStatements: true });
    try {
      await expect(c.query(sql)).rejects.toMatchObject({ errno: expect.toSatisfy((n: number) => n === 1142 || n === 1227) as unknown });
      // The session goes on after a refusal.
      const [rows] = await c.query('SELECT COUNT(*) AS n FROM customers');
      expect(rows).toEqual([{ n: 2 }]);
    } finally {
      await c.end();
    }
  });

  it('a backslash cannot hide a statement once the session turns NO_BACKSLASH_ESCAPES on', async () => {
    const c = await fx.gateway({ multipleStatements: true });
    try {
      await c.query("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'");
      // Under NO_BACKSLASH_ESCAPES the string ends at the backslash: the DELETE is a statement of its own.
      await expect(c.query("SELECT 'a\\'; DELETE FROM customers; -- '")).rejects.toMatchObject({ message: expect.stringContaining('sql:delete') as unknown });
    } finally {
      await c.end();
    }
  });

  it('a masked column read through a spelling the parser misreads stays masked, and cannot be kept in a user variable', async () => {
    const c = await fx.gateway();
    try {
      // `BINARY card` is a cast of the column to the server (the parser read a column `binary` named card).
      const [binary] = await c.query('SELECT BINARY card FROM customers WHERE id = 1');
      expect(valuesOf(binary)).not.toContain('4111');
      await expect(c.query('SELECT BINARY card INTO @v FROM customers WHERE id = 1')).rejects.toMatchObject({ message: expect.stringContaining('user variable') as unknown });
      // Under ANSI_QUOTES (a session setting no status flag shows) "card" is the column, not a string.
      await c.query("SET SESSION sql_mode = 'ANSI_QUOTES'");
      const [quoted] = await c.query(`SELECT CONCAT("card", '') AS x FROM customers WHERE id = 1`);
      expect(valuesOf(quoted)).not.toContain('4111');
      await expect(c.query('SELECT CONCAT("card") INTO @w FROM customers WHERE id = 1')).rejects.toMatchObject({ message: expect.stringContaining('user variable') as unknown });
      const [kept] = await c.query('SELECT @v AS v, @w AS w');
      expect(kept).toEqual([{ v: null, w: null }]);
    } finally {
      await c.end();
    }
  });

  it('COM_CHANGE_USER is refused (a session cannot become another user)', async () => {
    const c = await fx.gateway();
    try {
      await expect(c.changeUser({ user: 'root', password: '' })).rejects.toMatchObject({ errno: 1227 });
    } finally {
      c.destroy();
    }
  });

  it('KILL of a connection that is not the caller\'s is refused', async () => {
    const c = await fx.gateway();
    try {
      await expect(c.query('KILL 1')).rejects.toMatchObject({ errno: 1094 });
    } finally {
      await c.end();
    }
  });

  it('controls: reads, session settings and the catalogue work, and nothing was changed', async () => {
    const c = await fx.gateway({ multipleStatements: true });
    try {
      await c.query('SET NAMES utf8mb4');
      const [rows] = await c.query('SELECT name FROM customers ORDER BY id; SELECT COUNT(*) AS n FROM orders');
      expect(rows).toEqual([[{ name: 'Ada' }, { name: 'Bob' }], [{ n: 3 }]]);
      const [tables] = await c.query('SHOW TABLES');
      expect((tables as Record<string, string>[]).map((t) => Object.values(t)[0]).sort()).toEqual(['customers', 'orders', 'secrets']);
    } finally {
      await c.end();
    }
    const d = await fx.direct();
    const [[secret]] = (await d.query(`SELECT value FROM ${fx.db}.secrets`)) as unknown as [{ value: string }[]];
    await d.end();
    expect(secret).toEqual({ value: 'launch codes' });
  });
});
