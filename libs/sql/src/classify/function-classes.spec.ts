import { beforeAll, describe, expect, it } from 'vitest';

import type { SqlAction } from '../actions.js';
import { SqlClassificationError } from '../errors.js';
import { loadSqlParser } from '../parser/load.js';
import { SqlClassifier } from './classifier.js';
import type { FunctionClass } from './function-class.js';
import { functionRuleFor } from './function-rules.js';
import { PG_FUNCTIONS } from './pg-functions.generated.js';

interface Case {
  readonly sql: string;
  readonly actions: readonly SqlAction[];
  readonly readOnly?: boolean;
  readonly read?: readonly string[];
  readonly written?: readonly string[];
}

const select = (actions: readonly SqlAction[], extra: Omit<Case, 'sql' | 'actions'> = {}) => ({ actions: ['sql:select', ...actions] as SqlAction[], ...extra });

/** Each class of built-in function, called the ways a workload might call it. */
const CLASSES: Readonly<Record<string, readonly Case[]>> = {
  'read (immutable/stable)': [
    { sql: "SELECT upper('a'), lower('B'), length('x')", ...select([], { readOnly: true }) },
    { sql: "SELECT current_setting('work_mem')", ...select([], { readOnly: true }) },
    { sql: 'SELECT txid_current(), now(), current_date', ...select([], { readOnly: true }) },
    { sql: 'SELECT pg_catalog.upper(name) FROM users', ...select([], { readOnly: true, read: ['users'] }) },
    { sql: "SELECT ts_rewrite('a & b'::tsquery, 'a'::tsquery, 'c'::tsquery)", ...select([], { readOnly: true }) },
    { sql: 'SELECT information_schema._pg_char_max_length(25, 10)', ...select([], { readOnly: true }) },
  ],
  'volatile but reviewed harmless': [
    { sql: 'SELECT random(), clock_timestamp(), gen_random_uuid(), timeofday()', ...select([], { readOnly: true }) },
    { sql: 'SELECT pg_sleep(0)', ...select([], { readOnly: true }) },
    { sql: "SELECT currval('t_id_seq'), lastval()", ...select([], { readOnly: true }) },
    { sql: "SELECT pg_total_relation_size('users')", ...select([], { readOnly: true }) },
  ],
  'sequence writes': [
    { sql: "SELECT nextval('t_id_seq')", ...select(['sql:update']) },
    { sql: "SELECT pg_catalog.nextval('t_id_seq')", ...select(['sql:update']) },
    // "NEXTVAL" is not nextval (quoted names keep their case): user code, judged like the look-alike too
    { sql: 'SELECT "NEXTVAL"(\'t_id_seq\')', ...select(['sql:procedural', 'sql:update']) },
    { sql: "SELECT setval('t_id_seq', 999)", ...select(['sql:update']) },
    { sql: "SELECT setval('t_id_seq', 999, false)", ...select(['sql:update']) },
    { sql: "SELECT id, nextval('s') FROM users", ...select(['sql:update'], { read: ['users'] }) },
    // a shadow in another schema is judged like the real one, and is user code besides
    { sql: "SELECT public.setval('t_id_seq', 1)", ...select(['sql:procedural', 'sql:update']) },
  ],
  'large objects': [
    { sql: 'SELECT lo_create(0)', ...select(['sql:insert']) },
    { sql: 'SELECT lo_creat(-1)', ...select(['sql:insert']) },
    { sql: "SELECT lo_from_bytea(0, '\\xdead')", ...select(['sql:insert']) },
    { sql: "SELECT lo_put(1234, 0, '\\x00')", ...select(['sql:update']) },
    { sql: "SELECT lowrite(0, '\\x00')", ...select(['sql:update']) },
    { sql: 'SELECT lo_truncate(0, 0)', ...select(['sql:update']) },
    { sql: 'SELECT lo_unlink(1234)', ...select(['sql:delete']) },
    { sql: 'SELECT lo_get(1234)', ...select(['sql:admin']) },
    { sql: 'SELECT loread(lo_open(1234, 262144), 100)', ...select(['sql:admin']) },
    { sql: "SELECT lo_export(1234, '/tmp/x')", ...select(['sql:admin']) },
  ],
  'advisory locks': [
    { sql: 'SELECT pg_advisory_lock(1)', ...select(['sql:session'], { readOnly: false }) },
    { sql: 'SELECT pg_try_advisory_xact_lock_shared(1, 2)', ...select(['sql:session'], { readOnly: false }) },
    { sql: 'SELECT pg_advisory_unlock_all()', ...select(['sql:session'], { readOnly: false }) },
  ],
  'session only': [
    { sql: "SELECT pg_notify('chan', 'payload')", ...select(['sql:session'], { readOnly: true }) },
    { sql: 'SELECT setseed(0.5)', ...select(['sql:session'], { readOnly: true }) },
    { sql: "SELECT set_config('search_path', 'public', true)", ...select(['sql:session'], { readOnly: true }) },
    { sql: "SELECT set_config('role', 'postgres', false)", ...select(['sql:admin']) },
    { sql: "SELECT set_config($1, 'x', false)", ...select(['sql:admin']) },
  ],
  'administration': [
    { sql: 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity', ...select(['sql:admin'], { read: ['pg_stat_activity'] }) },
    { sql: 'SELECT pg_cancel_backend(1)', ...select(['sql:admin']) },
    { sql: 'SELECT pg_reload_conf()', ...select(['sql:admin']) },
    { sql: "SELECT pg_read_binary_file('/etc/passwd', 0, 10, true)", ...select(['sql:admin']) },
    { sql: "SELECT * FROM pg_ls_dir('.')", ...select(['sql:admin']) },
    { sql: "SELECT pg_create_logical_replication_slot('s', 'pgoutput')", ...select(['sql:admin']) },
    { sql: 'SELECT pg_switch_wal()', ...select(['sql:admin']) },
    { sql: "SELECT pg_backup_start('x')", ...select(['sql:admin']) },
    { sql: "SELECT brin_summarize_new_values('idx')", ...select(['sql:admin']) },
    { sql: "SELECT schema_to_xml('public', true, false, '')", ...select(['sql:admin']) },
    { sql: "SELECT cursor_to_xml('c', 10, true, false, '')", ...select(['sql:admin']) },
    { sql: "SELECT dblink_exec('dbname=x', 'DELETE FROM t')", ...select(['sql:admin']) },
    { sql: 'SELECT * FROM pg_hba_file_rules()', ...select(['sql:admin']) },
  ],
  'not a built-in: user code, never a read': [
    { sql: 'SELECT my_report()', ...select(['sql:procedural']) },
    { sql: 'SELECT app.upper(name) FROM users', ...select(['sql:procedural'], { read: ['users'] }) },
    { sql: 'SELECT * FROM generate_report(1)', ...select(['sql:procedural']) },
  ],
  'SQL given as text: the literal is classified': [
    { sql: "SELECT query_to_xml('DELETE FROM t RETURNING 1', true, false, '')", ...select(['sql:delete'], { read: ['t'], written: ['t'] }) },
    { sql: "SELECT query_to_xml_and_xmlschema(E'INSERT INTO t VALUES (1) RETURNING \\'x\\'', true, false, '')", ...select(['sql:insert'], { read: ['t'], written: ['t'] }) },
    { sql: "SELECT query_to_xmlschema($x$UPDATE t SET a = 1 RETURNING a$x$, true, false, '')", ...select(['sql:update'], { read: ['t'], written: ['t'] }) },
    { sql: "SELECT query_to_xml('SELECT * FROM users'::text, true, false, '')", ...select([], { read: ['users'], readOnly: true }) },
    { sql: "SELECT * FROM ts_stat($q$SELECT to_tsvector(setval('t_id_seq', 999)::text)$q$)", ...select(['sql:update']) },
    { sql: "SELECT * FROM ts_stat('SELECT v FROM docs', 'ab')", ...select([], { read: ['docs'], readOnly: true }) },
    { sql: "SELECT ts_rewrite('a'::tsquery, 'SELECT t, s FROM aliases')", ...select([], { read: ['aliases'], readOnly: true }) },
    { sql: "SELECT ts_rewrite('a'::tsquery, $$SELECT 'a'::tsquery, nextval('s')::text::tsquery$$)", ...select(['sql:update']) },
    // SQL-in-SQL: a ts_stat whose literal calls query_to_xml on a write
    { sql: "SELECT * FROM ts_stat($a$SELECT to_tsvector(query_to_xml($b$DELETE FROM t RETURNING 1$b$, true, false, '')::text)$a$)", ...select(['sql:delete'], { read: ['t'], written: ['t'] }) },
    { sql: "SELECT * FROM ts_stat('SELECT to_tsvector(pg_terminate_backend(1)::text)')", ...select(['sql:admin']) },
  ],
  'table named as text: the literal is a table read': [
    { sql: "SELECT table_to_xml('users', true, false, '')", ...select([], { read: ['users'], readOnly: true }) },
    { sql: "SELECT table_to_xml('Public.\"Secret Keys\"'::regclass, true, false, '')", ...select([], { read: ['public.Secret Keys'], readOnly: true }) },
    { sql: "SELECT table_to_xml_and_xmlschema(' app . Users ', true, false, '')", ...select([], { read: ['app.users'], readOnly: true }) },
  ],
  'where a call can hide': [
    { sql: "SELECT * FROM nextval('s')", ...select(['sql:update']) },
    { sql: "CALL pg_catalog.setval('s', 1)", actions: ['sql:procedural', 'sql:update'] },
    { sql: "CREATE TABLE x (id int DEFAULT nextval('s'))", actions: ['sql:ddl', 'sql:update'], written: ['x'] },
    { sql: 'ALTER TABLE x ALTER COLUMN id SET DEFAULT pg_terminate_backend(1)', actions: ['sql:admin', 'sql:ddl'], written: ['x'] },
    { sql: "CREATE TABLE y (a text CHECK (a <> query_to_xml('DELETE FROM t RETURNING 1', true, false, '')::text))", actions: ['sql:ddl', 'sql:delete', 'sql:select'], read: ['t'], written: ['t', 'y'] },
    { sql: "COPY (SELECT nextval('s')) TO STDOUT", ...select(['sql:update']) },
    { sql: "COPY (SELECT * FROM ts_stat('SELECT to_tsvector(lo_unlink(1)::text)')) TO STDOUT", ...select(['sql:delete']) },
    { sql: "EXPLAIN ANALYZE SELECT setval('s', 1)", ...select(['sql:update']) },
    { sql: "EXPLAIN SELECT setval('s', 1)", ...select([], { readOnly: true }) },
    { sql: "EXPLAIN SELECT * FROM ts_stat('SELECT to_tsvector(pg_reload_conf()::text)')", ...select(['sql:admin']) },
    { sql: "PREPARE p AS SELECT nextval('s')", ...select(['sql:update']) },
    { sql: "PREPARE q AS SELECT query_to_xml('DELETE FROM t', true, false, '')", ...select(['sql:delete'], { written: ['t'] }) },
    { sql: "WITH x AS (SELECT setval('s', 5)) SELECT * FROM x", ...select(['sql:update']) },
    { sql: "SELECT 1 WHERE EXISTS (SELECT lo_unlink(5))", ...select(['sql:delete']) },
  ],
};

/** Arguments that could be anything at run time: the call is refused. */
const REFUSED: readonly string[] = [
  'SELECT ts_stat(q) FROM queries',
  'SELECT t.w FROM queries, ts_stat(queries.q) t',
  "SELECT * FROM ts_stat('SELECT v FROM ' || 'docs')",
  'SELECT * FROM ts_stat($1)',
  "SELECT * FROM ts_stat(concat('SELECT v', ' FROM docs'))",
  "SELECT * FROM ts_stat(lower('SELECT v FROM docs'))",
  "SELECT * FROM ts_stat(current_setting('app.q'))",
  "SELECT * FROM ts_stat((SELECT q FROM queries LIMIT 1))",
  "SELECT * FROM ts_stat('SELECT v FROM docs'::varchar(5))",
  "SELECT * FROM ts_stat(format('SELECT %s', 'v'))",
  "SELECT * FROM ts_stat(NULL)",
  "SELECT query_to_xml(q, true, false, '') FROM queries",
  "SELECT query_to_xml(query => 'DELETE FROM t', nulls => true, tableforest => false, targetns => '')",
  "SELECT query_to_xml($1, true, false, '')",
  "SELECT ts_rewrite('a'::tsquery, q) FROM queries",
  "SELECT * FROM ts_stat($q$SELECT to_tsvector(query_to_xml(q, true, false, '')::text) FROM queries$q$)",
  "SELECT table_to_xml(t, true, false, '') FROM tables",
  "SELECT table_to_xml(16384, true, false, '')",
  "SELECT table_to_xml('users; DELETE FROM t', true, false, '')",
  "PREPARE r AS SELECT * FROM ts_stat($1)",
];

/** A literal that is not SQL the parser understands is refused like any unparseable statement. */
const UNPARSEABLE: readonly string[] = ["SELECT * FROM ts_stat('NOT SQL AT ALL')", "SELECT query_to_xml('SELECT (', true, false, '')"];

const cases = Object.entries(CLASSES).flatMap(([cls, list]) => list.map((c) => ({ cls, ...c })));

describe('built-in functions are classified from the reviewed catalogue table', () => {
  const classifier = new SqlClassifier();
  beforeAll(loadSqlParser);

  it.each(cases)('$cls: $sql', (c) => {
    const [statement, ...rest] = classifier.classify(c.sql);
    expect(rest).toEqual([]);
    expect(statement?.actions).toEqual([...c.actions].sort());
    expect(statement?.tablesRead).toEqual([...(c.read ?? [])].sort());
    expect(statement?.tablesWritten).toEqual([...(c.written ?? [])].sort());
    const reads = c.actions.every((a) => a === 'sql:select' || a === 'sql:session');
    if (c.readOnly !== undefined) expect(statement?.readOnly).toBe(c.readOnly);
    if (!reads) expect(statement?.readOnly).toBe(false);
  });

  const codeOf = (sql: string): string | undefined => {
    try {
      classifier.classify(sql);
      return undefined;
    } catch (e) {
      return e instanceof SqlClassificationError ? e.code : String(e);
    }
  };

  it.each(REFUSED)('refused, SQL or table not a literal: %s', (sql) => {
    expect(codeOf(sql)).toBe('DYNAMIC_SQL');
  });

  it.each(UNPARSEABLE)('refused, SQL literal does not parse: %s', (sql) => {
    expect(codeOf(sql)).toBe('PARSE_ERROR');
  });

  it('does not serve a different SQL literal from the shape cache', () => {
    const shapes = new SqlClassifier();
    expect(shapes.classify("SELECT query_to_xml('SELECT 1', true, false, '')")[0]?.readOnly).toBe(true);
    const next = shapes.classify("SELECT query_to_xml('DELETE FROM t RETURNING 1', true, false, '')")[0];
    expect(next?.actions).toContain('sql:delete');
    expect(shapes.classify("SELECT table_to_xml('public_info', true, false, '')")[0]?.tablesRead).toEqual(['public_info']);
    expect(shapes.classify("SELECT table_to_xml('secrets', true, false, '')")[0]?.tablesRead).toEqual(['secrets']);
  });
});

describe('the generated catalogue table', () => {
  const KNOWN: ReadonlySet<FunctionClass> = new Set<FunctionClass>([
    'read', 'volatile-read', 'uncallable', 'sequence-write', 'lo-create', 'lo-write', 'lo-delete', 'session',
    'advisory-lock', 'setting', 'sql-text', 'table-reader', 'admin', 'unreviewed',
  ]);

  it('lists every pg_catalog function once per signature, each with a known class', () => {
    expect(PG_FUNCTIONS.length).toBeGreaterThan(2500);
    const signatures = new Set(PG_FUNCTIONS.map((row) => `${row[0]}.${row[1]}(${row[2]})`));
    expect(signatures.size).toBe(PG_FUNCTIONS.length);
    for (const row of PG_FUNCTIONS) expect(KNOWN.has(row[9]), `${row[1]}(${row[2]})`).toBe(true);
  });

  it('holds no volatile function that nobody reviewed', () => {
    expect(PG_FUNCTIONS.filter((row) => row[9] === 'unreviewed').map((row) => `${row[1]}(${row[2]})`)).toEqual([]);
  });

  it('never calls a volatile function a read unless a reviewer said so', () => {
    const volatileReads = PG_FUNCTIONS.filter((row) => row[3] === 'v' && row[9] === 'read');
    expect(volatileReads.map((row) => row[1])).toEqual([]);
  });

  it('finds every function by name, case-insensitively through the walker', () => {
    for (const row of PG_FUNCTIONS) expect(functionRuleFor(row[1].toLowerCase()), row[1]).toBeDefined();
  });

  // Everything the earlier hand-written deny list named stays out of reach of a read-only policy.
  it.each([
    'pg_read_file', 'pg_read_binary_file', 'pg_stat_file', 'pg_ls_dir', 'pg_ls_logdir', 'pg_ls_waldir', 'pg_ls_tmpdir',
    'pg_ls_archive_statusdir', 'pg_ls_logicalsnapdir', 'pg_ls_logicalmapdir', 'pg_ls_replslotdir', 'lo_import', 'lo_export',
    'dblink', 'dblink_exec', 'dblink_connect', 'pg_terminate_backend', 'pg_cancel_backend', 'pg_reload_conf',
    'pg_rotate_logfile', 'pg_promote', 'pg_log_backend_memory_contexts', 'pg_stat_reset', 'pg_stat_reset_shared',
    'pg_stat_reset_single_table_counters', 'pg_import_system_collations', 'pg_switch_wal', 'pg_create_restore_point',
    'pg_backup_start', 'pg_backup_stop', 'pg_create_physical_replication_slot', 'pg_create_logical_replication_slot',
    'pg_drop_replication_slot', 'pg_logical_slot_get_changes', 'pg_replication_slot_advance', 'pg_logical_emit_message',
    'pg_replication_origin_create', 'pg_wal_replay_pause', 'pg_wal_replay_resume', 'schema_to_xml', 'database_to_xml',
    'cursor_to_xml',
  ])('%s is admin', (name) => {
    expect(functionRuleFor(name)?.actions).toContain('sql:admin');
  });
});
