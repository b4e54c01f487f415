import { describe, expect, it } from 'vitest';
import { SqlClassificationError } from '@gw/sql';
import { MysqlClassifier } from './classifier.js';

const classifier = new MysqlClassifier();
const one = (text: string, backslashEscapes = true) => {
  const [s, ...rest] = classifier.classify(text, { backslashEscapes });
  expect(rest).toEqual([]);
  return s!;
};
const actionsOf = (text: string, backslashEscapes = true) => classifier.classify(text, { backslashEscapes }).map((s) => s.actions.join(','));
const refused = (text: string) => expect(() => classifier.classify(text)).toThrow(SqlClassificationError);

describe('MySQL classification', () => {
  it('classifies everyday statements with their tables', () => {
    expect(one('SELECT id, email FROM shop.customers c WHERE c.id = 1')).toMatchObject({ kind: 'select', actions: ['sql:select'], tablesRead: ['shop.customers'], readOnly: true });
    expect(one('INSERT INTO orders SELECT * FROM customers')).toMatchObject({ kind: 'insert', actions: ['sql:insert', 'sql:select'], tablesRead: ['customers'], tablesWritten: ['orders'] });
    expect(one('DELETE c FROM customers c JOIN orders o ON o.customer_id = c.id')).toMatchObject({ kind: 'delete', tablesWritten: ['customers'], tablesRead: ['orders'] });
    expect(one('UPDATE customers SET email = NULL WHERE id = 3')).toMatchObject({ kind: 'update', actions: ['sql:update'] });
    expect(one('DROP TABLE customers')).toMatchObject({ kind: 'ddl', actions: ['sql:ddl'], tablesWritten: ['customers'] });
    expect(one('REPLACE INTO t VALUES (1)').actions).toEqual(['sql:insert', 'sql:update']);
    expect(one('WITH x AS (SELECT * FROM a) SELECT * FROM x').tablesRead).toEqual(['a']);
    expect(one('select @@version_comment limit 1')).toMatchObject({ kind: 'select', tablesRead: [] });
  });

  it('cuts multi-statement text where the server does, strings and comments included', () => {
    expect(actionsOf("SELECT 'a;b' FROM t; DROP TABLE t")).toEqual(['sql:select', 'sql:ddl']);
    expect(actionsOf('SELECT 1 -- ; DROP TABLE t\n; SELECT 2')).toEqual(['sql:select', 'sql:select']);
    expect(actionsOf('SELECT 1 /* ; DROP TABLE t */')).toEqual(['sql:select']);
  });

  it('reads executable comments as code, whatever version they name', () => {
    expect(actionsOf('SELECT 1 /*! ; DROP TABLE t */')).toEqual(['sql:select', 'sql:ddl']);
    expect(actionsOf('SELECT 1 /*!99999 ; DROP TABLE t */')).toEqual(['sql:select', 'sql:ddl']);
    expect(actionsOf('SELECT 1 /*M!100100 ; DELETE FROM t */')).toEqual(['sql:select', 'sql:delete']);
    expect(one('/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE */').kind).toBe('session');
  });

  it('follows the session: without backslash escapes a quote ends the string', () => {
    const text = "SELECT 'a\\'; DROP TABLE t; -- '";
    expect(actionsOf(text, true)).toEqual(['sql:select']);
    expect(actionsOf(text, false)).toEqual(['sql:select', 'sql:ddl']);
    // Seen again, in either order: a text is kept with the way it was read.
    expect(actionsOf(text, false)).toEqual(['sql:select', 'sql:ddl']);
    expect(actionsOf(text, true)).toEqual(['sql:select']);
  });

  it('classifies a text seen before as the first time, and refuses one that was refused every time', () => {
    const fresh = new MysqlClassifier({ cacheSize: 2 });
    const text = 'SELECT id, email FROM shop.customers WHERE id = 3; DELETE FROM shop.orders';
    const first = fresh.classify(text);
    const again = fresh.classify(text);
    expect(again).toEqual(first);
    expect(again.map((s) => s.text)).toEqual(['SELECT id, email FROM shop.customers WHERE id = 3', 'DELETE FROM shop.orders']);
    // Callers get their own objects: a change to one does not reach the next caller.
    (again[0] as { kind: string }).kind = 'changed';
    expect(fresh.classify(text)[0]!.kind).toBe('select');
    // Pushed out by other texts, still the same.
    fresh.classify('SELECT 1');
    fresh.classify('SELECT 2');
    expect(fresh.classify(text)).toEqual(first);
    for (let i = 0; i < 2; i++) expect(() => fresh.classify("SET NAMES 'gbk'; SELECT 1")).toThrow(SqlClassificationError);
    expect(fresh.classify('KILL 42')[0]!.kill).toEqual({ query: false, connectionId: 42 });
    expect(fresh.classify('KILL 43')[0]!.kill).toEqual({ query: false, connectionId: 43 });
  });

  it('handles the statement families deliberately', () => {
    expect(one("LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE t")).toMatchObject({ localInfile: true, actions: ['sql:admin', 'sql:insert'], tablesRead: ['t'] });
    expect(one("SELECT * FROM t INTO OUTFILE '/tmp/x'")).toMatchObject({ kind: 'copy_to', readOnly: false });
    expect(one("SELECT * FROM t INTO OUTFILE '/tmp/x'").actions).toContain('sql:admin');
    expect(one("SELECT LOAD_FILE('/etc/passwd')").actions).toContain('sql:admin');
    expect(one('HANDLER customers OPEN')).toMatchObject({ kind: 'select', tablesRead: ['customers'] });
    expect(one('CALL refund(3)').actions).toEqual(['sql:procedural']);
    expect(one('SET ROLE dba').actions).toEqual(['sql:admin']);
    expect(one('SET @@global.max_connections = 1').actions).toEqual(['sql:admin']);
    expect(one('SET GLOBAL max_connections = 1').actions).toEqual(['sql:admin']);
    expect(one('SET sql_log_bin = 0').actions).toEqual(['sql:admin']);
    for (const sql of ['SET foreign_key_checks = 0', 'SET SESSION unique_checks = 0', 'SET @@check_constraint_checks = OFF', 'SET @@session.system_versioning_insert_history = 1',
      "SET timestamp = UNIX_TIMESTAMP('2001-01-01')", 'SET slow_query_log = 0', 'SET LOCAL log_slow_query = OFF', 'SET binlog_format = STATEMENT', "SET debug_dbug = 'd,x'",
      '/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */']) {
      expect(one(sql).actions, sql).toEqual(['sql:admin']);
    }
    expect(one('SET @x = 1, autocommit = 0, max_statement_time = 5').actions).toEqual(['sql:session']);
    expect(one('SET NAMES utf8mb4').actions).toEqual(['sql:session']);
    expect(one("SET SESSION sql_mode = ''").actions).toEqual(['sql:session']);
    // JDBC's rollback(Savepoint) and Connector/J's setQueryTimeout (MariaDB's SET STATEMENT ... FOR), decided as the statement it runs.
    for (const sql of ['ROLLBACK TO SAVEPOINT `a`', 'ROLLBACK WORK TO sp1', 'rollback to savepoint']) expect(one(sql).actions, sql).toEqual(['sql:session']);
    expect(() => one('ROLLBACK TO SAVEPOINT a, b')).toThrow(/after the savepoint name/);
    // The transaction statements' optional words (mysqldump --single-transaction sends the consistent snapshot).
    for (const sql of ['COMMIT WORK', 'COMMIT AND NO CHAIN NO RELEASE', 'ROLLBACK AND CHAIN', 'rollback work release', 'START TRANSACTION WITH CONSISTENT SNAPSHOT', 'START TRANSACTION /*!40100 WITH CONSISTENT SNAPSHOT */, READ ONLY']) {
      expect(one(sql).actions, sql).toEqual(['sql:session']);
    }
    for (const sql of ['COMMIT AND CHAIN x', 'COMMIT WORK DELETE', 'START TRANSACTION WITH CONSISTENT SNAPSHOT FOR UPDATE']) expect(() => one(sql), sql).toThrow();
    expect(one('SET STATEMENT max_statement_time=1 FOR SELECT email FROM customers')).toMatchObject({ kind: 'select', actions: ['sql:select'], tablesRead: ['customers'] });
    expect(one('SET STATEMENT max_statement_time = 2.5, lock_wait_timeout = 3 FOR DELETE FROM customers WHERE id = 1'))
      .toMatchObject({ actions: ['sql:delete'], tablesWritten: ['customers'], text: 'SET STATEMENT max_statement_time = 2.5, lock_wait_timeout = 3 FOR DELETE FROM customers WHERE id = 1' });
    expect(one('SET STATEMENT max_statement_time=1 FOR DROP TABLE customers').actions).toContain('sql:ddl');
    // Another variable could change how the statement is read (sql_mode, a character set) or what it may do: not read.
    for (const sql of ["SET STATEMENT sql_mode='ORACLE' FOR SELECT 1", 'SET STATEMENT foreign_key_checks=0 FOR DELETE FROM customers', 'SET STATEMENT max_statement_time=@t FOR SELECT 1',
      'SET STATEMENT max_statement_time=1, sql_log_bin=0 FOR SELECT 1', 'SET STATEMENT max_statement_time=1 FOR KILL 5', 'SET STATEMENT max_statement_time=1 FOR EXECUTE s',
      'SET STATEMENT max_statement_time=1 FOR SET STATEMENT sql_mode=ORACLE FOR SELECT 1', "SET STATEMENT max_statement_time=1 FOR LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE t"]) {
      expect(() => one(sql), sql).toThrow();
    }
    // CONVERT(x, UNSIGNED INTEGER) (Connector/J's DatabaseMetaData.getColumns): read as CONVERT(x, UNSIGNED); strings keep their words.
    expect(one("SELECT CONVERT(CASE data_type WHEN 'year' THEN numeric_scale ELSE 0 END, UNSIGNED INTEGER) d, CAST(x AS SIGNED INT) FROM information_schema.columns WHERE column_type = 'signed int'"))
      .toMatchObject({ kind: 'select', tablesRead: ['information_schema.columns'] });
    expect(one('SELECT CONVERT(ssn, SIGNED INTEGER) FROM customers')).toMatchObject({ tablesRead: ['customers'], columnsReferenced: ['ssn'] });
    expect(() => one('SELECT CONVERT(x, SIGNED INTEGER FROM t')).toThrow(/cannot read/);
    // What MariaDB Connector/J sends on every connection: the session's own modes plus grammar-keeping ones.
    expect(one("set autocommit=1, session_track_schema=1, session_track_system_variables='auto_increment_increment' , sql_mode = concat(@@sql_mode,',STRICT_TRANS_TABLES')").actions)
      .toEqual(['sql:session']);
    expect(one("SET sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_ZERO_DATE,TRADITIONAL')").actions).toEqual(['sql:session']);
    // Adding a grammar-changing mode, or to anything but the session's own modes, stays admin.
    for (const sql of ["SET sql_mode = concat(@@sql_mode, ',ORACLE')", "SET sql_mode = concat(@@global.sql_mode, ',STRICT_TRANS_TABLES')", "SET sql_mode = concat(@sql_mode, '')",
      "SET sql_mode = concat(@@sql_mode, ',STRICT_TRANS_TABLES', @x)", "SET sql_mode = concat(@@sql_mode, ',MSSQL'), autocommit = 1", "SET sql_mode = concat('ORACLE,', @@sql_mode)"]) {
      expect(one(sql).actions, sql).toEqual(['sql:admin']);
    }
    expect(one('SET @s = (SELECT ssn FROM customers LIMIT 1)')).toMatchObject({ actions: ['sql:select', 'sql:session'], tablesRead: ['customers'] });
    expect(one('PREPARE s FROM @q').actions).toEqual(['sql:admin']);
    expect(one("PREPARE s FROM 'DELETE FROM customers WHERE id = ?'")).toMatchObject({ kind: 'prepare', actions: ['sql:delete'], prepared: { name: 's' } });
    expect(one('EXECUTE s USING @a')).toMatchObject({ kind: 'execute', execute: { name: 's' }, actions: ['sql:admin'] });
    expect(one('DEALLOCATE PREPARE s').deallocate).toEqual({ name: 's' });
    expect(one('KILL QUERY 42').kill).toEqual({ query: true, connectionId: 42 });
    expect(one('KILL QUERY 43').kill).toEqual({ query: true, connectionId: 43 });
    expect(one('KILL 44').kill).toEqual({ query: false, connectionId: 44 });
    expect(one('SHOW PROCESSLIST').actions).toEqual(['sql:admin']);
    expect(one('SHOW FULL PROCESSLIST').actions).toEqual(['sql:admin']);
    expect(one('SHOW FIELDS FROM customers')).toMatchObject({ actions: ['sql:select'], tablesRead: ['customers'] });
    expect(one("SHOW VARIABLES LIKE 'gtid_mode'").actions).toEqual(['sql:select']);
    expect(one('SELECT * FROM mysql.user').actions).toContain('sql:admin');
    expect(one('GRANT ALL ON *.* TO x').actions).toEqual(['sql:admin']);
    expect(one('CREATE USER x').actions).toEqual(['sql:admin']);
    expect(one('CREATE DEFINER=root PROCEDURE p() SELECT 1').actions).toEqual(['sql:admin', 'sql:ddl', 'sql:procedural']);
    expect(one('FLUSH TABLES').actions).toEqual(['sql:admin']);
    expect(one('EXPLAIN SELECT * FROM customers')).toMatchObject({ kind: 'explain', actions: ['sql:select'] });
    expect(one('LOCK TABLES customers READ')).toMatchObject({ actions: ['sql:select', 'sql:session'], tablesRead: ['customers'] });
  });

  it('says when a statement keeps values in user variables (where a column\'s masking cannot follow them)', () => {
    for (const text of [
      'SELECT salary INTO @s FROM pay WHERE id = 1',
      'SELECT salary FROM pay INTO @v',
      'SELECT a, b INTO @x, @y FROM t',
      'SET @t = (SELECT salary FROM pay)',
      'SET @a = 1, @b := (SELECT salary FROM pay)',
      'SELECT @u := salary FROM pay',
      'DO @q := (SELECT salary FROM pay)',
      'WITH w AS (SELECT @z := salary AS s FROM pay) SELECT * FROM w',
      'SELECT * FROM (SELECT @d := salary FROM pay) d',
      '/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE */',
    ]) {
      expect(one(text).storesUserVariables, text).toBe(true);
    }
    for (const text of ['SELECT @s', 'SELECT salary FROM pay WHERE id = @id', 'SET @@session.sql_mode = DEFAULT', "SELECT salary INTO OUTFILE '/tmp/x' FROM pay", 'SET NAMES utf8mb4']) {
      expect(one(text).storesUserVariables, text).toBeUndefined();
    }
    // An assignment the parser cannot place is refused like any text it cannot read.
    refused('SELECT id FROM pay WHERE (@w := salary) > 0');
  });

  it('names the columns whose values a write stores, not those that only pick rows', () => {
    const stored = (text: string) => one(text).columnsStored;
    expect(stored('INSERT INTO t (a) SELECT ssn FROM c WHERE salary > 1')).toEqual(['ssn']);
    expect(stored('REPLACE INTO t (a) SELECT ssn FROM c')).toEqual(['ssn']);
    expect(stored('INSERT INTO t (a) VALUES ((SELECT ssn FROM c LIMIT 1))')).toEqual(['ssn']);
    expect(stored('INSERT INTO t SET a = (SELECT ssn FROM c LIMIT 1)')).toEqual(['ssn']);
    expect(stored('INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = ssn')).toEqual(['ssn']);
    expect(stored('UPDATE c SET note = ssn WHERE id = 1')).toEqual(['ssn']);
    expect(stored('UPDATE c JOIN d ON c.id = d.id SET c.note = d.ssn')).toEqual(['ssn']);
    expect(stored('INSERT INTO t SELECT * FROM c')).toEqual(['*']);
    // A column written back from itself keeps nothing elsewhere; any other SET item still counts.
    expect(stored('UPDATE c SET name = UPPER(name), note = ssn')).toEqual(['ssn']);
    expect(stored('UPDATE c SET name = CONCAT(name, ssn)')).toEqual(['name', 'ssn']);
    expect(stored('UPDATE c SET name = (SELECT name FROM d LIMIT 1)')).toEqual(['name']);
    expect(stored('UPDATE c JOIN d ON d.id = c.id SET c.name = d.name')).toEqual(['name']);
    for (const text of ['UPDATE c SET name = UPPER(name) WHERE id = 1', 'UPDATE c x SET x.name = TRIM(x.name)', 'UPDATE c SET note = 1 WHERE ssn = 1', 'DELETE FROM c WHERE ssn = 1', 'INSERT INTO t (a) VALUES (1)', 'SELECT ssn FROM c', 'CREATE VIEW v AS SELECT ssn FROM c']) {
      expect(stored(text), text).toBeUndefined();
    }
  });

  it('refuses what it cannot read (fail closed)', () => {
    refused('SELEC * FROM t');
    refused("SELECT 'unterminated");
    refused('SELECT 1 /*! DROP TABLE t');
    refused('');
    refused('FOO BAR');
  });

  it('shares a classification between statements that differ only in constants, with each its own text', () => {
    const a = one('SELECT * FROM t WHERE id = 1');
    const b = one("SELECT * FROM t WHERE id = 2 AND name = 'x'");
    const c = one("SELECT * FROM t WHERE id = 3 AND name = 'y'");
    expect(c.fingerprint).toBe(b.fingerprint);
    expect(a.fingerprint).not.toBe(b.fingerprint);
    expect(c.text).toBe("SELECT * FROM t WHERE id = 3 AND name = 'y'");
    expect(one('SELECT * FROM `a`').tablesRead).toEqual(['a']);
    expect(one('SELECT * FROM `b`').tablesRead).toEqual(['b']);
  });
});

describe('relations: the names a statement gives its tables, views, derived tables and CTEs', () => {
  const relations = (sql: string) => Object.fromEntries(classifier.classify(sql)[0]!.relations ?? []);

  it('binds a table or view to its name or alias, without schema', () => {
    expect(relations('SELECT v.id FROM shop.people_v v JOIN corpus ON 1')).toEqual({ v: 'people_v', corpus: 'corpus' });
  });

  it('binds derived tables and CTEs to nothing, and a name used twice to nothing', () => {
    expect(relations('SELECT people_v.id FROM (SELECT who AS id FROM people_v) AS people_v')).toEqual({ people_v: null });
    expect(relations('WITH w AS (SELECT id FROM people_v) SELECT id FROM w')).toEqual({ w: null, people_v: 'people_v' });
    expect(relations('SELECT x.id FROM people_v x WHERE EXISTS (SELECT 1 FROM customers x)')).toEqual({ x: null });
  });

  it('keeps the bindings for every statement of the same shape', () => {
    classifier.classify('SELECT v.id FROM people_v v WHERE v.id = 1');
    expect(relations('SELECT v.id FROM people_v v WHERE v.id = 2')).toEqual({ v: 'people_v' });
  });

  it('names the columns that computed select-list items read, at any level, not those passed through or filtered on', () => {
    expect(one("SELECT id, email, REPLACE(ssn, '-', '') FROM c WHERE phone LIKE '1%' ORDER BY card").columnsComputed).toEqual(['ssn']);
    expect(one('SELECT c.email, c.* FROM c WHERE email IS NOT NULL').columnsComputed).toBeUndefined();
    expect(one('SELECT x FROM (SELECT UPPER(email) AS x FROM c) d').columnsComputed).toEqual(['email']);
    expect(one('WITH t AS (SELECT SUBSTR(ssn, 1, 3) AS a FROM c) SELECT a FROM t').columnsComputed).toEqual(['ssn']);
    expect(one('SELECT (SELECT email FROM c LIMIT 1) AS e').columnsComputed).toBeUndefined();
    expect(one("SELECT (SELECT LOWER(email) FROM c LIMIT 1) AS e").columnsComputed).toEqual(['email']);
    expect(one('SELECT GROUP_CONCAT(card) FROM c').columnsComputed).toEqual(['card']);
    expect(one('SELECT COUNT(*) FROM c WHERE email LIKE ?').columnsComputed).toBeUndefined();
    expect(one("SELECT email, UPPER(name) AS n, (SELECT COUNT(*) FROM c WHERE email LIKE '%x') AS k FROM c").columnsComputed).toEqual(['name']);
    expect(one("SELECT REPLACE(x, '@', '#') FROM (SELECT email AS x FROM c) d").columnsComputed).toEqual(['email', 'x']);
    expect(one('WITH t AS (SELECT ssn AS s FROM c) SELECT LOWER(s) FROM t').columnsComputed).toEqual(['s', 'ssn']);
    expect(one('SELECT x FROM (SELECT email AS x FROM c) d').columnsComputed).toBeUndefined();
    expect(one("SELECT REPLACE((SELECT email FROM c LIMIT 1), '@', '#')").columnsComputed).toEqual(['email']);
    expect(one('SELECT email FROM a UNION SELECT name FROM b').columnsComputed).toBeUndefined();
    expect(one('DELETE FROM c WHERE id = 1 RETURNING LOWER(email)').columnsComputed).toEqual(['email']);
    // What a write computes and keeps.
    expect(one("UPDATE n SET body = REPLACE(email, '@', '#') WHERE id = 1").columnsComputed).toEqual(['email']);
    expect(one("INSERT INTO n (body) VALUES (REPLACE((SELECT email FROM c LIMIT 1), '@', '#'))").columnsComputed).toEqual(['email']);
    expect(one("SELECT id FROM c WHERE email IN (LOWER('A'), 'b')").columnsComputed).toBeUndefined();
    expect(one("SET @e = (SELECT REPLACE(email, '@', '#') FROM c LIMIT 1)").columnsComputed).toEqual(['email']);
    expect(one('SET @e = (SELECT email FROM c LIMIT 1)').columnsComputed).toBeUndefined();
  });
});
