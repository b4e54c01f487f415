import { beforeAll, describe, expect, it } from 'vitest';

import type { SqlAction, StatementKind } from '../actions.js';
import { loadSqlParser } from '../parser/load.js';
import { SqlClassifier } from './classifier.js';

interface Case {
  readonly sql: string;
  readonly kind: StatementKind;
  readonly actions: readonly SqlAction[];
  readonly read?: readonly string[];
  readonly written?: readonly string[];
  readonly readOnly?: boolean;
  readonly functions?: readonly string[];
  /** typesConverted: user types values are converted to (default none). */
  readonly types?: readonly string[];
}

/**
 * One statement per case. `actions` must match exactly: a missing action is a policy bypass, an extra one
 * a spurious denial. Tables default to "none".
 */
const CASES: readonly Case[] = [
  // plain DML
  { sql: 'SELECT * FROM users WHERE id = 1', kind: 'select', actions: ['sql:select'], read: ['users'], readOnly: true },
  { sql: 'select a from Public.Users u join "Orders" o on o.uid = u.id', kind: 'select', actions: ['sql:select'], read: ['Orders', 'public.users'], readOnly: true },
  { sql: 'INSERT INTO t (a) VALUES (1), (2)', kind: 'insert', actions: ['sql:insert'], written: ['t'] },
  { sql: 'UPDATE t SET a = 1 WHERE id = 2', kind: 'update', actions: ['sql:update'], written: ['t'] },
  { sql: 'DELETE FROM t WHERE id = 2', kind: 'delete', actions: ['sql:delete'], written: ['t'] },
  { sql: 'DELETE FROM users RETURNING email', kind: 'delete', actions: ['sql:delete', 'sql:select'], read: ['users'], written: ['users'] },
  { sql: 'UPDATE t SET a = s.a FROM s WHERE s.id = t.id', kind: 'update', actions: ['sql:select', 'sql:update'], read: ['s'], written: ['t'] },
  { sql: 'INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET a = 2', kind: 'insert', actions: ['sql:insert', 'sql:update'], written: ['t'] },
  { sql: 'INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING', kind: 'insert', actions: ['sql:insert'], written: ['t'] },
  { sql: 'INSERT INTO archive SELECT * FROM live', kind: 'insert', actions: ['sql:insert', 'sql:select'], read: ['live'], written: ['archive'] },
  { sql: 'VALUES (1, 2)', kind: 'select', actions: ['sql:select'], readOnly: true },
  { sql: 'TABLE secrets', kind: 'select', actions: ['sql:select'], read: ['secrets'], readOnly: true },

  // DML hidden in CTEs and subqueries
  { sql: 'WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d', kind: 'select', actions: ['sql:delete', 'sql:select'], read: ['t'], written: ['t'] },
  { sql: 'WITH a AS (WITH b AS (UPDATE t SET x = 1 RETURNING id) SELECT * FROM b) SELECT * FROM a', kind: 'select', actions: ['sql:select', 'sql:update'], read: ['t'], written: ['t'] },
  { sql: 'INSERT INTO log SELECT * FROM (WITH x AS (DELETE FROM q RETURNING *) SELECT * FROM x) s', kind: 'insert', actions: ['sql:delete', 'sql:insert', 'sql:select'], read: ['q'], written: ['log', 'q'] },
  { sql: 'WITH moved AS (DELETE FROM a RETURNING *) INSERT INTO b SELECT * FROM moved', kind: 'insert', actions: ['sql:delete', 'sql:insert', 'sql:select'], read: ['a'], written: ['a', 'b'] },
  { sql: 'WITH t AS (SELECT 1) DELETE FROM t', kind: 'delete', actions: ['sql:delete', 'sql:select'], written: ['t'] },
  { sql: 'WITH users AS (SELECT * FROM users) SELECT * FROM users', kind: 'select', actions: ['sql:select'], read: ['users'], readOnly: true },
  { sql: 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r', kind: 'select', actions: ['sql:select'], readOnly: true },
  { sql: 'SELECT (SELECT count(*) FROM (WITH z AS (INSERT INTO t VALUES (1) RETURNING 1) SELECT * FROM z) q)', kind: 'select', actions: ['sql:insert', 'sql:select'], read: ['t'], written: ['t'], functions: ['count'] },

  // EXPLAIN
  { sql: 'EXPLAIN ANALYZE DELETE FROM t', kind: 'explain', actions: ['sql:delete', 'sql:select'], written: ['t'] },
  { sql: 'EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1', kind: 'explain', actions: ['sql:select', 'sql:update'], written: ['t'] },
  { sql: 'EXPLAIN DELETE FROM t', kind: 'explain', actions: ['sql:select'], written: ['t'], readOnly: true },
  { sql: 'EXPLAIN (ANALYZE false) DELETE FROM t', kind: 'explain', actions: ['sql:select'], written: ['t'], readOnly: true },
  { sql: 'EXPLAIN SELECT pg_read_file(\'/etc/passwd\')', kind: 'explain', actions: ['sql:admin', 'sql:select'], functions: ['pg_read_file'] },

  // COPY
  { sql: 'COPY (SELECT * FROM users) TO STDOUT', kind: 'copy_to', actions: ['sql:select'], read: ['users'], readOnly: true },
  { sql: 'COPY (DELETE FROM t RETURNING *) TO STDOUT', kind: 'copy_to', actions: ['sql:delete', 'sql:select'], read: ['t'], written: ['t'] },
  { sql: 'COPY t FROM STDIN', kind: 'copy_from', actions: ['sql:insert'], written: ['t'] },
  { sql: 'COPY s.t (a, b) TO STDOUT WITH (FORMAT csv)', kind: 'copy_to', actions: ['sql:select'], read: ['s.t'], readOnly: true },
  { sql: "COPY t FROM PROGRAM 'curl evil'", kind: 'copy_from', actions: ['sql:admin', 'sql:insert'], written: ['t'] },
  { sql: "COPY t TO '/tmp/out.csv'", kind: 'copy_to', actions: ['sql:admin', 'sql:select'], read: ['t'] },

  // MERGE
  {
    sql: 'MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT VALUES (s.id)',
    kind: 'merge', actions: ['sql:delete', 'sql:insert', 'sql:select'], read: ['s', 't'], written: ['t'],
  },
  {
    sql: 'MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a WHEN MATCHED AND s.x THEN DO NOTHING',
    kind: 'merge', actions: ['sql:select', 'sql:update'], read: ['s', 't'], written: ['t'],
  },

  // procedural code
  { sql: 'DO $$BEGIN DELETE FROM t; END$$', kind: 'procedural', actions: ['sql:procedural'] },
  { sql: "DO LANGUAGE plpython3u $py$import os$py$", kind: 'procedural', actions: ['sql:admin', 'sql:procedural'] },
  { sql: 'CALL archive_orders(30)', kind: 'procedural', actions: ['sql:procedural'], functions: ['archive_orders'] },
  {
    sql: 'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ DELETE FROM audit RETURNING 1 $body$',
    kind: 'ddl', actions: ['sql:ddl', 'sql:delete', 'sql:procedural', 'sql:select'], read: ['audit'], written: ['audit'],
  },
  {
    sql: "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql AS 'UPDATE t SET a = 1; DELETE FROM u'",
    kind: 'ddl', actions: ['sql:ddl', 'sql:delete', 'sql:procedural', 'sql:update'], written: ['t', 'u'],
  },
  { sql: 'CREATE FUNCTION g() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$', kind: 'ddl', actions: ['sql:ddl', 'sql:procedural'] },
  { sql: 'CREATE FUNCTION h() RETURNS int BEGIN ATOMIC DELETE FROM t; SELECT 1; END', kind: 'ddl', actions: ['sql:ddl', 'sql:delete', 'sql:procedural', 'sql:select'], written: ['t'] },
  { sql: "CREATE FUNCTION sh() RETURNS void LANGUAGE c AS 'libevil', 'run'", kind: 'ddl', actions: ['sql:admin', 'sql:ddl', 'sql:procedural'] },

  // identity and session
  { sql: 'SET ROLE admin', kind: 'admin', actions: ['sql:admin'] },
  { sql: 'SET LOCAL ROLE admin', kind: 'admin', actions: ['sql:admin'] },
  { sql: 'RESET ROLE', kind: 'admin', actions: ['sql:admin'] },
  { sql: "SET SESSION AUTHORIZATION 'postgres'", kind: 'admin', actions: ['sql:admin'] },
  { sql: 'SET standard_conforming_strings = off', kind: 'admin', actions: ['sql:admin'] },
  { sql: "SET NAMES 'SJIS'", kind: 'admin', actions: ['sql:admin'] },
  { sql: "SELECT set_config('role', 'admin', false)", kind: 'select', actions: ['sql:admin', 'sql:select'], functions: ['set_config'] },
  { sql: "SELECT pg_catalog.set_config('ROLE', 'admin', false)", kind: 'select', actions: ['sql:admin', 'sql:select'], functions: ['pg_catalog.set_config'] },
  // the parser-divergence settings set to what the classifier assumes (dump scripts, pg_dump's workers)
  { sql: "SET client_encoding = 'UTF8'", kind: 'session', actions: ['sql:session'] },
  { sql: 'SET standard_conforming_strings = on', kind: 'session', actions: ['sql:session'] },
  { sql: "SET client_encoding = 'SJIS'", kind: 'admin', actions: ['sql:admin'] },
  { sql: "SET NAMES 'GBK'", kind: 'admin', actions: ['sql:admin'] },
  { sql: 'SET standard_conforming_strings = off', kind: 'admin', actions: ['sql:admin'] },
  { sql: 'SET LOCAL standard_conforming_strings TO DEFAULT', kind: 'admin', actions: ['sql:admin'] },
  { sql: "SET backslash_quote = 'safe_encoding'", kind: 'admin', actions: ['sql:admin'] },
  // pg_dump's "set it where the server has it": the WHERE clause pins the name column to one literal
  { sql: "SELECT set_config(name, 'view, foreign-table', false) FROM pg_settings WHERE name = 'restrict_nonsystem_relation_kind'", kind: 'select', actions: ['sql:select', 'sql:session'], read: ['pg_settings'], functions: ['set_config'] },
  { sql: "SELECT set_config(name, 'x', false) FROM pg_settings WHERE name = 'role'", kind: 'select', actions: ['sql:admin', 'sql:select'], read: ['pg_settings'], functions: ['set_config'] },
  { sql: "SELECT set_config(name, 'x', false) FROM pg_settings WHERE name LIKE 'restrict%'", kind: 'select', actions: ['sql:admin', 'sql:select'], read: ['pg_settings'], functions: ['set_config'] },
  { sql: "SELECT set_config(name, 'x', false) FROM pg_settings WHERE name = 'search_path' OR true", kind: 'select', actions: ['sql:admin', 'sql:select'], read: ['pg_settings'], functions: ['set_config'] },
  { sql: "SELECT set_config(s.name, 'x', false) FROM pg_settings s, pg_settings WHERE pg_settings.name = 'search_path'", kind: 'select', actions: ['sql:admin', 'sql:select'], read: ['pg_settings'], functions: ['set_config'] },
  { sql: "SELECT set_config(name, 'x', false), set_config(name, 'y', false) FROM pg_settings WHERE name = 'search_path'", kind: 'select', actions: ['sql:admin', 'sql:select'], read: ['pg_settings'], functions: ['set_config'] },
  { sql: "SELECT set_config(name, 'x', false) FROM (SELECT 'role' AS name) pg_settings WHERE name = 'search_path'", kind: 'select', actions: ['sql:admin', 'sql:select'], functions: ['set_config'] },
  { sql: "SELECT set_config(current_user || 'x', 'v', false)", kind: 'select', actions: ['sql:admin', 'sql:select'], functions: ['set_config'] },
  { sql: "SELECT set_config('search_path', 'x', true)", kind: 'select', actions: ['sql:select', 'sql:session'], functions: ['set_config'], readOnly: true },
  { sql: 'SET search_path TO app, public', kind: 'session', actions: ['sql:session'], readOnly: true },
  // a schema ahead of pg_catalog makes every later built-in name (lower(x), =, ::int4) run that schema's look-alike
  { sql: 'SET search_path = evil, pg_catalog', kind: 'admin', actions: ['sql:admin'] },
  { sql: "SET SESSION search_path = '$user', pg_catalog, public", kind: 'admin', actions: ['sql:admin'] },
  { sql: 'SET search_path = pg_temp, pg_catalog, app', kind: 'session', actions: ['sql:session'], readOnly: true },
  { sql: "SET search_path = 'evil, pg_catalog'", kind: 'session', actions: ['sql:session'], readOnly: true }, // one schema named "evil, pg_catalog"
  { sql: 'SET search_path TO DEFAULT', kind: 'session', actions: ['sql:session'], readOnly: true },
  { sql: "SELECT set_config('search_path', 'Evil , PG_CATALOG', true)", kind: 'select', actions: ['sql:admin', 'sql:select'], functions: ['set_config'] },
  { sql: "SELECT set_config('search_path', 'evil, \"pg_catalog\"', false)", kind: 'select', actions: ['sql:admin', 'sql:select'], functions: ['set_config'] },
  { sql: "SELECT set_config('search_path', current_user, false)", kind: 'select', actions: ['sql:admin', 'sql:select'], functions: ['set_config'] },
  { sql: "SELECT set_config(name, 'evil, pg_catalog', false) FROM pg_settings WHERE name = 'search_path'", kind: 'select', actions: ['sql:admin', 'sql:select'], read: ['pg_settings'], functions: ['set_config'] },
  { sql: "SELECT pg_catalog.set_config('search_path', '', false)", kind: 'select', actions: ['sql:select', 'sql:session'], functions: ['pg_catalog.set_config'], readOnly: true },
  { sql: "SELECT set_config('search_path', '\"$user\", public, pg_temp', false)", kind: 'select', actions: ['sql:select', 'sql:session'], functions: ['set_config'], readOnly: true },
  { sql: 'SHOW work_mem', kind: 'session', actions: ['sql:session'], readOnly: true },
  { sql: 'RESET ALL', kind: 'session', actions: ['sql:session'], readOnly: true },
  { sql: 'BEGIN ISOLATION LEVEL SERIALIZABLE', kind: 'session', actions: ['sql:session'], readOnly: true },
  { sql: 'SAVEPOINT s1', kind: 'session', actions: ['sql:session'], readOnly: true },
  { sql: 'ROLLBACK TO SAVEPOINT s1', kind: 'session', actions: ['sql:session'], readOnly: true },
  { sql: 'COMMIT', kind: 'session', actions: ['sql:session'], readOnly: true },
  // two-phase commit outlives the session (and its locks), or finishes another session's transaction
  { sql: "PREPARE TRANSACTION 'held'", kind: 'admin', actions: ['sql:admin'] },
  { sql: "COMMIT PREPARED 'theirs'", kind: 'admin', actions: ['sql:admin'] },
  { sql: "ROLLBACK PREPARED 'theirs'", kind: 'admin', actions: ['sql:admin'] },
  { sql: 'ROLLBACK AND CHAIN', kind: 'session', actions: ['sql:session'], readOnly: true },
  { sql: 'DISCARD ALL', kind: 'session', actions: ['sql:session'], readOnly: true },
  { sql: "NOTIFY chan, 'payload'", kind: 'session', actions: ['sql:session'], readOnly: true },

  // selects with side effects
  { sql: 'SELECT * FROM t FOR UPDATE', kind: 'select', actions: ['sql:select'], read: ['t'], readOnly: false },
  { sql: 'SELECT * INTO copy_of_users FROM users', kind: 'ddl', actions: ['sql:ddl', 'sql:select'], read: ['users'], written: ['copy_of_users'] },
  { sql: 'CREATE TABLE x AS SELECT * FROM y', kind: 'ddl', actions: ['sql:ddl', 'sql:select'], read: ['y'], written: ['x'] },
  { sql: "SELECT setval('s', 1)", kind: 'select', actions: ['sql:select', 'sql:update'], functions: ['setval'] },
  { sql: "SELECT nextval('s')", kind: 'select', actions: ['sql:select', 'sql:update'], functions: ['nextval'], readOnly: false },

  // schema and administration
  { sql: 'TRUNCATE a.b, c', kind: 'truncate', actions: ['sql:ddl', 'sql:delete'], written: ['a.b', 'c'] },
  { sql: 'DROP TABLE a.b, c', kind: 'ddl', actions: ['sql:ddl'], written: ['a.b', 'c'] },
  { sql: 'ALTER TABLE t ADD COLUMN c int', kind: 'ddl', actions: ['sql:ddl'], written: ['t'] },
  { sql: 'CREATE VIEW v AS SELECT * FROM secrets', kind: 'ddl', actions: ['sql:ddl', 'sql:select'], read: ['secrets'], written: ['v'] },
  { sql: 'CREATE RULE r AS ON INSERT TO t DO INSTEAD DELETE FROM u', kind: 'ddl', actions: ['sql:ddl', 'sql:delete'], written: ['t', 'u'] },
  { sql: 'GRANT SELECT ON t TO bob', kind: 'admin', actions: ['sql:admin'], written: ['t'] },
  { sql: 'REVOKE ALL ON DATABASE app FROM PUBLIC', kind: 'admin', actions: ['sql:admin'] },
  { sql: 'CREATE ROLE eve SUPERUSER LOGIN', kind: 'admin', actions: ['sql:admin'] },
  { sql: "ALTER SYSTEM SET archive_command = 'rm -rf /'", kind: 'admin', actions: ['sql:admin'] },
  { sql: 'VACUUM FULL t', kind: 'admin', actions: ['sql:admin'], written: ['t'] },
  { sql: "LOAD 'evil.so'", kind: 'admin', actions: ['sql:admin'] },
  { sql: 'CREATE EXTENSION dblink', kind: 'admin', actions: ['sql:admin'] },
  { sql: 'LOCK TABLE t IN ACCESS EXCLUSIVE MODE', kind: 'admin', actions: ['sql:admin'], written: ['t'] },
  { sql: 'LOCK TABLE t IN ROW SHARE MODE', kind: 'admin', actions: ['sql:admin'], written: ['t'] },
  { sql: 'LOCK t', kind: 'admin', actions: ['sql:admin'], written: ['t'] },
  // pg_dump's lock: the one every SELECT takes, a read of the tables it names
  { sql: 'LOCK TABLE public.t, u IN ACCESS SHARE MODE', kind: 'select', actions: ['sql:select'], read: ['public.t', 'u'] },
  { sql: "SELECT lo_import('/etc/passwd')", kind: 'select', actions: ['sql:admin', 'sql:select'], functions: ['lo_import'] },
  { sql: "SELECT * FROM dblink('host=x', 'DELETE FROM t') AS r(a int)", kind: 'select', actions: ['sql:admin', 'sql:select'], functions: ['dblink'] },
  { sql: 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity', kind: 'select', actions: ['sql:admin', 'sql:select'], read: ['pg_stat_activity'], functions: ['pg_terminate_backend'] },
  { sql: "SELECT query_to_xml('DELETE FROM t RETURNING 1', true, false, '')", kind: 'select', actions: ['sql:delete', 'sql:select'], read: ['t'], written: ['t'], functions: ['query_to_xml'] },

  // SQL hidden in strings that built-in functions run (the literal is classified like a statement)
  { sql: "SELECT * FROM ts_stat($q$SELECT to_tsvector(setval('t_id_seq', 999)::text)$q$)", kind: 'select', actions: ['sql:select', 'sql:update'], functions: ['setval', 'to_tsvector', 'ts_stat'] },
  { sql: "SELECT ts_rewrite('a'::tsquery, $q$SELECT 'a'::tsquery, setval('t_id_seq', 1)::text::tsquery$q$)", kind: 'select', actions: ['sql:select', 'sql:update'], functions: ['setval', 'ts_rewrite'] },
  { sql: "SELECT * FROM ts_stat('SELECT to_tsvector(pg_terminate_backend(1)::text)')", kind: 'select', actions: ['sql:admin', 'sql:select'], functions: ['pg_terminate_backend', 'to_tsvector', 'ts_stat'] },
  { sql: "SELECT * FROM ts_stat($$SELECT to_tsvector(query_to_xml('DELETE FROM t RETURNING 1', true, false, '')::text)$$)", kind: 'select', actions: ['sql:delete', 'sql:select'], read: ['t'], written: ['t'], functions: ['query_to_xml', 'to_tsvector', 'ts_stat'] },
  { sql: "SELECT * FROM ts_stat('SELECT body FROM docs')", kind: 'select', actions: ['sql:select'], read: ['docs'], readOnly: true, functions: ['ts_stat'] },
  { sql: "SELECT table_to_xml('Secrets.\"Keys\"', true, false, '')", kind: 'select', actions: ['sql:select'], read: ['secrets.Keys'], readOnly: true, functions: ['table_to_xml'] },
  { sql: "SELECT pg_catalog.nextval('s')", kind: 'select', actions: ['sql:select', 'sql:update'], functions: ['pg_catalog.nextval'] },
  { sql: "SELECT public.setval('s', 1, false)", kind: 'select', actions: ['sql:procedural', 'sql:select', 'sql:update'], functions: ['public.setval'] },
  { sql: 'SELECT pg_advisory_lock(1)', kind: 'select', actions: ['sql:select', 'sql:session'], functions: ['pg_advisory_lock'], readOnly: false },
  { sql: 'SELECT my_report()', kind: 'select', actions: ['sql:procedural', 'sql:select'], functions: ['my_report'] },
  // a quoted upper-case name is not PostgreSQL's own function (user code), and keeps the look-alike's rule
  { sql: 'SELECT "PG_READ_FILE"(\'x\')', kind: 'select', actions: ['sql:admin', 'sql:procedural', 'sql:select'], functions: ['pg_read_file'] },

  // lexical tricks: quoting, dollar bodies, E-strings, nested comments
  { sql: "SELECT 'a; DELETE FROM t; --' AS x", kind: 'select', actions: ['sql:select'], readOnly: true },
  { sql: "SELECT E'it\\'s; DROP TABLE t; --' FROM t", kind: 'select', actions: ['sql:select'], read: ['t'], readOnly: true },
  { sql: 'SELECT $tag$ ; DELETE FROM t; $tag$', kind: 'select', actions: ['sql:select'], readOnly: true },
  { sql: 'SELECT 1 /* outer /* ; DELETE FROM t; */ still comment */ FROM t -- ; DELETE FROM u', kind: 'select', actions: ['sql:select'], read: ['t'], readOnly: true },
  { sql: 'sElEcT * FrOm "Weird.Name"', kind: 'select', actions: ['sql:select'], read: ['Weird.Name'], readOnly: true },
  { sql: 'DeLeTe FrOm "T"', kind: 'delete', actions: ['sql:delete'], written: ['T'] },

  // names compared as the server does: a quoted schema or name that is not all lower case is not PostgreSQL's own
  { sql: 'SELECT "PG_CATALOG".lower(\'x\')', kind: 'select', actions: ['sql:procedural', 'sql:select'], functions: ['pg_catalog.lower'], readOnly: false },
  { sql: 'SELECT pg_catalog."LOWER"(\'x\')', kind: 'select', actions: ['sql:procedural', 'sql:select'], functions: ['pg_catalog.lower'], readOnly: false },
  { sql: 'SELECT "Lower"(name) FROM t', kind: 'select', actions: ['sql:procedural', 'sql:select'], read: ['t'], functions: ['lower'], readOnly: false },
  { sql: 'SELECT "pg_catalog".lower(\'x\')', kind: 'select', actions: ['sql:select'], functions: ['pg_catalog.lower'], readOnly: true },

  // a trigger wires its function into every write of the table
  { sql: 'CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION evil()', kind: 'ddl', actions: ['sql:ddl', 'sql:procedural'], written: ['t'], functions: ['evil'] },
  { sql: 'CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()', kind: 'ddl', actions: ['sql:ddl'], written: ['t'], functions: ['suppress_redundant_updates_trigger'] },
  // dropping what a table enforces (audit trigger, row security policy, rule) changes that table
  { sql: 'DROP TRIGGER audit ON s.secret', kind: 'ddl', actions: ['sql:ddl'], written: ['s.secret'] },
  { sql: 'DROP POLICY tenant_only ON secret', kind: 'ddl', actions: ['sql:ddl'], written: ['secret'] },
  { sql: 'DROP RULE keep ON secret', kind: 'ddl', actions: ['sql:ddl'], written: ['secret'] },

  // any language but the trusted ones runs with the server's OS privileges
  { sql: 'DO LANGUAGE plsh $$ rm -rf / $$', kind: 'procedural', actions: ['sql:admin', 'sql:procedural'] },
  { sql: "CREATE FUNCTION f() RETURNS text LANGUAGE plr AS $$ system('id') $$", kind: 'ddl', actions: ['sql:admin', 'sql:ddl', 'sql:procedural'] },
  { sql: 'DO LANGUAGE plperl $$ 1; $$', kind: 'procedural', actions: ['sql:procedural'] },

  // an operator runs a function: one that is not PostgreSQL's own is user code
  { sql: 'SELECT a === b FROM t', kind: 'select', actions: ['sql:procedural', 'sql:select'], read: ['t'], readOnly: false },
  { sql: 'SELECT 1 OPERATOR(public.+) 2', kind: 'select', actions: ['sql:procedural', 'sql:select'], readOnly: false },
  { sql: 'SELECT 1 OPERATOR(pg_catalog.+) 2, a BETWEEN 1 AND 2, j ->> \'k\', a !~~* \'x\' FROM t', kind: 'select', actions: ['sql:select'], read: ['t'], readOnly: true },

  // operators named outside an A_Expr: a subquery comparison, ORDER BY ... USING (the operator's btree family's functions)
  { sql: 'SELECT 1 === ANY (SELECT 1)', kind: 'select', actions: ['sql:procedural', 'sql:select'], readOnly: false },
  { sql: 'SELECT 1 FROM t WHERE a OPERATOR(public.<) ALL (SELECT a FROM u)', kind: 'select', actions: ['sql:procedural', 'sql:select'], read: ['t', 'u'], readOnly: false },
  { sql: 'SELECT * FROM t ORDER BY a USING <<<', kind: 'select', actions: ['sql:procedural', 'sql:select'], read: ['t'], readOnly: false },
  { sql: 'SELECT array_agg(a ORDER BY a USING <<<) FROM t', kind: 'select', actions: ['sql:procedural', 'sql:select'], read: ['t'], functions: ['array_agg'], readOnly: false },
  { sql: 'SELECT a = ANY (SELECT b FROM u), a IN (SELECT b FROM u) FROM t ORDER BY a USING >, b DESC', kind: 'select', actions: ['sql:select'], read: ['t', 'u'], readOnly: true },

  // converting a value to a type runs its code: a user cast's function, a domain's CHECK, a type's input function
  // (reported in typesConverted: the agent, which knows the database, decides which types run user code)
  { sql: "SELECT '1'::dm", kind: 'select', actions: ['sql:select'], types: ['dm'] },
  { sql: "SELECT CAST('x' AS public.text), dm '1'", kind: 'select', actions: ['sql:select'], types: ['dm', 'public.text'] },
  { sql: 'SELECT ARRAY[1]::dm[]', kind: 'select', actions: ['sql:select'], types: ['dm'] },
  { sql: 'SELECT \'x\'::"TEXT"', kind: 'select', actions: ['sql:select'], types: ['TEXT'] },
  { sql: "SELECT * FROM json_to_record('{}') AS x(a dm)", kind: 'select', actions: ['sql:select'], functions: ['json_to_record'], types: ['dm'] },
  { sql: "SELECT * FROM xmltable('/a' PASSING '<a>1</a>' COLUMNS x dm PATH '.')", kind: 'select', actions: ['sql:select'], types: ['dm'] },
  { sql: 'SELECT x::mood, \'{}\'::"Status"[], jsonb_populate_record(NULL::app.plain, \'{}\') FROM t', kind: 'select', actions: ['sql:select'], read: ['t'], functions: ['jsonb_populate_record'], types: ['Status', 'app.plain', 'mood'] },
  { sql: "EXPLAIN SELECT '1'::dm", kind: 'explain', actions: ['sql:select'], types: ['dm'] },
  { sql: "SELECT set_config('application_name'::evil.text, 'x', false)", kind: 'select', actions: ['sql:admin', 'sql:select'], functions: ['set_config'], types: ['evil.text'] },
  {
    sql: "SELECT '1'::int, '1'::varchar(3), '{}'::text[], now()::timestamp with time zone, 1::double precision, 'a'::\"char\", 't'::regclass, 1::information_schema.cardinal_number, '1'::pg_catalog.int8",
    kind: 'select', actions: ['sql:select'], functions: ['now'], readOnly: true,
  },
  { sql: "SELECT * FROM json_to_record('{}') AS x(a int, b text)", kind: 'select', actions: ['sql:select'], functions: ['json_to_record'], readOnly: true },
  { sql: 'CREATE TABLE ct (a dm)', kind: 'ddl', actions: ['sql:ddl'], written: ['ct'] },
  // built-ins that convert into a type the caller picks (by OID, or as the type of a row argument)
  { sql: "SELECT array_in('{3}', 'dm'::regtype, -1)", kind: 'select', actions: ['sql:procedural', 'sql:select'], functions: ['array_in'], readOnly: false },
  { sql: "SELECT pg_catalog.domain_in('1', 'dm'::regtype, -1)", kind: 'select', actions: ['sql:procedural', 'sql:select'], functions: ['pg_catalog.domain_in'], readOnly: false },
  { sql: 'SELECT jsonb_populate_record(td, \'{"a": 5}\') FROM td', kind: 'select', actions: ['sql:procedural', 'sql:select'], read: ['td'], functions: ['jsonb_populate_record'], readOnly: false },
  { sql: "SELECT * FROM json_populate_recordset(NULL::pg_catalog.pg_class, '[]')", kind: 'select', actions: ['sql:select'], functions: ['json_populate_recordset'], readOnly: true },

  // a plain EXPLAIN plans the statement, and the planner runs an IMMUTABLE function with constant arguments
  { sql: 'EXPLAIN SELECT evil(1)', kind: 'explain', actions: ['sql:procedural', 'sql:select'], functions: ['evil'], readOnly: false },
];

describe('bypass suite', () => {
  const classifier = new SqlClassifier();
  beforeAll(loadSqlParser);

  it('has enough cases to mean something', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
  });

  it.each(CASES)('$sql', (c) => {
    const result = classifier.classify(c.sql);
    expect(result).toHaveLength(1);
    const [statement] = result;
    expect(statement?.kind).toBe(c.kind);
    expect(statement?.actions).toEqual([...c.actions].sort());
    expect(statement?.tablesRead).toEqual([...(c.read ?? [])].sort());
    expect(statement?.tablesWritten).toEqual([...(c.written ?? [])].sort());
    if (c.functions !== undefined) expect(statement?.functions).toEqual([...c.functions].sort());
    expect(statement?.typesConverted ?? []).toEqual([...(c.types ?? [])].sort());
    if (c.readOnly !== undefined) expect(statement?.readOnly).toBe(c.readOnly);
    // Anything that needs more than select/session must never be reported read-only.
    if (c.actions.some((a) => a !== 'sql:select' && a !== 'sql:session')) expect(statement?.readOnly).toBe(false);
  });
});
