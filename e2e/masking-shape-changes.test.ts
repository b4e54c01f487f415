import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPgFixture, type PgFixture } from './support/pg-fixture.js';
import { startMysqlFixture, type MysqlFixture } from './support/mysql-fixture.js';

/**
 * Entity masking finds a value by its shape; an expression can change the shape so that no
 * recognizer finds it (`replace(email, '@', ' at ')`, `translate(ssn, ...)`, a card cut into pieces).
 * A value computed from a column named for a masked entity (email, ssn, card, iban, phone ...) is
 * masked whole in that entity's style, against the real Postgres and MariaDB through the gateway;
 * numbers computed from such a column (a count) stay readable.
 */

/** Pieces of Ada's values no masked result may contain. */
const PIECES = ['ada', 'example', '4111', '1111', '536', '8714', 'WEST', '5698', '415', '0132'];
const leaks = (rows: unknown): string[] => {
  const text = JSON.stringify(rows);
  return PIECES.filter((piece) => text.toLowerCase().includes(piece.toLowerCase()));
};

describe('postgres: values computed from entity-named columns are masked whole', () => {
  let fx: PgFixture;
  beforeAll(async () => {
    fx = await startPgFixture('shapes');
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
  });

  const rowsOf = async (text: string): Promise<unknown[]> => {
    const c = fx.gateway();
    await c.connect();
    try {
      return (await c.query(text)).rows;
    } finally {
      await c.end();
    }
  };

  it.each([
    "SELECT replace(email, '@', ' at ') AS v FROM customers WHERE id = 1",
    "SELECT split_part(email, '@', 1) AS a, split_part(email, '@', 2) AS b FROM customers WHERE id = 1",
    "SELECT translate(ssn, '0123456789', 'abcdefghij') AS v FROM customers WHERE id = 1",
    'SELECT substr(ssn, 1, 3) AS a, substr(ssn, 5, 2) AS b, substr(ssn, 8) AS c FROM customers WHERE id = 1',
    "SELECT (regexp_split_to_array(ssn, '-'))[3] AS v FROM customers WHERE id = 1",
    'SELECT string_to_array(card, NULL) AS v FROM customers WHERE id = 1',
    "SELECT substr(card, 1, 4) || '/' || substr(card, 6, 4) AS v FROM customers WHERE id = 1",
    "SELECT encode(convert_to(translate(card, ' ', ''), 'UTF8'), 'hex') AS v FROM customers WHERE id = 1",
    "SELECT json_build_object('user', split_part(email, '@', 1), 'iban', lower(iban)) AS v FROM customers WHERE id = 1",
    "SELECT string_agg(substr(phone, 4, 3), ',') AS v FROM customers WHERE id = 1",
    "SELECT initcap(reverse(replace(email, '.', ' '))) AS v FROM customers WHERE id = 1",
    "SELECT x FROM (SELECT replace(email, '@', '#') AS x FROM customers WHERE id = 1) s",
    "SELECT replace(x, '@', '#') AS v FROM (SELECT email AS x FROM customers WHERE id = 1) s",
    "WITH t AS (SELECT ssn AS s FROM customers WHERE id = 1) SELECT translate(s, '0123456789', 'abcdefghij') AS v FROM t",
    "SELECT replace((SELECT email FROM customers WHERE id = 1), '@', '#') AS v",
    "SELECT repeat('-', 9) || substr(email, 1, 4) AS v FROM customers WHERE id = 1",
    "SELECT replace(row_to_json(c)->>'email', '@', '#') AS v FROM customers c WHERE id = 1",
    "SELECT translate(c::text, '0123456789@', 'abcdefghij#') AS v FROM customers c WHERE id = 1",
  ])('%s', async (text) => {
    const rows = await rowsOf(text);
    expect(rows).toHaveLength(1);
    expect(leaks(rows)).toEqual([]);
  });

  it('the extended protocol (parameters, binary results) masks the same way', async () => {
    const c = fx.gateway();
    await c.connect();
    try {
      const text = { text: "SELECT replace(email, '@', $1) AS v, substr(ssn, $2, 3) AS w FROM customers WHERE id = $3", values: ['#', 1, 1] };
      const rows = (await c.query(text)).rows;
      expect(rows).toHaveLength(1);
      expect(leaks(rows)).toEqual([]);
      const binaryQuery: pg.QueryConfig = { ...text, binary: true } as pg.QueryConfig;
      const binary = (await c.query(binaryQuery)).rows as { v: Buffer | string }[];
      expect(leaks(binary.map((r) => String(r.v)))).toEqual([]);
    } finally {
      await c.end();
    }
  });

  it('a whole row passed on as it is is scanned, not masked whole', async () => {
    const [row] = (await rowsOf('SELECT row_to_json(c) AS j FROM customers c WHERE id = 1')) as { j: Record<string, unknown> }[];
    expect(row!.j).toMatchObject({ id: 1, name: 'Ada Lovelace', email: 'a**@example.com', ssn: '***-**-****' });
  });

  it('plain reads keep the entity style, other columns and counts stay readable', async () => {
    expect(await rowsOf('SELECT email, upper(name) AS n FROM customers WHERE id = 1')).toEqual([{ email: 'a**@example.com', n: 'ADA LOVELACE' }]);
    expect(await rowsOf("SELECT count(*)::int AS n FROM customers WHERE email LIKE '%@example.com'")).toEqual([{ n: 1 }]);
    expect(await rowsOf('SELECT length(name) AS n FROM customers WHERE id = 1')).toEqual([{ n: 12 }]);
    // A computed value is also read backwards, but a zero-padded id (pg_export_snapshot's, which pg_dump -j
    // hands to its workers) is no reversed card.
    expect(await rowsOf("SELECT '00000001-00024E9C-1' || '' AS v")).toEqual([{ v: '00000001-00024E9C-1' }]);
  });
});

describe('mysql: values computed from entity-named columns are masked whole', () => {
  let fx: MysqlFixture;
  beforeAll(async () => {
    fx = await startMysqlFixture('shapes', {
      policy: `
@id("my-connect") permit (principal, action == Gateway::Action::"connect", resource) when { principal.gatewayRoles.contains("requester") };
@id("my-read") @mask("email:partial, card:full, ssn:full, phone:partial, iban:partial")
permit (principal, action in Gateway::Action::"sql:read", resource) when { principal.gatewayRoles.contains("requester") };`,
    });
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
  });

  it.each([
    ['text protocol', false],
    ['binary protocol (prepared)', true],
  ])('%s: shape-changing expressions over email, card and phone are masked', async (_name, prepared) => {
    const c = await fx.gateway();
    try {
      for (const sql of [
        "SELECT REPLACE(email, '@', ' at ') AS v FROM customers WHERE id = ?",
        "SELECT SUBSTRING_INDEX(email, '@', 1) AS a, SUBSTRING_INDEX(email, '@', -1) AS b FROM customers WHERE id = ?",
        "SELECT CONCAT_WS('/', SUBSTR(card, 1, 4), SUBSTR(card, 6, 4)) AS v FROM customers WHERE id = ?",
        'SELECT HEX(card) AS v FROM customers WHERE id = ?',
        'SELECT TO_BASE64(REVERSE(email)) AS v FROM customers WHERE id = ?',
        "SELECT JSON_OBJECT('user', SUBSTRING_INDEX(email, '@', 1)) AS v FROM customers WHERE id = ?",
        "SELECT INSERT(email, 4, 1, '#') AS v FROM customers WHERE id = ?",
        'SELECT GROUP_CONCAT(SUBSTR(phone, 4, 3)) AS v FROM customers WHERE id = ?',
        "SELECT REPLACE(x, '@', '#') AS v FROM (SELECT email AS x FROM customers WHERE id = ?) d",
        "SELECT CONCAT(REPEAT('-', 9), SUBSTR(email, 1, 4)) AS v FROM customers WHERE id = ?",
      ]) {
        const [rows] = prepared ? await c.execute(sql, [1]) : await c.query(sql, [1]);
        expect({ sql, leaks: leaks(rows) }).toEqual({ sql, leaks: [] });
      }
      const [plain] = prepared
        ? await c.execute("SELECT email, UPPER(name) AS n, (SELECT COUNT(*) FROM customers WHERE email LIKE '%@example.com') AS k FROM customers WHERE id = ?", [1])
        : await c.query("SELECT email, UPPER(name) AS n, (SELECT COUNT(*) FROM customers WHERE email LIKE '%@example.com') AS k FROM customers WHERE id = ?", [1]);
      expect(plain).toEqual([{ email: 'a**@example.com', n: 'ADA', k: 1 }]);
    } finally {
      await c.end();
    }
  });

  it('a warning quoting a shape-changed value is masked (SHOW WARNINGS after a failed cast)', async () => {
    const out = await fx.cli("SELECT CAST(REPLACE(email, '@', '#') AS DOUBLE) AS v FROM customers WHERE id = 1; SHOW WARNINGS", []);
    expect(out.stdout).toMatch(/Truncated incorrect/);
    expect(leaks(out.stdout)).toEqual([]);
  });
});


