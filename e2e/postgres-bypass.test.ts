import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_POLICY, startPgFixture, type PgFixture } from './support/pg-fixture.js';

/**
 * Attempts to get a forbidden statement past the gateway with a real driver. Each must come back as
 * SQLSTATE 42501, leave the data untouched (checked on a direct connection), and leave the same gateway
 * connection usable.
 */

type Attack = { name: string; run: (c: pg.Client) => Promise<unknown> };

const q = (text: string) => (c: pg.Client) => c.query(text);

const ATTACKS: Attack[] = [
  { name: 'two statements in one Query', run: q('SELECT 1; DELETE FROM orders') },
  { name: 'DELETE first then SELECT in one Query', run: q('DELETE FROM orders; SELECT 1') },
  { name: 'DML in a CTE', run: q('WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d') },
  { name: 'COPY of a DELETE ... RETURNING', run: q('COPY (DELETE FROM orders RETURNING *) TO STDOUT') },
  { name: 'EXPLAIN ANALYZE DELETE', run: q('EXPLAIN ANALYZE DELETE FROM orders') },
  { name: 'MERGE ... WHEN MATCHED THEN DELETE', run: q('MERGE INTO orders o USING customers c ON o.customer_id = c.id WHEN MATCHED THEN DELETE') },
  { name: 'DO $$ body', run: q('DO $$ BEGIN DELETE FROM orders; END $$') },
  { name: 'DO $x$ tagged body', run: q('DO $x$ BEGIN DELETE FROM orders; END $x$') },
  { name: "E'' string with escaped quote next to a DELETE", run: q("SELECT E'it\\'s'; DELETE FROM orders") },
  { name: 'string that looks like it closes early', run: q("SELECT 'a'';DELETE FROM orders;--'; DELETE FROM orders") },
  { name: 'block comment before DELETE', run: q('/* x */ DELETE FROM orders') },
  { name: 'line comment before DELETE', run: q('-- x\nDELETE FROM orders') },
  { name: 'nested block comment', run: q('/* /* */ SELECT 1; */ DELETE FROM orders') },
  { name: 'mixed case and quoted identifier', run: q('DeLeTe FROM "orders"') },
  { name: 'schema-qualified quoted identifiers', run: q('DELETE FROM "public"."orders"') },
  { name: 'CREATE FUNCTION wrapping a DELETE', run: q("CREATE FUNCTION gw_evil() RETURNS void LANGUAGE sql AS 'DELETE FROM orders'") },
  { name: 'PREPARE p AS DELETE', run: q('PREPARE gw_p AS DELETE FROM orders') },
  { name: 'DELETE via Parse/Bind/Execute', run: (c) => c.query({ text: 'DELETE FROM orders WHERE id > $1', values: [0] }) },
  { name: 'named prepared DELETE', run: (c) => c.query({ name: 'gw_named_delete', text: 'DELETE FROM orders WHERE id > $1', values: [0] }) },
  { name: 'SET ROLE postgres', run: q('SET ROLE postgres') },
  { name: 'SET SESSION AUTHORIZATION postgres', run: q('SET SESSION AUTHORIZATION postgres') },
  { name: "set_config('role')", run: q("SELECT set_config('role', 'postgres', false)") },
  { name: 'TRUNCATE', run: q('TRUNCATE orders') },
  { name: 'DROP TABLE', run: q('DROP TABLE orders') },
  { name: 'ALTER TABLE', run: q('ALTER TABLE orders ADD COLUMN pwned int') },
  { name: 'GRANT', run: q('GRANT ALL ON orders TO PUBLIC') },
  { name: 'COPY FROM PROGRAM', run: q("COPY orders FROM PROGRAM 'true'") },
  { name: 'pg_terminate_backend', run: q('SELECT pg_terminate_backend(1)') },
  { name: 'lo_import', run: q("SELECT lo_import('/etc/passwd')") },
  { name: 'PREPARE and EXECUTE in one Query', run: q('PREPARE gw_p2 AS DELETE FROM orders; EXECUTE gw_p2') },
  { name: 'query_to_xml running a DELETE given as a string', run: q("SELECT query_to_xml('DELETE FROM orders RETURNING 1', true, true, '')") },
  { name: 'schema-qualified set_config', run: q("SELECT pg_catalog.set_config('role', 'postgres', true)") },
  { name: 'SET LOCAL ROLE in a transaction block', run: q('BEGIN; SET LOCAL ROLE postgres; DELETE FROM orders; COMMIT') },
  { name: 'SET ROLE via the extended protocol', run: (c) => c.query({ text: 'SET ROLE postgres', values: [] }) },
  { name: 'SELECT INTO creating a table', run: q('SELECT * INTO gw_stolen FROM orders') },
  { name: 'CREATE TABLE AS', run: q('CREATE TABLE gw_stolen2 AS SELECT * FROM customers') },
  { name: 'CALL', run: q('CALL gw_missing_proc()') },
  { name: 'COPY TO PROGRAM', run: q("COPY orders TO PROGRAM 'cat > /tmp/gw-stolen'") },
  { name: 'pg_read_file', run: q("SELECT pg_read_file('/etc/passwd')") },
  { name: 'ALTER SYSTEM', run: q("ALTER SYSTEM SET log_statement = 'none'") },
  { name: 'VACUUM', run: q('VACUUM orders') },
  { name: 'ALTER ROLE', run: q('ALTER ROLE CURRENT_USER SUPERUSER') },
  { name: 'UPDATE hidden in a data-modifying CTE of an INSERT', run: q('WITH d AS (DELETE FROM orders RETURNING customer_id, amount, item) INSERT INTO orders (customer_id, amount, item) SELECT * FROM d') },
  { name: 'unparseable statement', run: q('SELEKT * FROM orders WHERE') },
  { name: 'unparseable via extended protocol', run: (c) => c.query({ text: 'DELETE FROM orders WHERE (', values: [] }) },
  // SQL given as text to built-in functions: classified like a statement, refused when not a literal
  { name: 'ts_stat running a large-object delete', run: q("SELECT * FROM ts_stat('SELECT to_tsvector(lo_unlink(424242)::text)')") },
  { name: 'ts_stat running pg_terminate_backend', run: q("SELECT * FROM ts_stat($q$SELECT to_tsvector(pg_terminate_backend(pg_backend_pid())::text)$q$)") },
  { name: 'ts_stat running a user function', run: q("SELECT * FROM ts_stat(E'SELECT to_tsvector(gw_missing_fn()::text)')") },
  { name: 'ts_stat of a column', run: q('SELECT (ts_stat(item)).* FROM orders') },
  { name: 'ts_stat of a concatenation', run: q("SELECT * FROM ts_stat('SELECT to_tsvector(item) FROM ' || 'orders')") },
  { name: 'ts_stat of a parameter', run: (c) => c.query({ text: 'SELECT * FROM ts_stat($1)', values: ['SELECT to_tsvector(item) FROM orders'] }) },
  { name: 'query_to_xml of a parameter', run: (c) => c.query({ text: "SELECT query_to_xml($1, true, false, '')", values: ['SELECT 1'] }) },
  { name: 'table_to_xml of a computed name', run: q("SELECT table_to_xml(lower('ORDERS'), true, false, '')") },
  // pg_settings' rule makes an UPDATE of it a set_config(): standard_conforming_strings off, then the
  // server reads `'a\''` as `'a\'` + `'` and runs the DELETE the classifier saw inside a string.
  {
    name: 'UPDATE pg_settings turning standard_conforming_strings off, then a backslash-quoted DELETE',
    run: async (c) => {
      await c.query("UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'");
      return c.query("SELECT 'a\\''; DELETE FROM orders; --'");
    },
  },
  { name: 'UPDATE pg_catalog.pg_settings in a data-modifying CTE', run: q("WITH s AS (UPDATE pg_catalog.pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings' RETURNING 1) SELECT * FROM s") },
];

describe('postgres gateway: policy bypass attempts through node-postgres', () => {
  let fx: PgFixture;
  let c: pg.Client;
  let before: { customers: number; orders: number };

  beforeAll(async () => {
    fx = await startPgFixture('bypass');
    before = await fx.counts();
    c = fx.gateway();
    await c.connect();
  }, 60_000);

  afterAll(async () => {
    await c?.end().catch(() => undefined);
    await fx?.close();
  });

  it.each(ATTACKS)('$name: 42501, nothing changed, connection still usable', async ({ run }) => {
    const err = (await run(c).then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: string; message?: string } | undefined;
    expect(err, 'the statement must be refused').toBeDefined();
    expect(err?.code).toBe('42501');
    expect(err?.message).toMatch(/^denied/);
    expect(await fx.counts()).toEqual(before);
    expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('a function a DBA created, whose body deletes, is procedural code: refused', async () => {
    await fx.directQuery(`CREATE FUNCTION gw_dba_fn() RETURNS int LANGUAGE sql AS 'DELETE FROM orders RETURNING 1'`);
    const fresh = fx.gateway(); // the catalogue is read when a session starts
    await fresh.connect();
    try {
      for (const text of ['SELECT gw_dba_fn()', 'SELECT public.gw_dba_fn()', 'SELECT * FROM gw_dba_fn()', 'SELECT upper(gw_dba_fn()::text)']) {
        await expect(fresh.query(text), text).rejects.toMatchObject({ code: '42501' });
      }
      expect(await fx.counts()).toEqual(before);
      expect((await fresh.query('SELECT lower($1::text) AS l', ['A'])).rows).toEqual([{ l: 'a' }]);
    } finally {
      await fresh.end();
      await fx.directQuery('DROP FUNCTION gw_dba_fn()');
    }
  });

  it('a DBA function of one row argument is procedural code also in attribute notation (o.fn for fn(o))', async () => {
    await fx.directQuery(`CREATE FUNCTION gw_row_fn(orders) RETURNS int LANGUAGE sql AS 'DELETE FROM orders RETURNING 1'`);
    const fresh = fx.gateway(); // the catalogue is read when a session starts
    await fresh.connect();
    try {
      for (const text of ['SELECT o.gw_row_fn FROM orders o', 'SELECT (o).gw_row_fn FROM orders o', 'SELECT orders.gw_row_fn FROM orders']) {
        await expect(fresh.query(text), text).rejects.toMatchObject({ code: '42501' });
      }
      expect(await fx.counts()).toEqual(before);
    } finally {
      await fresh.end();
      await fx.directQuery('DROP FUNCTION gw_row_fn(orders)');
    }
  });

  it('a DBA function named like an SQL/JSON construct of a newer parser (json_scalar, json_query, ...) is procedural code: this server calls it', async () => {
    // The classifier's parser (PostgreSQL 17) reads JSON_SCALAR(x) as SQL/JSON syntax, no function call;
    // a server before 17 reads the same text as a call of whatever json_scalar the search path finds.
    await fx.directQuery(`CREATE FUNCTION json_scalar(int) RETURNS int LANGUAGE sql AS 'DELETE FROM orders RETURNING 1';
      CREATE FUNCTION json_query(int, int) RETURNS int LANGUAGE sql AS 'DELETE FROM orders RETURNING 1'`);
    const fresh = fx.gateway(); // the catalogue is read when a session starts
    await fresh.connect();
    try {
      for (const text of ['SELECT json_scalar(1)', 'SELECT public.json_scalar(1)', 'SELECT json_query(1, 2)', 'SELECT JSON_SCALAR(1) AS x']) {
        await expect(fresh.query(text), text).rejects.toMatchObject({ code: '42501' });
      }
      expect(await fx.counts()).toEqual(before);
    } finally {
      await fresh.end();
      await fx.directQuery('DROP FUNCTION json_scalar(int); DROP FUNCTION json_query(int, int)');
    }
  });

  it('a cast to a domain whose CHECK calls a DBA function, or to a type with a user cast, is procedural code; enums and row types are plain values', async () => {
    await fx.directQuery(`CREATE FUNCTION gw_check_fn(int) RETURNS bool LANGUAGE sql AS 'DELETE FROM orders RETURNING true';
      CREATE DOMAIN gw_checked AS int CHECK (gw_check_fn(VALUE));
      CREATE TYPE gw_kind AS ENUM ('book', 'pen');
      CREATE TYPE gw_cast_target AS ENUM ('x');
      CREATE FUNCTION gw_cast_fn(text) RETURNS gw_cast_target LANGUAGE sql AS 'DELETE FROM orders RETURNING ''x''::gw_cast_target';
      CREATE CAST (text AS gw_cast_target) WITH FUNCTION gw_cast_fn(text);
      CREATE TABLE gw_row (id int, kind gw_kind, tags text[])`);
    const fresh = fx.gateway(); // the catalogue is read when a session starts
    await fresh.connect();
    try {
      for (const text of ["SELECT '1'::gw_checked", 'SELECT CAST(1 AS public.gw_checked)', "SELECT * FROM json_to_record('{\"a\": 1}') AS x(a gw_checked)", "SELECT 'x'::text::gw_cast_target"]) {
        await expect(fresh.query(text), text).rejects.toMatchObject({ code: '42501' });
      }
      expect(await fx.counts()).toEqual(before);
      const plain = await fresh.query(`SELECT 'pen'::gw_kind AS kind, $1::public.gw_kind AS param, '{book}'::gw_kind[] AS kinds, (jsonb_populate_record(NULL::gw_row, '{"id": 7, "kind": "book"}')).id AS id`, ['book']);
      expect(plain.rows).toEqual([{ kind: 'pen', param: 'book', kinds: '{book}', id: 7 }]);
    } finally {
      await fresh.end();
      await fx.directQuery(`DROP TABLE gw_row; DROP CAST (text AS gw_cast_target); DROP FUNCTION gw_cast_fn(text); DROP TYPE gw_cast_target, gw_kind; DROP DOMAIN gw_checked; DROP FUNCTION gw_check_fn(int)`);
    }
  });

  it('the denial names the forbidding policy and its reason', async () => {
    await expect(c.query('DELETE FROM orders')).rejects.toMatchObject({
      code: '42501',
      message: expect.stringMatching(/no-destructive.*workloads may not delete rows/) as unknown,
    });
  });

  it('no function, prepared statement or extra column was created by the refused statements', async () => {
    const fns = await fx.directQuery(`SELECT 1 FROM pg_proc WHERE proname = 'gw_evil'`);
    expect(fns).toEqual([]);
    const cols = await fx.directQuery(`SELECT 1 FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'pwned'`);
    expect(cols).toEqual([]);
    // A PREPARE that was refused must not be executable.
    await expect(c.query('EXECUTE gw_p')).rejects.toMatchObject({ code: expect.stringMatching(/^(42501|26000)$/) as unknown });
    expect(await fx.counts()).toEqual(before);
    expect((await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]?.u).not.toBe('postgres');
  });

  it('pipelined extended queries: the DELETE in the middle is refused, its neighbours answer', async () => {
    const p1 = c.query({ text: 'SELECT $1::int AS n', values: [1] });
    const p2 = c.query({ text: 'DELETE FROM orders WHERE id > $1', values: [0] });
    const p3 = c.query({ text: 'SELECT $1::int AS n', values: [3] });
    const p4 = c.query({ name: 'gw_pipe_del', text: 'DELETE FROM orders WHERE id = $1', values: [1] });
    const p5 = c.query('SELECT 5 AS n');
    const [r1, r2, r3, r4, r5] = await Promise.allSettled([p1, p2, p3, p4, p5]);
    expect(r1).toMatchObject({ status: 'fulfilled', value: { rows: [{ n: 1 }] } });
    expect(r2).toMatchObject({ status: 'rejected', reason: { code: '42501' } });
    expect(r3).toMatchObject({ status: 'fulfilled', value: { rows: [{ n: 3 }] } });
    expect(r4).toMatchObject({ status: 'rejected', reason: { code: '42501' } });
    expect(r5).toMatchObject({ status: 'fulfilled', value: { rows: [{ n: 5 }] } });
    expect(await fx.counts()).toEqual(before);
  });

  it('allowed: plain SELECTs and a committed transaction', async () => {
    expect((await c.query('SELECT count(*)::int AS n FROM orders')).rows).toEqual([{ n: before.orders }]);
    expect((await c.query({ text: 'SELECT item FROM orders WHERE id = $1', values: [1] })).rows).toEqual([{ item: 'book' }]);
    await c.query('BEGIN');
    const inTx = await c.query('SELECT count(*)::int AS n FROM customers');
    await c.query('COMMIT');
    expect(inTx.rows).toEqual([{ n: before.customers }]);
  });

  it('a denied statement inside a transaction aborts it (25P02) and ROLLBACK restores the session', async () => {
    await c.query('BEGIN');
    await c.query(`UPDATE orders SET item = 'changed-in-tx' WHERE id = 1`);
    await expect(c.query('DELETE FROM orders')).rejects.toMatchObject({ code: '42501' });
    await expect(c.query('SELECT 1')).rejects.toMatchObject({ code: '25P02' });
    await c.query('ROLLBACK');
    expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    // The UPDATE before the denial was rolled back with the transaction, like after a real permission error.
    expect(await fx.directQuery('SELECT item FROM orders WHERE id = 1')).toEqual([{ item: 'book' }]);
    expect(await fx.counts()).toEqual(before);
  });

  it('the gateway session does not run as a superuser and cannot see the agent credentials', async () => {
    const r = await c.query<{ su: string; u: string }>(`SELECT current_setting('is_superuser') AS su, session_user AS u`);
    expect(r.rows[0]?.su).toBe('off');
    expect(r.rows[0]?.u).toMatch(/^gw_/);
  });
});

/** Only reads: what the security issue was tried under. */
const READ_ONLY_POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("pg-connect") permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "postgres" };
@id("pg-read-only") permit (principal, action in Gateway::Action::"sql:read", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "postgres" };
`;

const READ_ONLY_ATTACKS: Attack[] = [
  { name: 'ts_stat running setval (the reported attack)', run: q("SELECT * FROM ts_stat($q$SELECT to_tsvector(setval('orders_id_seq', 999)::text)$q$)") },
  { name: 'ts_rewrite running setval', run: q("SELECT ts_rewrite('a'::tsquery, $q$SELECT 'a'::tsquery, setval('orders_id_seq', 999)::text::tsquery$q$)") },
  { name: 'nextval', run: q("SELECT nextval('orders_id_seq')") },
  { name: 'pg_catalog.nextval', run: q("SELECT pg_catalog.nextval('orders_id_seq')") },
  { name: 'quoted "NEXTVAL"', run: q('SELECT "NEXTVAL"(\'orders_id_seq\')') },
  { name: 'setval with three arguments', run: q("SELECT setval('orders_id_seq', 999, false)") },
  { name: 'nextval in FROM', run: q("SELECT * FROM nextval('orders_id_seq')") },
  { name: 'nextval in COPY (SELECT ...) TO STDOUT', run: q("COPY (SELECT nextval('orders_id_seq')) TO STDOUT") },
  { name: 'nextval under EXPLAIN ANALYZE', run: q("EXPLAIN ANALYZE SELECT nextval('orders_id_seq')") },
  { name: 'nextval via the extended protocol', run: (c) => c.query({ text: 'SELECT nextval($1)', values: ['orders_id_seq'] }) },
  { name: 'named prepared setval', run: (c) => c.query({ name: 'gw_ro_setval', text: 'SELECT setval($1, 999)', values: ['orders_id_seq'] }) },
  { name: 'CALL of setval', run: q("CALL pg_catalog.setval('orders_id_seq', 999)") },
  { name: 'query_to_xml whose query calls setval', run: q("SELECT query_to_xml('SELECT setval(''orders_id_seq'', 999)', true, false, '')") },
  { name: 'SQL in SQL: ts_stat whose literal runs query_to_xml on setval', run: q("SELECT * FROM ts_stat($a$SELECT to_tsvector(query_to_xml($b$SELECT setval('orders_id_seq', 999)$b$, true, false, '')::text)$a$)") },
  { name: 'lo_create', run: q('SELECT lo_create(0)') },
  { name: 'lo_from_bytea', run: q("SELECT lo_from_bytea(0, '\\x00')") },
  { name: "set_config('role')", run: q("SELECT set_config('role', 'postgres', false)") },
  { name: 'a DEFAULT calling nextval', run: q("CREATE TEMP TABLE gw_ro_t (id bigint DEFAULT nextval('orders_id_seq'))") },
];

describe('postgres gateway: built-in functions under a read-only policy', () => {
  let fx: PgFixture;
  let c: pg.Client;
  const sequence = async () => fx.directQuery<{ last_value: string; is_called: boolean }>('SELECT last_value, is_called FROM orders_id_seq');
  let before: { counts: { customers: number; orders: number }; sequence: unknown };

  beforeAll(async () => {
    fx = await startPgFixture('ro', { policy: READ_ONLY_POLICY });
    before = { counts: await fx.counts(), sequence: await sequence() };
    c = fx.gateway();
    await c.connect();
  }, 60_000);

  afterAll(async () => {
    await c?.end().catch(() => undefined);
    await fx?.close();
  });

  it.each(READ_ONLY_ATTACKS)('$name: 42501, sequence and rows untouched', async ({ run }) => {
    const err = (await run(c).then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: string; message?: string } | undefined;
    expect(err, 'the statement must be refused').toBeDefined();
    expect(err?.code).toBe('42501');
    expect(err?.message).toMatch(/^denied/);
    expect({ counts: await fx.counts(), sequence: await sequence() }).toEqual(before);
    expect(await fx.directQuery('SELECT oid FROM pg_largeobject_metadata')).toEqual([]);
    expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it("another workload's session survives pg_terminate_backend sent through ts_stat", async () => {
    const other = await fx.direct();
    try {
      const pid = (await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      await expect(c.query(`SELECT * FROM ts_stat('SELECT to_tsvector(pg_terminate_backend(${pid})::text)')`)).rejects.toMatchObject({ code: '42501' });
      expect((await other.query('SELECT 1 AS alive')).rows).toEqual([{ alive: 1 }]);
    } finally {
      await other.end();
    }
  });

  it('reads through the same functions still work', async () => {
    const words = await c.query<{ word: string }>("SELECT word FROM ts_stat('SELECT to_tsvector(item) FROM orders') ORDER BY word");
    expect(words.rows.map((r) => r.word)).toEqual(['book', 'desk', 'pen']);
    const xml = await c.query<{ x: string }>("SELECT table_to_xml('orders', true, false, '')::text AS x");
    expect(xml.rows[0]?.x).toContain('<item>book</item>');
    expect((await c.query<{ ok: boolean }>('SELECT random() < 2 AS ok, now() IS NOT NULL AS ok2')).rows[0]?.ok).toBe(true);
    expect((await c.query<{ v: string }>('SELECT last_value::text AS v FROM orders_id_seq')).rows).toHaveLength(1);
    expect((await c.query("SELECT pg_notify('gw_chan', 'x')")).rowCount).toBe(1);
    expect({ counts: await fx.counts(), sequence: await sequence() }).toEqual(before);
  });
});

/** `name` is under a column rule (no recognizer would find a name): only the rule can mask it. */
const COLUMN_RULE_POLICY = PG_POLICY.replace('@id("pg-read")', '@id("pg-read")\n@mask_columns("customers.name:full")');
const ADA = /ada lovelace/i;

describe('postgres gateway: a column rule holds for values read under another name', () => {
  let fx: PgFixture;

  beforeAll(async () => {
    fx = await startPgFixture('colrule', { policy: COLUMN_RULE_POLICY });
  }, 60_000);

  afterAll(async () => {
    await fx?.close();
  });

  /** Runs the statements in order on one gateway connection; the rows of the last one. */
  const rowsOf = async (...texts: (string | pg.QueryConfig)[]) => {
    const c = fx.gateway();
    await c.connect();
    try {
      let last: pg.QueryResult | undefined;
      for (const text of texts) last = await c.query(text as string);
      return last?.rows ?? [];
    } finally {
      await c.end();
    }
  };

  it.each([
    { name: 'a column alias list renaming name (customers AS t(a, f))', texts: ["SELECT f || '' AS v FROM customers AS t(a, f) ORDER BY a"] },
    { name: 'a column alias list on a parenthesized join', texts: ['SELECT upper(x) AS v FROM (customers c JOIN orders o ON o.customer_id = c.id) AS j(a, x)'] },
    { name: 'the whole row of a join alias', texts: ['SELECT row_to_json(j) AS v FROM (customers c JOIN orders o ON o.customer_id = c.id) AS j'] },
    { name: 'the row of a JOIN ... USING (name) AS u', texts: ['SELECT u::text AS v FROM customers FULL JOIN (SELECT NULL::text AS name) n USING (name) AS u'] },
    { name: 'FETCH from a WITH HOLD cursor declared in an earlier Query', texts: ['DECLARE gw_hc CURSOR WITH HOLD FOR SELECT upper(name) AS v FROM customers', 'FETCH ALL FROM gw_hc'] },
    { name: 'FETCH in a transaction, one statement per Query', texts: ['BEGIN', "DECLARE gw_c CURSOR FOR SELECT name || '' AS v FROM customers", 'MOVE FORWARD 0 IN gw_c', 'FETCH 2 FROM gw_c'] },
    { name: 'FETCH through the extended protocol', texts: ['DECLARE gw_hc CURSOR WITH HOLD FOR SELECT lower(name) AS v FROM customers', { text: 'FETCH ALL FROM gw_hc', values: [] }] },
  ])('$name: masked', async ({ texts }) => {
    const rows = await rowsOf(...texts);
    expect(rows.length).toBeGreaterThan(0);
    expect(JSON.stringify(rows)).not.toMatch(ADA);
    expect(JSON.stringify(rows)).toMatch(/\*\*\* \*\*\*\*\*\*\*\*/);
  });

  it('FETCH from a protocol portal (Bind names it like a cursor) is masked as the bound statement, whatever a DECLARE of that name read', async () => {
    const c = fx.gateway();
    await c.connect();
    try {
      await c.query('DECLARE gw_portal CURSOR WITH HOLD FOR SELECT 1 AS v');
      await c.query('CLOSE gw_portal');
      await c.query('BEGIN');
      // One row through a named portal, then Sync: the portal stays open until the transaction ends.
      const bound = new pg.Query({ text: 'SELECT upper(name) AS v FROM customers ORDER BY id', values: [], portal: 'gw_portal', rows: 1 } as pg.QueryConfig);
      (bound as unknown as { handlePortalSuspended: (conn: { sync(): void }) => void }).handlePortalSuspended = (conn) => conn.sync();
      const first = (await c.query(bound as unknown as pg.QueryConfig)) as unknown as { rows: unknown[] } | undefined;
      const rest = await c.query('FETCH ALL FROM gw_portal');
      await c.query('COMMIT');
      expect(rest.rows.length).toBeGreaterThan(0);
      expect(JSON.stringify([first?.rows, rest.rows])).not.toMatch(/lovelace|builder|person/i);
    } finally {
      await c.end();
    }
  });

  it('storing a renamed ruled column, and FETCH from a cursor the gateway did not see declared, are refused', async () => {
    const before = await fx.counts();
    await expect(rowsOf('INSERT INTO orders (item, amount) SELECT f, 1 FROM customers t(a, f)')).rejects.toMatchObject({ code: '42501' });
    await expect(rowsOf("INSERT INTO orders (item, amount) SELECT u::text, 1 FROM customers JOIN (SELECT 'Ada Lovelace'::text AS name) n USING (name) AS u")).rejects.toMatchObject({ code: '42501' });
    await expect(rowsOf('BEGIN', 'FETCH ALL FROM gw_nowhere')).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/cursor "gw_nowhere" was not declared/) as unknown });
    expect(await fx.counts()).toEqual(before);
  });

  it.each([
    { name: 'a regoper cast (the value after a colon)', text: "SELECT replace(name, ' ', '_')::regoper FROM customers WHERE id = 1" },
    { name: "an XML parse error (libxml's detail repeats the text)", text: "SELECT ('<a>' || name || '</b>')::xml FROM customers WHERE id = 1" },
    { name: "a JSON parse error (the context shows the text up to the bad token)", text: "SELECT ('[' || replace(name, ' ', '_') || ']')::json FROM customers WHERE id = 1" },
    { name: 'an XML document without a tag', text: 'SELECT xmlparse(document name) FROM customers WHERE id = 1' },
  ])('an error of $name quotes no value of the ruled column', async ({ text }) => {
    const err = (await rowsOf(text).then(
      () => undefined,
      (e: unknown) => e,
    )) as (pg.DatabaseError & { where?: string }) | undefined;
    expect(err?.code).toMatch(/^(22|42|2200)/);
    const fields = { message: err?.message, detail: err?.detail, where: err?.where, hint: err?.hint };
    expect(JSON.stringify(fields)).not.toMatch(/ada|lovelace/i);
  });

  it('errors of statements that read no ruled column are left as the server wrote them', async () => {
    await expect(rowsOf("SELECT ('<a>' || item || '</b>')::xml FROM orders WHERE id = 1")).rejects.toMatchObject({ detail: expect.stringContaining('<a>book</b>') as unknown });
    await expect(rowsOf("SELECT item::regoper FROM orders WHERE id = 1")).rejects.toMatchObject({ message: 'operator does not exist: book' });
  });

  it('allowed: alias lists and cursors over columns without a rule read as before', async () => {
    expect(await rowsOf("SELECT i || '' AS v FROM orders AS o(a, b, c, i) WHERE a = 1")).toEqual([{ v: 'book' }]);
    expect(await rowsOf("SELECT o.item || '' AS v FROM orders o JOIN (SELECT 2 AS id) k USING (id)")).toEqual([{ v: 'pen' }]);
    expect(
      await rowsOf('BEGIN', 'DECLARE gw_o CURSOR FOR SELECT id, upper(item) AS v FROM orders ORDER BY id', 'MOVE FORWARD 1 IN gw_o', 'FETCH 1 FROM gw_o'),
    ).toEqual([{ id: 2, v: 'PEN' }]);
    // A cursor over the ruled table: its name column is masked, the others pass.
    expect(await rowsOf('DECLARE gw_all CURSOR WITH HOLD FOR SELECT id, name FROM customers ORDER BY id', 'FETCH 1 FROM gw_all')).toEqual([{ id: 1, name: '*** ********' }]);
  });
});
