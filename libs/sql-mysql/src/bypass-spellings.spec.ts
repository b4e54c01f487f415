import { describe, expect, it } from 'vitest';
import { SqlClassificationError } from '@gw/sql';
import { MysqlClassifier } from './classifier.js';
import { lexStatements } from './lexer.js';

/**
 * Spellings that used to get a dangerous statement classified as something harmless (a hidden statement,
 * a write or file write seen as a read, a table missing from the lists, a name the agent resolves
 * differently from the server). Each must now be classified for what it does, or refused.
 */
const classifier = new MysqlClassifier();
const all = (text: string) => classifier.classify(text, { backslashEscapes: true });
const one = (text: string) => {
  const [s, ...rest] = all(text);
  expect(rest).toEqual([]);
  return s!;
};
const refused = (text: string) => expect(() => all(text)).toThrow(SqlClassificationError);

describe('MySQL spellings that must not pass for harmless', () => {
  it('a `--` followed by a Unicode space is no comment to the server: the statement after it is seen', () => {
    // The server only starts a `--` comment at an ASCII space or control character; U+00A0 is an identifier character.
    const hidden = 'SELECT 1 --\u00a0 FROM (SELECT 2 AS `\u00a0`) AS d; DROP TABLE t';
    expect(all(hidden).map((s) => s.kind)).toEqual(['select', 'ddl']);
    for (const space of ['\u3000', '\ufeff', '\u2028']) {
      let kinds: string[] = [];
      try {
        kinds = all(`SELECT 1 --${space}x; DROP TABLE t`).map((s) => s.kind);
      } catch (error) {
        expect(error).toBeInstanceOf(SqlClassificationError);
        continue;
      }
      expect(kinds).toContain('ddl');
    }
    // ... while a control character does start one, as on the server.
    expect(all('SELECT 1 --\u0001; DROP TABLE t').map((s) => s.kind)).toEqual(['select']);
  });

  it('refuses a versioned comment that ends elsewhere for a server that skips it', () => {
    // A server older than the version skips to the first `*/`, quotes or not: `; DROP TABLE t` runs there.
    refused("SELECT 1 /*!99999 ' */ ; DROP TABLE t; -- ' */");
    refused("SELECT 1 /*M!999999 ' */ ; DROP TABLE t; -- ' */");
    refused('SELECT 1 /*!99999 /* x */ ; DROP TABLE t; */');
    // mysqldump's versioned comments read the same either way
    expect(one("/*!50003 SET sql_mode = 'NO_AUTO_VALUE_ON_ZERO' */").kind).toBe('session');
    expect(one('/*!40101 SET NAMES utf8mb4 */').kind).toBe('session');
  });

  it('refuses an executable comment nested in another (the server ends both at the first `*/`)', () => {
    // Checked on MariaDB 10.11: the server ran the hidden statement, the classifier saw one SELECT.
    refused("SELECT 1 /*!, 2 /*!, 3 */, 4 */* '*/', 5 AS y, ' ; DELETE FROM customers; -- '");
    refused('SELECT 1 /*! , 2 /*M! , 3 */ , 4 */');
    // a plain comment inside, and executable comments one after the other, read the same way on the server
    expect(one('SELECT 1 /*! , 2 /* , 3 */ , 4 */ AS x').kind).toBe('select');
    expect(one('/*!40101 SELECT 1 */ /*!40101 , 2 */').kind).toBe('select');
  });

  it('refuses a double-quoted token that ends elsewhere under ANSI_QUOTES (a session setting)', () => {
    // ANSI_QUOTES: "a\" is an identifier, the derived table makes it a column, and the DROP runs.
    refused('SELECT "a\\" FROM (SELECT 1 AS `a\\`) d ; DROP TABLE t; -- "');
    refused('SELECT "a\\"b" AS x');
    // the same in both readings: kept
    expect(one('SELECT "C:\\\\path" AS p').kind).toBe('select');
    expect(one('SELECT "it\'s" AS p').kind).toBe('select');
  });

  it('refuses a change of sql_mode or character set followed by more statements in the same text', () => {
    // The server reads the rest only after running the SET: for it, the string ends at `a\`, and the DROP runs.
    refused("SET sql_mode = 'NO_BACKSLASH_ESCAPES'; SELECT 'a\\'; DROP TABLE t; -- '");
    refused("SET @@session.sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES'); SELECT 'a\\'; DROP TABLE t; -- '");
    refused('SET NAMES gbk; SELECT 1');
    refused('EXECUTE s; SELECT 1');
    expect(all("SELECT 1; SET sql_mode = ''").map((s) => s.kind)).toEqual(['select', 'session']);
    expect(all('SET NAMES utf8mb4; SELECT 1').map((s) => s.kind)).toEqual(['session', 'select']);
  });

  it('makes a sql_mode that changes the grammar admin, and refuses MSSQL brackets', () => {
    // Under MSSQL `[x']` is an identifier: the server runs the DROP the classifier read inside a string.
    refused("SAVEPOINT [x'] ; DROP TABLE t; -- ']");
    refused("SELECT 1 AS [x'] ; DROP TABLE t; -- ']");
    expect(one("SELECT '[x]', `[y]` FROM t -- [z]").kind).toBe('select');
    for (const text of ["SET sql_mode = 'MSSQL'", 'SET sql_mode = ORACLE', "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,MSSQL'", "SET @a = 1, sql_mode = 'ORACLE'", "SET sql_mode = CONCAT('ORA', 'CLE')", 'SET sql_mode = @v', 'SET @@session.sql_mode = 2147483648', '/*!40101 SET SQL_MODE=@OLD_SQL_MODE */']) {
      expect(one(text).actions, text).toEqual(['sql:admin']);
    }
    // The modes are in the string: the same shape with other modes is not served from the cache.
    expect(one("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'").actions).toEqual(['sql:session']);
    expect(one("SET SESSION sql_mode = 'MSSQL'").actions).toEqual(['sql:admin']);
    expect(one("SET sql_mode = 'ansi_quotes,TRADITIONAL'").actions).toEqual(['sql:session']);
    expect(one('/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE */').actions).toEqual(['sql:session']);
  });

  it('refuses anything after a savepoint name (SAVEPOINT and RELEASE are read by their words)', () => {
    refused('SAVEPOINT x junk');
    refused('RELEASE SAVEPOINT x junk');
    expect(one('SAVEPOINT `a b`').kind).toBe('session');
    expect(one('RELEASE SAVEPOINT x').kind).toBe('session');
  });

  it('sees the writes and kept values of sequence and session functions', () => {
    // NEXTVAL / SETVAL write the sequence (MariaDB wants INSERT on it); Oracle-mode `s.nextval` too.
    for (const text of ['SELECT NEXTVAL(s)', 'SELECT SETVAL(s, 100)', 'DO NEXTVAL(s)', 'SELECT s.nextval FROM dual', 'WITH w AS (SELECT NEXTVAL(s) AS n) SELECT * FROM w', 'SHOW TABLES WHERE SETVAL(s, 500) > 0']) {
      expect(one(text), text).toMatchObject({ actions: ['sql:select', 'sql:update'], tablesWritten: ['s'], readOnly: false });
    }
    expect(one('SELECT NEXTVAL(shop.s)').tablesWritten).toEqual(['shop.s']);
    expect(one('SELECT LASTVAL(s)')).toMatchObject({ actions: ['sql:select'], tablesWritten: [], readOnly: true });
    // A value kept in the session and read back later, where its column's masking cannot follow.
    for (const text of ['SELECT LAST_INSERT_ID(ssn) FROM c', 'SELECT SETVAL(s, ssn) FROM c', 'SET @@session.max_join_size = (SELECT ssn FROM c LIMIT 1)', 'SET SESSION group_concat_max_len = (SELECT ssn FROM c LIMIT 1)']) {
      expect(one(text).storesUserVariables, text).toBe(true);
    }
    expect(one('SELECT LAST_INSERT_ID()').storesUserVariables).toBeUndefined();
    expect(one('SET max_join_size = 5').storesUserVariables).toBeUndefined();
    expect(one('SET default_storage_engine = InnoDB').storesUserVariables).toBeUndefined();
    // A named lock outlives the statement.
    expect(one("SELECT GET_LOCK('x', 0)")).toMatchObject({ actions: ['sql:select', 'sql:session'], readOnly: false });
  });

  it('cuts a long text in linear time (the agent classifies on its event loop)', () => {
    // About 1 MiB of `a IN (0,1,2,...)`: the lexer used to look at the end of the text built so far for every word.
    const text = `SELECT * FROM t WHERE a IN (${Array.from({ length: 150_000 }, (_, i) => i).join(',')}) AND @v = 1`;
    const started = performance.now();
    const [statement] = lexStatements(text, { backslashEscapes: true });
    expect(performance.now() - started).toBeLessThan(3000);
    expect(statement!.words.slice(-3)).toEqual(['AND', '@V', '1']);
  });

  it('refuses a NUL outside strings (the server ends a `#` comment there)', () => {
    refused('SELECT 1 # x\u0000; DROP TABLE t\n');
  });

  it('classifies EXECUTE IMMEDIATE as the text it runs, never as a statement named `immediate`', () => {
    const immediate = one("EXECUTE IMMEDIATE 'DROP TABLE t'");
    expect(immediate).toMatchObject({ kind: 'execute', actions: ['sql:ddl'], tablesWritten: ['t'], readOnly: false });
    expect(immediate.execute).toBeUndefined();
    const dynamic = one('EXECUTE IMMEDIATE @q');
    expect(dynamic).toMatchObject({ kind: 'execute', actions: ['sql:admin'] });
    expect(dynamic.execute).toBeUndefined();
    refused("EXECUTE IMMEDIATE 'SELECT 1; DROP TABLE t'");
    expect(one('EXECUTE immediate USING @a').execute).toEqual({ name: 'immediate', argumentActions: [] });
  });

  it('sees what the USING arguments of EXECUTE evaluate (MariaDB takes expressions there)', () => {
    // `PREPARE s FROM 'SELECT ?'` is a plain read; its arguments may call LOAD_FILE (checked on MariaDB 10.11).
    expect(one("EXECUTE IMMEDIATE 'SELECT ?' USING LOAD_FILE('/etc/passwd')")).toMatchObject({ kind: 'execute', actions: ['sql:admin', 'sql:select'], readOnly: false });
    expect(one("EXECUTE IMMEDIATE 'SELECT ?' USING @x := 5").storesUserVariables).toBe(true);
    expect(one("EXECUTE IMMEDIATE 'SELECT ?' USING @a")).toMatchObject({ actions: ['sql:select'], readOnly: true });
    // A named statement is resolved to what was prepared, which knows nothing of the arguments: values only.
    refused("EXECUTE s USING LOAD_FILE('/etc/passwd')");
    refused("EXECUTE s USING GET_LOCK('k', 0)");
    refused('EXECUTE s USING @x := 5');
    expect(one("EXECUTE s USING @a, 1, 'x', @b + 1").execute).toEqual({ name: 's', argumentActions: [] });
  });

  it('resolves EXECUTE by the name the server reads, and refuses anything else before USING', () => {
    expect(one('EXECUTE `s b` USING @a').execute?.name).toBe('s b');
    refused('EXECUTE /*!99999 x */ s');
    expect(one('DEALLOCATE PREPARE `s b`').deallocate).toEqual({ name: 's b' });
  });

  it('sees INTO OUTFILE / DUMPFILE wherever a UNION puts it', () => {
    for (const text of [
      "SELECT a FROM t UNION SELECT b FROM u INTO OUTFILE '/tmp/x'",
      "SELECT a FROM t UNION SELECT b FROM u INTO DUMPFILE '/tmp/x'",
      "(SELECT a FROM t) UNION (SELECT b FROM u INTO OUTFILE '/tmp/x')",
    ]) {
      expect(one(text)).toMatchObject({ kind: 'copy_to', actions: ['sql:admin', 'sql:select'], readOnly: false });
    }
  });

  it('keeps a table that a CTE of the same name reads (CTEs see only the CTEs before them)', () => {
    expect(one('WITH users AS (SELECT * FROM users) SELECT * FROM users').tablesRead).toEqual(['users']);
    expect(one('WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a').tablesRead).toEqual(['b']);
    expect(one('WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r').tablesRead).toEqual([]);
  });

  it("sees the tables read in a multi-table UPDATE's join", () => {
    expect(one('UPDATE t JOIN (SELECT id FROM secret) s ON s.id = t.id SET t.x = 1')).toMatchObject({
      actions: ['sql:select', 'sql:update'], tablesRead: ['secret'], tablesWritten: ['t'],
    });
    expect(one('UPDATE t JOIN u ON u.id = t.id AND u.k = (SELECT k FROM secret LIMIT 1) SET t.x = 1').tablesRead).toEqual(['secret']);
  });

  it('names the real target of DELETE / UPDATE with modifiers (not a table called `ignore`)', () => {
    expect(one('DELETE IGNORE FROM t WHERE a = 1')).toMatchObject({ kind: 'delete', tablesWritten: ['t'], tablesRead: [] });
    expect(one('DELETE QUICK FROM t')).toMatchObject({ kind: 'delete', tablesWritten: ['t'], tablesRead: [] });
    expect(one('DELETE LOW_PRIORITY QUICK IGNORE FROM t')).toMatchObject({ kind: 'delete', tablesWritten: ['t'] });
    expect(one('UPDATE IGNORE t SET a = 1')).toMatchObject({ kind: 'update', tablesWritten: ['t'] });
    // MariaDB's DELETE HISTORY deletes the history rows of t (not of a table called `history`).
    expect(one('DELETE HISTORY FROM t')).toMatchObject({ kind: 'delete', actions: ['sql:delete'], tablesWritten: ['t'], tablesRead: [] });
    expect(one('DELETE HISTORY FROM t BEFORE SYSTEM_TIME (SELECT MAX(at) FROM secret)')).toMatchObject({ kind: 'delete', tablesWritten: ['t'], tablesRead: ['secret'] });
  });

  it('makes a character set in which the server cuts text differently admin', () => {
    // In GBK the bytes of `中\` end with a character whose second byte is the backslash: `SELECT '中\' ; DROP ...` splits.
    for (const text of ['SET NAMES gbk', "SET NAMES 'sjis'", 'SET CHARACTER SET big5', 'SET CHARSET cp932', "SET character_set_client = 'gb18030'", 'SET @@session.character_set_client = gbk', 'SET NAMES DEFAULT']) {
      expect(one(text).actions).toEqual(['sql:admin']);
    }
    expect(one("SET NAMES 'utf8mb4'").actions).toEqual(['sql:session']);
    // not served from the shape of the statement above
    expect(one("SET NAMES 'gbk'").actions).toEqual(['sql:admin']);
    expect(one('SET NAMES utf8mb4 COLLATE utf8mb4_bin').actions).toEqual(['sql:session']);
    expect(one('SET character_set_client = utf8mb4').actions).toEqual(['sql:session']);
  });

  it('does not take `SET NAMES x, ...` for a plain character set change', () => {
    refused('SET NAMES utf8mb4, @x = (SELECT authentication_string FROM mysql.user LIMIT 1)');
    expect(one('SET NAMES utf8mb4, GLOBAL max_connections = 1').actions).toEqual(['sql:admin']);
  });

  it('reports row locks, in a subquery too, as not read-only', () => {
    expect(one('SELECT * FROM t FOR UPDATE')).toMatchObject({ locksRows: true, readOnly: false });
    expect(one('SELECT * FROM t WHERE a IN (SELECT b FROM u FOR UPDATE)')).toMatchObject({ locksRows: true, readOnly: false });
  });

  it("reads the target of a MariaDB RETURNING (the rows go back to the client)", () => {
    expect(one('DELETE FROM t RETURNING a')).toMatchObject({ actions: ['sql:delete', 'sql:select'], tablesRead: ['t'], tablesWritten: ['t'] });
  });

  it('makes the information_schema tables behind the admin SHOW forms admin', () => {
    // SHOW PROCESSLIST is admin: the same rows (other sessions' statements) through information_schema too.
    for (const text of ['SELECT info FROM information_schema.processlist', 'SELECT * FROM INFORMATION_SCHEMA.PROCESSLIST', 'SELECT trx_query FROM information_schema.innodb_trx', 'SELECT * FROM information_schema.INNODB_FT_INDEX_TABLE', 'SELECT * FROM information_schema.user_statistics',
      'SELECT query_str FROM information_schema.ROCKSDB_TRX', 'SELECT * FROM information_schema.TOKUDB_TRX', 'SELECT * FROM information_schema.XTRADB_READ_VIEW', 'SELECT * FROM information_schema.DISKS']) {
      expect(one(text).actions, text).toContain('sql:admin');
    }
    expect(one('SELECT table_name FROM information_schema.tables').actions).toEqual(['sql:select']);
    expect(one('SELECT * FROM information_schema.columns').actions).toEqual(['sql:select']);
  });

  it('makes entering a system schema admin (its tables are then named without it)', () => {
    expect(one('USE mysql')).toMatchObject({ kind: 'admin', readOnly: false });
    expect(one('USE `Performance_Schema`').actions).toContain('sql:admin');
    expect(one('USE shop').actions).toEqual(['sql:session']);
    // information_schema's admin tables are recognized by their qualified name: unqualified there after USE.
    expect(one('USE information_schema')).toMatchObject({ kind: 'admin', readOnly: false });
    expect(one('USE `INFORMATION_SCHEMA`').actions).toContain('sql:admin');
  });

  it('reads quoted and qualified names in HANDLER and SHOW as the server does', () => {
    expect(one('HANDLER `shop`.`customers` OPEN').tablesRead).toEqual(['shop.customers']);
    expect(one('HANDLER SECRET READ FIRST').tablesRead).toEqual(['secret']);
    expect(one('SHOW CREATE TABLE shop.secret').tablesRead).toEqual(['shop.secret']);
    expect(one('SHOW COLUMNS FROM `secret` FROM `shop`').tablesRead).toEqual(['shop.secret']);
  });

  it('classifies the expressions the server evaluates in SHOW ... WHERE and HANDLER ... READ', () => {
    // SHOW's WHERE takes any expression: subqueries read other tables, functions read server files.
    expect(one('SHOW TABLES WHERE (SELECT COUNT(*) FROM secret) > 0')).toMatchObject({ actions: ['sql:select'], tablesRead: ['secret'] });
    expect(one("SHOW VARIABLES WHERE Variable_name = 'version' AND LOAD_FILE('/etc/passwd') IS NOT NULL").actions).toContain('sql:admin');
    expect(one("SHOW FULL TABLES FROM shop WHERE Table_type = 'VIEW'")).toMatchObject({ actions: ['sql:select'], tablesRead: [] });
    expect(one("SHOW COLUMNS FROM `where` WHERE Field = 'a'").tablesRead).toEqual(['where']);
    refused("SHOW VARIABLES WHERE Variable_name = 'version' AND (@x := (SELECT a FROM secret LIMIT 1)) IS NOT NULL");
    // HANDLER ... READ evaluates built-in functions in its key values and WHERE condition.
    expect(one("HANDLER secret READ FIRST WHERE LOAD_FILE('/etc/passwd') IS NOT NULL").actions).toContain('sql:admin');
    expect(one("HANDLER secret READ `PRIMARY` = (LOAD_FILE('/etc/passwd')) LIMIT 1").actions).toContain('sql:admin');
    expect(one('HANDLER h READ FIRST WHERE a = (SELECT a FROM t LIMIT 1)').tablesRead).toEqual(['h', 't']);
    refused('HANDLER secret READ FIRST WHERE (@h := a) > 0');
    refused('HANDLER secret OPEN junk more');
    expect(one('HANDLER secret READ idx NEXT LIMIT 5')).toMatchObject({ actions: ['sql:select'], tablesRead: ['secret'], readOnly: true });
    // An alias would make later reads name no table (masking by the rows' source table would miss them).
    refused('HANDLER customers OPEN AS h');
    refused('HANDLER customers OPEN h');
  });

  it('makes a view with another DEFINER admin, and names the view it creates', () => {
    expect(one('CREATE DEFINER=`root`@`%` SQL SECURITY DEFINER VIEW v AS SELECT * FROM secret')).toMatchObject({
      actions: ['sql:admin', 'sql:ddl', 'sql:select'], tablesRead: ['secret'], tablesWritten: ['v'],
    });
    expect(one('CREATE VIEW shop.v AS SELECT 1')).toMatchObject({ actions: ['sql:ddl'], tablesWritten: ['shop.v'] });
  });

  it('makes a table stored on another server or in a server directory admin', () => {
    expect(one("CREATE TABLE t (x INT) ENGINE=FEDERATED CONNECTION='mysql://root@remote/db/t'").actions).toEqual(['sql:admin', 'sql:ddl']);
    expect(one("CREATE TABLE t (x INT) DATA DIRECTORY = '/etc'").actions).toEqual(['sql:admin', 'sql:ddl']);
    expect(one('CREATE TABLE t (x INT) ENGINE=InnoDB').actions).toEqual(['sql:ddl']);
  });

  it('makes a UDF loaded from a shared library admin', () => {
    expect(one("CREATE FUNCTION f RETURNS STRING SONAME 'evil.so'").actions).toEqual(['sql:admin', 'sql:ddl', 'sql:procedural']);
  });

  it('references the column a double-quoted token names under ANSI_QUOTES (a session setting the gateway cannot see)', () => {
    // Under ANSI_QUOTES "card" is the column: CONCAT("card", '') is an expression over it, masked as derived only if seen.
    expect(one(`SELECT CONCAT("card", '') AS x FROM customers`).columnsReferenced).toContain('card');
    expect(one('SELECT CONCAT("card") INTO @v FROM customers LIMIT 1')).toMatchObject({ storesUserVariables: true, columnsReferenced: expect.arrayContaining(['card']) as unknown });
    expect(one('INSERT INTO notes (body) SELECT CONCAT("Card") FROM customers').columnsStored).toContain('card');
    expect(one('UPDATE notes SET body = "card"').columnsStored).toContain('card');
  });

  it('references the column under `SELECT BINARY col` (the parser reads a column `binary` named col)', () => {
    expect(one('SELECT BINARY card FROM customers').columnsReferenced).toContain('card');
    expect(one('SELECT BINARY card INTO @v FROM customers LIMIT 1')).toMatchObject({ storesUserVariables: true, columnsReferenced: expect.arrayContaining(['card']) as unknown });
    expect(one('SELECT (SELECT binary value FROM secrets LIMIT 1) AS x').columnsReferenced).toContain('value');
    // under another operator the parser puts the alias on the outer expression
    expect(one('SELECT -BINARY salary FROM pay').columnsReferenced).toContain('salary');
    expect(one('SELECT NOT BINARY card FROM customers').columnsReferenced).toContain('card');
    expect(one('INSERT INTO notes (body) SELECT BINARY card FROM customers').columnsStored).toContain('card');
  });

  it('names a backquoted table, column or function with a doubled backquote as the server does', () => {
    expect(one('SELECT t.`c``d` FROM `sec``ret` t JOIN `d``b`.`x``y` u')).toMatchObject({ tablesRead: ['d`b.x`y', 'sec`ret'], columnsReferenced: ['c`d'] });
    // the catalogue's name of a stored function (sql:procedural when the session's list has it)
    expect(one('SELECT `my``func`(1), `d``b`.`f``g`(2)').functions).toEqual(['f`g', 'my`func']);
    expect(one('INSERT INTO `sec``ret` (a) VALUES (1)').tablesWritten).toEqual(['sec`ret']);
  });

  it('refuses a KILL whose target the agent would read differently', () => {
    refused('KILL 0x10');
    refused('KILL 1+2');
    refused('KILL QUERY ID 5');
    expect(one('KILL CONNECTION 7').kill).toEqual({ query: false, connectionId: 7 });
  });
});
