import { beforeAll, describe, expect, it } from 'vitest';

import { SqlClassificationError } from '../errors.js';
import { loadSqlParser } from '../parser/load.js';
import { PARSER_NODE_TYPES } from '../parser/node-schema.generated.js';
import { SqlClassifier } from './classifier.js';
import { Collector } from './collector.js';
import { INERT_NODES } from './inert-nodes.js';
import { STATEMENT_RULES } from './statement-rules.js';
import { TreeWalker } from './walk.js';

/** Nodes only the analyzer/planner produce (never a raw parse tree) or parser plumbing. */
const NOT_IN_RAW_TREES = new Set([
  'ParseResult', 'ScanResult', 'RawStmt', 'OidList', 'IntList', 'TableFunc', 'Var', 'Param', 'Aggref',
  'WindowFunc', 'WindowFuncRunCondition', 'SubscriptingRef', 'FuncExpr', 'OpExpr', 'DistinctExpr', 'NullIfExpr',
  'ScalarArrayOpExpr', 'SubPlan', 'AlternativeSubPlan', 'FieldSelect', 'FieldStore', 'RelabelType', 'CoerceViaIO',
  'ArrayCoerceExpr', 'ConvertRowtypeExpr', 'CollateExpr', 'CaseTestExpr', 'ArrayExpr', 'RowCompareExpr',
  'JsonConstructorExpr', 'JsonExpr', 'JsonTablePath', 'JsonTablePathScan', 'JsonTableSiblingJoin', 'MergeAction',
  'CoerceToDomain', 'CoerceToDomainValue', 'NextValueExpr', 'InferenceElem', 'ReturningExpr', 'TargetEntry',
  'RangeTblRef', 'FromExpr', 'OnConflictExpr', 'Query', 'RangeTblEntry', 'RTEPermissionInfo', 'RangeTblFunction',
  'TableSampleClause', 'WithCheckOption', 'SortGroupClause', 'WindowClause', 'RowMarkClause', 'InlineCodeBlock',
  'CallContext', 'ScanToken', 'SummaryResult', 'Table', 'Function', 'FilterColumn', 'SetOperationStmt', 'PLAssignStmt',
]);

describe('SqlClassifier', () => {
  beforeAll(loadSqlParser);

  it('tells the output format of COPY ... TO (binary in every spelling, and for a format it does not know)', () => {
    const c = new SqlClassifier();
    const format = (sql: string) => c.classify(sql)[0]?.copyFormat;
    expect(format('COPY t TO STDOUT')).toBe('text');
    expect(format('COPY (SELECT 1) TO STDOUT (FORMAT csv, HEADER)')).toBe('csv');
    expect(format("COPY t TO STDOUT WITH (FORMAT 'text')")).toBe('text');
    for (const sql of ['COPY t TO STDOUT (FORMAT binary)', 'COPY t TO STDOUT BINARY', "COPY t TO STDOUT (FORMAT 'binary')", 'COPY (SELECT 1) TO STDOUT WITH BINARY', 'COPY t TO STDOUT WITH (format "binary")', 'COPY t TO STDOUT (FORMAT "BINARY")', 'COPY t TO STDOUT (FORMAT parquet)']) {
      expect(format(sql), sql).toBe('binary');
    }
    expect(format('COPY t FROM STDIN (FORMAT binary)')).toBeUndefined();
    expect(format('SELECT 1')).toBeUndefined();
  });

  it('classifies every statement of a multi-statement string with its own text slice', () => {
    const text = "SELECT 'héllo; x' FROM a;\n  -- comment; DELETE FROM z\n DELETE FROM b WHERE id = 1 ; SET ROLE admin";
    const result = new SqlClassifier().classify(text);
    expect(result.map((s) => s.kind)).toEqual(['select', 'delete', 'admin']);
    expect(result[0]?.text).toBe("SELECT 'héllo; x' FROM a");
    expect(result[1]?.text).toBe('DELETE FROM b WHERE id = 1');
    expect(result[1]?.tablesWritten).toEqual(['b']);
    expect(result[2]?.text).toBe('SET ROLE admin');
  });

  it('gives equal fingerprints to the same shape with different constants, and different ones otherwise', () => {
    const c = new SqlClassifier();
    const [a] = c.classify('SELECT * FROM t WHERE id = 1');
    const [b] = c.classify("select *  from t where id = 42 /* other */");
    const [d] = c.classify('SELECT * FROM u WHERE id = 1');
    expect(a?.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(a?.fingerprint).toBe(b?.fingerprint);
    expect(a?.fingerprint).not.toBe(d?.fingerprint);
  });

  it('parses the same text once and serves it from the cache afterwards', () => {
    const c = new SqlClassifier({ cacheSize: 2, shapeCacheSize: 0 });
    const first = c.classify('SELECT 1');
    expect(c.classify('SELECT 1')).toBe(first);
    expect(c.stats).toEqual({ parses: 1, cacheHits: 1, shapeHits: 0 });
    c.classify('SELECT 2');
    c.classify('SELECT 3'); // evicts 'SELECT 1' (least recently used)
    c.classify('SELECT 1');
    expect(c.stats.parses).toBe(4);
  });

  it('serves a single DML statement with other constants from its shape, with the new text', () => {
    const c = new SqlClassifier();
    c.classify('/* app */ SELECT email FROM customers WHERE id = 1 AND name = \'é\' ; ');
    const [hit] = c.classify("/* app */ SELECT email FROM customers WHERE id = 123456 AND name = 'ü ok' ; ");
    expect(c.stats).toEqual({ parses: 1, cacheHits: 0, shapeHits: 1 });
    expect(hit?.text).toBe("SELECT email FROM customers WHERE id = 123456 AND name = 'ü ok'");
    expect(hit?.tablesRead).toEqual(['customers']);
    expect(hit?.columnsReferenced).toEqual(['email', 'id', 'name']);
    expect(hit?.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(Object.isFrozen(hit)).toBe(true);
  });

  it('gives the same classification from the shape cache as from a full parse', () => {
    // [seed text, text of the same shape]: the second is classified by a warm and by a cold classifier.
    const pairs: [string, string][] = [
      ['SELECT abalance FROM pgbench_accounts WHERE aid = 1;', 'SELECT abalance FROM pgbench_accounts WHERE aid = 99999;'],
      ['UPDATE a SET b = b + -1 WHERE id = 2 RETURNING *', 'UPDATE a SET b = b + -77 WHERE id = 3 RETURNING *'],
      ['UPDATE a SET b = b + 1.5 WHERE id = 2 RETURNING *', "UPDATE a SET b = b + -77 WHERE id = 3.5e3 RETURNING *"],
      ["INSERT INTO h (a, b) VALUES (1, 'x') ON CONFLICT (a) DO UPDATE SET b = 'y'", "INSERT INTO h (a, b) VALUES (2, E'q\\'s') ON CONFLICT (a) DO UPDATE SET b = 'z'"],
      ["WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *) SELECT * FROM d", "WITH d AS (DELETE FROM t WHERE id = 2 RETURNING *) SELECT * FROM d"],
      ['SELECT * FROM t WHERE id = 1 FOR UPDATE', 'SELECT * FROM t WHERE id = 2 FOR UPDATE'],
      ["SELECT nextval('s1')", "SELECT nextval('s2')"],
      ["DELETE FROM t WHERE d < now() - interval '1 day'", "DELETE FROM t WHERE d < now() - interval '30 days'"],
      ["INSERT INTO t (a) SELECT ssn FROM c WHERE id = 1", "INSERT INTO t (a) SELECT ssn FROM c WHERE id = 2"],
      ["UPDATE c SET note = ssn || 'x' WHERE id = 1", "UPDATE c SET note = ssn || 'y' WHERE id = 7"],
    ];
    for (const [seed, probe] of pairs) {
      const warm = new SqlClassifier();
      warm.classify(seed);
      const viaShape = warm.classify(probe);
      expect(warm.stats.shapeHits, probe).toBe(1);
      expect(viaShape, probe).toEqual(new SqlClassifier().classify(probe));
    }
  });

  it('does not serve texts whose classification reads a constant, several statements or $ from the shape cache', () => {
    const c = new SqlClassifier();
    expect(c.classify("SELECT set_config('search_path', 'x', false)")[0]?.actions).toEqual(['sql:select', 'sql:session']);
    expect(c.classify("SELECT set_config('role', 'postgres', false)")[0]?.actions).toContain('sql:admin');
    expect(c.classify('SELECT 1; DELETE FROM a WHERE id = 1').map((s) => s.text)).toEqual(['SELECT 1', 'DELETE FROM a WHERE id = 1']);
    expect(c.classify('SELECT 2; DELETE FROM a WHERE id = 22').map((s) => s.text)).toEqual(['SELECT 2', 'DELETE FROM a WHERE id = 22']);
    c.classify('SELECT * FROM t WHERE a = $1');
    c.classify('SELECT * FROM t WHERE a = 5');
    expect(c.stats).toEqual({ parses: 6, cacheHits: 0, shapeHits: 0 });
    expect(() => c.classify('SELEC 1')).toThrow(SqlClassificationError);
  });

  it('names the columns that computed select-list items read, at any level, not those passed through or filtered on', () => {
    const c = new SqlClassifier();
    const computed = (sql: string) => c.classify(sql)[0]?.columnsComputed;
    expect(computed("SELECT id, email, replace(ssn, '-', '') FROM c WHERE phone LIKE '1%' ORDER BY card")).toEqual(['ssn']);
    expect(computed('SELECT c.email, c.* FROM c WHERE email IS NOT NULL')).toBeUndefined();
    expect(computed('SELECT x FROM (SELECT upper(email) AS x FROM c) s')).toEqual(['email']);
    expect(computed('WITH t AS (SELECT substr(ssn, 1, 3) AS a FROM c) SELECT a FROM t')).toEqual(['ssn']);
    expect(computed('SELECT (SELECT email FROM c LIMIT 1) AS e')).toBeUndefined();
    expect(computed('SELECT (SELECT lower(email) FROM c LIMIT 1) AS e')).toEqual(['email']);
    expect(computed('SELECT ARRAY(SELECT email FROM c) AS e')).toBeUndefined();
    // A whole row or a star that an expression reads may be any column; passed on whole, it is no computation.
    expect(computed("SELECT replace(row_to_json(c)->>'email', '@', '#') FROM customers c")).toEqual(['*', 'c']);
    expect(computed('SELECT md5(c.*::text) FROM customers c')).toEqual(['*']);
    expect(computed('SELECT row_to_json(c), c::text, to_jsonb(c) FROM customers c')).toBeUndefined();
    expect(computed('SELECT (c).email || 1 FROM c')).toEqual(['*', 'c', 'email']);
    expect(computed("UPDATE c SET note = 'x' RETURNING lower(email)")).toEqual(['email']);
    expect(computed('SELECT count(*) FROM c WHERE email LIKE $1')).toBeUndefined();
    // A subquery's filter is no computed value; a column a derived table passes on under another name is.
    expect(computed("SELECT email, upper(name) AS n, (SELECT count(*) FROM c WHERE email LIKE '%x') AS k FROM c")).toEqual(['name']);
    expect(computed("SELECT replace(x, '@', '#') FROM (SELECT email AS x FROM c) s")).toEqual(['email', 'x']);
    expect(computed('WITH t AS (SELECT ssn AS s FROM c) SELECT lower(s) FROM t')).toEqual(['s', 'ssn']);
    expect(computed('SELECT x FROM (SELECT email AS x FROM c) s')).toBeUndefined();
    expect(computed("SELECT replace((SELECT email FROM c LIMIT 1), '@', '#')")).toEqual(['email']);
    expect(computed('SELECT email FROM a UNION SELECT name FROM b')).toBeUndefined();
  });

  it('names the columns whose values a statement stores, not those that only pick rows', () => {
    const c = new SqlClassifier();
    const stored = (sql: string) => c.classify(sql)[0]?.columnsStored;
    expect(stored("INSERT INTO t (a) SELECT ssn FROM c WHERE salary > 1 ORDER BY name")).toEqual(['ssn']);
    expect(stored('INSERT INTO t VALUES ((SELECT ssn FROM c LIMIT 1))')).toEqual(['ssn']);
    expect(stored('UPDATE c SET note = upper(ssn) WHERE id = 1')).toEqual(['ssn']);
    expect(stored("INSERT INTO t (a) VALUES ('x') ON CONFLICT (a) DO UPDATE SET b = t.ssn")).toEqual(['ssn']);
    expect(stored('MERGE INTO t USING c ON t.id = c.id WHEN MATCHED THEN UPDATE SET note = c.ssn')).toEqual(['ssn']);
    expect(stored('CREATE TABLE t2 AS SELECT ssn FROM c')).toEqual(['ssn']);
    expect(stored('SELECT ssn INTO t3 FROM c')).toEqual(['ssn']);
    // Through a CTE or a derived table the copy is renamed; the source column is still named.
    expect(stored('WITH x AS (SELECT ssn AS v FROM c) INSERT INTO t SELECT v FROM x')).toEqual(['ssn', 'v']);
    expect(stored('INSERT INTO t SELECT x FROM (SELECT ssn AS x FROM c WHERE salary > 1) d')).toEqual(['ssn', 'x']);
    expect(stored('WITH d AS (UPDATE c SET note = ssn RETURNING id) SELECT * FROM d')).toEqual(['ssn']);
    // A column written back from itself keeps nothing elsewhere; any other SET item still counts.
    expect(stored('UPDATE customers SET name = upper(name) WHERE id = 1')).toBeUndefined();
    expect(stored('UPDATE customers c SET name = trim(c.name)')).toBeUndefined();
    expect(stored('UPDATE customers SET name = upper(name), note = ssn')).toEqual(['ssn']);
    expect(stored('UPDATE customers SET note = ssn, name = upper(name)')).toEqual(['ssn']);
    expect(stored('UPDATE customers SET name = name || ssn')).toEqual(['name', 'ssn']);
    expect(stored('UPDATE customers SET name = (SELECT name FROM other LIMIT 1)')).toEqual(['name']);
    expect(stored('UPDATE customers SET name = o.name FROM other o WHERE o.id = customers.id')).toEqual(['name']);
    // A star or a whole row may be any column.
    expect(stored('INSERT INTO t SELECT * FROM c')).toEqual(['*']);
    expect(stored('INSERT INTO t SELECT c FROM customers c')).toEqual(['*', 'c']);
    // Columns that only pick rows, or reads, store nothing.
    for (const sql of ["UPDATE c SET note = 'x' WHERE ssn = '1'", "DELETE FROM c WHERE ssn = '1'", 'SELECT ssn FROM c', 'INSERT INTO t (a) SELECT id FROM c WHERE id IN (SELECT id FROM c2 WHERE ssn = $1)']) {
      expect(stored(sql)?.filter((col) => col === 'ssn') ?? [], sql).toEqual([]);
    }
  });

  it('reads a function of one row argument called in attribute notation (c.to_json) as a call on the whole row', () => {
    const c = new SqlClassifier();
    const one = (sql: string) => c.classify(sql)[0];
    expect(one('SELECT c.to_json FROM customers c')).toMatchObject({ functions: ['to_json'], columnsReferenced: ['*', 'to_json'] });
    expect(one('SELECT (c).row_to_json, (c.*).quote_literal FROM customers c')).toMatchObject({ functions: ['quote_literal', 'row_to_json'], columnsReferenced: ['*', 'c', 'quote_literal', 'row_to_json'] });
    expect(one('INSERT INTO t SELECT public.customers.to_jsonb FROM public.customers')?.columnsStored).toEqual(['*', 'to_jsonb']);
    // A field of a composite column, and an ordinary qualified column, stay what they are.
    expect(one('SELECT (c.address).city, c.email FROM customers c')).toMatchObject({ functions: [], columnsReferenced: ['address', 'city', 'email'] });
  });

  it('reads a relation whose columns an alias list renames (t(a, f)), and the columns of JOIN ... USING, as referenced', () => {
    const c = new SqlClassifier();
    const one = (sql: string) => c.classify(sql)[0];
    // `f` may be any column of customers: every column counts (read, and stored when the values are).
    expect(one("SELECT f || '' FROM customers AS t(a, f)")?.columnsReferenced).toEqual(['*', 'f']);
    expect(one('SELECT x FROM (customers c JOIN orders o ON true) AS j(a, x)')?.columnsReferenced).toEqual(['*', 'x']);
    expect(one('INSERT INTO o (item) SELECT f FROM customers t(a, f)')?.columnsStored).toEqual(['*', 'f']);
    // `USING (name) AS u`: the row u holds the merged name without any column reference naming it.
    // (u, a relation name like a join's alias, is also a whole row: `*`, the safe over-count.)
    expect(one('SELECT u::text FROM customers FULL JOIN v USING (name) AS u')?.columnsReferenced).toEqual(['*', 'name', 'u']);
    expect(one('SELECT u.name FROM customers FULL JOIN v USING (name) AS u')?.columnsReferenced).toEqual(['name']);
    // A join's alias alone is a whole row of the join: every column.
    expect(one('SELECT row_to_json(j) FROM (customers c JOIN orders o ON true) AS j')?.columnsReferenced).toEqual(['*', 'j']);
    expect(one('INSERT INTO t (x) SELECT j::text FROM (customers c JOIN orders o ON true) AS j')?.columnsStored).toEqual(['*', 'j']);
    // Without an alias list nothing changes.
    expect(one('SELECT t.name FROM customers AS t')?.columnsReferenced).toEqual(['name']);
  });

  it('an UPDATE of pg_settings is a set_config() of settings named by rows: admin', () => {
    const c = new SqlClassifier();
    for (const sql of ["UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'", "UPDATE pg_catalog.pg_settings s SET setting = 'x'", 'WITH u AS (UPDATE pg_settings SET setting = $1 RETURNING 1) SELECT 1']) {
      expect(c.classify(sql)[0], sql).toMatchObject({ actions: expect.arrayContaining(['sql:admin']) as unknown, functions: ['set_config'] });
    }
    expect(c.classify('SELECT name, setting FROM pg_settings')[0]?.actions).toEqual(['sql:select']);
  });

  it('reports SQL/JSON constructs written like calls under the function name an older server would call', () => {
    const c = new SqlClassifier();
    const fns = (sql: string) => c.classify(sql)[0]?.functions;
    expect(fns('SELECT json_scalar(1), json_serialize(2), json(3)')).toEqual(['json', 'json_scalar', 'json_serialize']);
    expect(fns("SELECT json_query(a, '$'), json_value(a, '$'), json_exists(a, '$') FROM t")).toEqual(['json_exists', 'json_query', 'json_value']);
    expect(fns('SELECT json_object(), json_array(1), json_arrayagg(x) FROM t')).toEqual(['json_array', 'json_arrayagg', 'json_object']);
  });

  it('names the cursor a DECLARE declares and the one a FETCH / MOVE reads', () => {
    const c = new SqlClassifier();
    const one = (sql: string) => c.classify(sql)[0];
    expect(one('DECLARE hc CURSOR WITH HOLD FOR SELECT name FROM customers')).toMatchObject({ cursor: { name: 'hc', use: 'declare' }, tablesRead: ['customers'] });
    expect(one('FETCH ALL FROM "HC"')?.cursor).toEqual({ name: 'HC', use: 'fetch' });
    expect(one('MOVE BACKWARD ALL IN hc')?.cursor).toEqual({ name: 'hc', use: 'fetch' });
    expect(one('CLOSE hc')?.cursor).toBeUndefined();
  });

  it('says whether a cursor is WITH HOLD, and which cursor a CLOSE, CLOSE ALL or DISCARD ALL closes', () => {
    const c = new SqlClassifier();
    const one = (sql: string) => c.classify(sql)[0];
    expect(one('DECLARE hc CURSOR WITH HOLD FOR SELECT 1')?.cursor).toEqual({ name: 'hc', use: 'declare', hold: true });
    expect(one('DECLARE sc SCROLL CURSOR WITHOUT HOLD FOR SELECT 1')?.cursor).toEqual({ name: 'sc', use: 'declare', hold: false });
    expect(one('declare "Mixed" binary no scroll cursor for select 1')?.cursor).toEqual({ name: 'Mixed', use: 'declare', hold: false });
    expect(one('CLOSE hc')?.closeCursor).toEqual({ name: 'hc' });
    expect(one('CLOSE "HC"')?.closeCursor).toEqual({ name: 'HC' });
    expect(one('CLOSE ALL')?.closeCursor).toEqual({ name: null });
    expect(one('DISCARD ALL')?.closeCursor).toEqual({ name: null });
    expect(one('DISCARD PLANS')?.closeCursor).toBeUndefined();
    expect(one('FETCH 1 FROM hc')?.closeCursor).toBeUndefined();
  });

  it('counts what table_to_xml and SQL-text functions return as the columns they read', () => {
    const c = new SqlClassifier();
    const one = (sql: string) => c.classify(sql)[0];
    // table_to_xml returns every column of the table in one XML value: a whole-row read for masking.
    expect(one("SELECT table_to_xml('customers', true, false, '')")?.columnsReferenced).toEqual(['*']);
    expect(one("SELECT pg_catalog.table_to_xml_and_xmlschema('s.customers'::regclass, true, false, '')")?.columnsReferenced).toEqual(['*']);
    expect(one("CREATE TABLE x AS SELECT table_to_xml('customers', true, false, '')")?.columnsStored).toEqual(['*']);
    // The columns a query_to_xml / ts_stat text reads are stored where the call's value is.
    expect(one("INSERT INTO t SELECT query_to_xml('SELECT ssn FROM customers', true, false, '')")?.columnsStored).toEqual(['ssn']);
    expect(one("CREATE TABLE w AS SELECT * FROM ts_stat('SELECT ssn_tsv FROM customers')")?.columnsStored).toEqual(['*', 'ssn_tsv']);
    expect(one("SELECT query_to_xml('SELECT ssn FROM customers', true, false, '')")?.columnsStored).toBeUndefined();
  });

  it('returns frozen results so a caller cannot corrupt the cache', () => {
    const [s] = new SqlClassifier().classify('DELETE FROM t');
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s?.actions)).toBe(true);
  });

  it('returns no statements for empty or comment-only text', () => {
    const c = new SqlClassifier();
    expect(c.classify('')).toEqual([]);
    expect(c.classify('  ;  -- nothing /* here */')).toEqual([]);
  });

  it.each([
    'SELEC 1',
    'SELECT * FROM',
    "SELECT 'unterminated",
    'SELECT 1 /* unterminated comment',
    'SELECT $a$ body $b$',
    'DELETE FROM t; DROP TABLE',
  ])('throws for unparseable text: %s', (sql) => {
    expect(() => new SqlClassifier().classify(sql)).toThrow(SqlClassificationError);
  });

  it('refuses text with a NUL byte, which the server would cut short', () => {
    expect(() => new SqlClassifier().classify('SELECT 1\u0000; DELETE FROM t')).toThrow(/NUL/);
  });

  it('enforces length, statement-count and depth limits instead of truncating', () => {
    expect(() => new SqlClassifier({ maxTextLength: 10 }).classify('SELECT 12345678')).toThrow(/longer than/);
    expect(() => new SqlClassifier({ maxStatements: 2 }).classify('SELECT 1; SELECT 2; SELECT 3')).toThrow(/statements/);
    const nested = `SELECT ${'1 + ('.repeat(300)}1${')'.repeat(300)}`;
    expect(() => new SqlClassifier({ maxDepth: 100 }).classify(nested)).toThrow(/nests deeper/);
    expect(() => new SqlClassifier({ maxNodes: 5 }).classify('SELECT a, b, c, d FROM t')).toThrow(/parse-tree nodes/);
  });

  it('fails closed on a node type it does not know, wherever it sits in the tree', () => {
    const walker = new TreeWalker(new Collector(), { maxDepth: 100, maxNodes: 1000 }, () => []);
    const tree = {
      targetList: [{ ResTarget: { val: { SubLink: { subselect: { ShinyNewDmlStmt: { relation: { relname: 't' } } } } } } }],
    };
    expect(() => walker.walkStatement('SelectStmt', tree)).toThrow(/unrecognised parse-tree node ShinyNewDmlStmt/);
  });

  it('knows every node type the parser declares: a statement rule, inert, or analyzer-only', () => {
    const unaccounted = PARSER_NODE_TYPES.filter(
      (t) => STATEMENT_RULES[t] === undefined && !INERT_NODES.has(t) && !NOT_IN_RAW_TREES.has(t),
    );
    expect(unaccounted).toEqual([]);
    for (const t of Object.keys(STATEMENT_RULES)) expect(PARSER_NODE_TYPES).toContain(t);
  });

  it('reports the prepared statement for PREPARE and a fail-closed placeholder for EXECUTE', () => {
    const c = new SqlClassifier();
    const [prepare] = c.classify('PREPARE wipe(int) AS DELETE FROM t WHERE id = $1');
    expect(prepare?.kind).toBe('prepare');
    expect(prepare?.actions).toEqual(['sql:delete']);
    expect(prepare?.prepared?.name).toBe('wipe');
    expect(prepare?.prepared?.statement.kind).toBe('delete');
    expect(prepare?.prepared?.statement.tablesWritten).toEqual(['t']);
    expect(prepare?.prepared?.statement.text).toBe('DELETE FROM t WHERE id = $1');
    const [direct] = c.classify('DELETE FROM t WHERE id = $1');
    expect(prepare?.prepared?.statement.fingerprint).toBe(direct?.fingerprint);
    const [quoted] = c.classify('PREPARE "As (x)" (text, int) /* AS */ AS SELECT $1 AS "as"');
    expect(quoted?.prepared?.statement.text).toBe('SELECT $1 AS "as"');

    const [execute] = c.classify("EXECUTE wipe(pg_read_file('x')::int)");
    expect(execute?.kind).toBe('execute');
    expect(execute?.execute).toEqual({ name: 'wipe', argumentActions: ['sql:admin'] });
    expect(execute?.actions).toEqual(['sql:admin']);
    expect(execute?.readOnly).toBe(false);

    const [explained] = c.classify('EXPLAIN ANALYZE EXECUTE wipe(1)');
    expect(explained?.actions).toContain('sql:admin');
  });

  it('does not follow a nested LANGUAGE sql body past the nesting limit', () => {
    const inner = "CREATE FUNCTION i() RETURNS int LANGUAGE sql AS 'SELECT 1'";
    const outer = `CREATE FUNCTION o() RETURNS int LANGUAGE sql AS $o$ ${inner} $o$`;
    expect(new SqlClassifier({ maxBodyNesting: 2 }).classify(outer)[0]?.actions).toContain('sql:ddl');
    expect(() => new SqlClassifier({ maxBodyNesting: 1 }).classify(outer)).toThrow(/nested deeper/);
  });

  it('throws for a LANGUAGE sql body that does not parse', () => {
    expect(() =>
      new SqlClassifier().classify("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'DELET FROM t'"),
    ).toThrow(SqlClassificationError);
  });
});
