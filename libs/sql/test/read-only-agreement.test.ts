import { randomBytes } from 'node:crypto';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadSqlParser, SqlClassifier } from '../src/index.js';

/**
 * Cross-checks the classifier against the real server: every statement is run inside a READ ONLY
 * transaction. Whenever PostgreSQL refuses one as writing (SQLSTATE 25006), the classifier must not have
 * called it read-only -- a read-only classification the server disagrees with is a policy bypass.
 */
const SERVER = { host: '127.0.0.1', port: 5432, user: 'postgres' };
const database = `gw_sql_ro_${randomBytes(6).toString('hex')}`;

const SETUP = [
  'CREATE TABLE users (id int PRIMARY KEY, email text, ssn text)',
  'CREATE TABLE t (id int PRIMARY KEY, a int)',
  'CREATE TABLE s (id int PRIMARY KEY, a int)',
  'CREATE TABLE archive (id int, email text, ssn text)',
  'CREATE SEQUENCE seq',
  'CREATE VIEW v_users AS SELECT id FROM users',
  "INSERT INTO users VALUES (1, 'ada@example.com', '536-22-1234')",
  'INSERT INTO t VALUES (1, 1)',
  'INSERT INTO s VALUES (1, 2), (2, 3)',
];

const STATEMENTS = [
  'SELECT * FROM users',
  'SELECT * FROM users WHERE id IN (SELECT id FROM t)',
  'WITH x AS (SELECT * FROM t) SELECT * FROM x',
  'WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d',
  'WITH u AS (UPDATE t SET a = 2 RETURNING id) SELECT * FROM u',
  'INSERT INTO archive SELECT * FROM users',
  'INSERT INTO archive SELECT * FROM (WITH x AS (DELETE FROM users RETURNING *) SELECT * FROM x) q',
  'UPDATE t SET a = s.a FROM s WHERE s.id = t.id',
  'DELETE FROM t WHERE id = 1 RETURNING *',
  'MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.a)',
  'SELECT * FROM t FOR UPDATE',
  'SELECT * FROM t FOR SHARE',
  "SELECT nextval('seq')",
  "SELECT setval('seq', 5)",
  'SELECT * INTO newtab FROM users',
  'CREATE TABLE x AS SELECT * FROM users',
  'TRUNCATE t',
  'EXPLAIN DELETE FROM t',
  'EXPLAIN ANALYZE DELETE FROM t',
  'COPY (SELECT * FROM users) TO STDOUT',
  'COPY (DELETE FROM t RETURNING *) TO STDOUT',
  'SHOW work_mem',
  'SET work_mem = 65536',
  "SELECT set_config('search_path', 'public', true)",
  "NOTIFY chan, 'x'",
  'LISTEN chan',
  'CREATE INDEX ON t (a)',
  'ALTER TABLE t ADD COLUMN b int',
  'DROP VIEW v_users',
  'VALUES (1), (2)',
  'SELECT lo_create(0)',
  "SELECT pg_advisory_xact_lock(1)",
  "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
  'DO $$BEGIN PERFORM 1; END$$',
  'LOCK TABLE t IN SHARE MODE',
  // SQL given as text to built-in functions
  "SELECT * FROM ts_stat($q$SELECT to_tsvector(setval('seq', 999)::text)$q$)",
  "SELECT ts_rewrite('a'::tsquery, $q$SELECT 'a'::tsquery, nextval('seq')::text::tsquery$q$)",
  // query_to_xml runs its query read-only (DELETE refused, 0A000), but the functions it calls still run
  "SELECT query_to_xml('DELETE FROM t RETURNING 1', true, false, '')",
  "SELECT query_to_xml('SELECT setval(''seq'', 3)', true, false, '')",
  "SELECT query_to_xml(E'INSERT INTO t VALUES (7, 7) RETURNING \\'x\\'', true, false, '')",
  "SELECT * FROM ts_stat($a$SELECT to_tsvector(query_to_xml($b$UPDATE t SET a = 3 RETURNING a$b$, true, false, '')::text)$a$)",
  "SELECT * FROM ts_stat('SELECT to_tsvector(email) FROM users')",
  "SELECT table_to_xml('users', true, false, '')",
  "SELECT setval('seq', 10, false)",
  "SELECT pg_catalog.nextval('seq')",
  "SELECT lo_from_bytea(0, '\\x00')",
  'SELECT pg_advisory_lock(42)',
  "SELECT pg_notify('chan', 'x')",
];

describe('read-only classification agrees with PostgreSQL', () => {
  const classifier = new SqlClassifier();
  let admin: pg.Client;
  let client: pg.Client;
  const refused: string[] = [];

  beforeAll(async () => {
    await loadSqlParser();
    admin = new pg.Client({ ...SERVER, database: 'postgres' });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    client = new pg.Client({ ...SERVER, database });
    await client.connect();
    for (const sql of SETUP) await client.query(sql);
  });

  afterAll(async () => {
    await client?.end();
    if (admin) {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
  });

  it.each(STATEMENTS)('%s', async (sql) => {
    const [statement] = classifier.classify(sql);
    if (!statement) throw new Error('no statement');
    await client.query('BEGIN TRANSACTION READ ONLY');
    let serverSaysWrite = false;
    try {
      await client.query(sql);
    } catch (error) {
      const code = (error as { code?: string }).code;
      serverSaysWrite = code === '25006'; // read_only_sql_transaction
      // 0A000 (feature not supported): PG 15 refuses a data-modifying WITH below the top level.
      if (!serverSaysWrite && code !== '0A000') throw error;
    } finally {
      await client.query('ROLLBACK');
    }
    if (serverSaysWrite) {
      refused.push(sql);
      expect(statement.readOnly, `server refused ${sql} as a write`).toBe(false);
    }
  });

  it('exercised the check: the server refused the writes among them', () => {
    // Guards the test itself: if the transaction were not read-only, nothing would be refused.
    expect(refused).toEqual(expect.arrayContaining([
      'TRUNCATE t',
      'SELECT * FROM t FOR UPDATE',
      "SELECT nextval('seq')",
      "SELECT * FROM ts_stat($q$SELECT to_tsvector(setval('seq', 999)::text)$q$)",
      "SELECT ts_rewrite('a'::tsquery, $q$SELECT 'a'::tsquery, nextval('seq')::text::tsquery$q$)",
    ]));
    expect(refused.length).toBeGreaterThanOrEqual(15);
  });
});
