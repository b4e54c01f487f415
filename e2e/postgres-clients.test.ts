import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client, CustomTypesConfig, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import { PG_POLICY, PII, startPgFixture, type PgFixture } from './support/pg-fixture.js';

const run = promisify(execFile);
const PGBIN = '/usr/lib/postgresql/15/bin';

/** Masked forms of the fixture's PII under the fixture policy (email/iban/phone partial, card/ssn full). */
/** A binary-format query (typed once: inline configs with `binary` confuse the overloads). */
const binaryQuery = <R extends QueryResultRow>(c: Client, config: QueryConfig): Promise<QueryResult<R>> =>
  c.query<R>({ ...config, binary: true } as QueryConfig);
/** Type parsers that hand every value over as it arrived (a Buffer in binary format). */
const RAW_VALUES = { getTypeParser: () => (value: unknown) => value } as unknown as CustomTypesConfig;

const MASKED_ADA = {
  email: 'a**@example.com',
  card: '**** **** **** ****',
  ssn: '***-**-****',
};

describe('postgres gateway with real clients: psql, node-postgres, pgbench', () => {
  let fx: PgFixture;
  let dir: string;
  let conn: string;
  let env: NodeJS.ProcessEnv;
  const psql = (args: string[]) => run('psql', [conn, '-X', '-v', 'ON_ERROR_STOP=1', ...args], { env, timeout: 20_000 });

  beforeAll(async () => {
    fx = await startPgFixture('clients');
    dir = mkdtempSync(join(tmpdir(), 'gw-pg-clients-'));
    conn = `host=127.0.0.1 port=${fx.stack.pgPort} dbname=${fx.resource} user=${fx.role} sslmode=require`;
    env = { ...process.env, PGPASSWORD: fx.token, PGCONNECT_TIMEOUT: '10' };
  }, 60_000);

  afterAll(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await fx?.close();
  });

  describe('psql', () => {
    it('\\dt and \\d list the tables and the columns', async () => {
      const dt = await psql(['-Atc', '\\dt']);
      expect(dt.stdout).toMatch(/public\|customers\|table/);
      expect(dt.stdout).toMatch(/public\|orders\|table/);
      const d = await psql(['-c', '\\d customers']);
      expect(d.stdout).toMatch(/email\s+\| text/);
      expect(d.stdout).toMatch(/card\s+\| character varying\(40\)/);
      expect(d.stdout).toContain('customers_pkey');
      const all = await psql(['-Atc', '\\d']);
      expect(all.stdout).toContain('orders_id_seq');
    });

    it('SELECT output is masked; a value failing Luhn and NULLs are left alone', async () => {
      const out = await psql(['-At', '-F', ',', '-c', 'SELECT email, card, ssn, iban, phone, note FROM customers ORDER BY id']);
      const lines = out.stdout.trim().split('\n');
      expect(lines).toHaveLength(3);
      for (const v of [...Object.values(PII.ada), ...Object.values(PII.bob)]) expect(out.stdout).not.toContain(v);
      const [email, card, ssn, iban, phone] = (lines[0] ?? '').split(',');
      expect({ email, card, ssn }).toEqual(MASKED_ADA);
      expect(iban).toBe('**** **** **** **** **54 32');
      expect(phone).toMatch(/^\+\* \*\*\*-\*\*\*-?0132$|0132$/);
      expect(lines[1]?.endsWith(`,${PII.notACard}`)).toBe(true);
      expect(lines[2]).toBe(',,,,,');
    });

    it('\\copy customers TO STDOUT is masked', async () => {
      const out = await psql(['-c', '\\copy customers (id, email, card, ssn) TO STDOUT']);
      expect(out.stdout.trim().split('\n')).toEqual(['1\ta**@example.com\t**** **** **** ****\t***-**-****', '2\tb**@example.org\t****-****-****-****\t***-**-****', '3\t\\N\t\\N\t\\N']);
    });

    it('\\copy in CSV is masked; binary COPY output is refused rather than passed unmasked', async () => {
      const csv = await psql(['-c', '\\copy (SELECT email, card FROM customers WHERE id = 1) TO STDOUT WITH (FORMAT csv)']);
      expect(csv.stdout.trim()).toBe(`${MASKED_ADA.email},${MASKED_ADA.card}`);
      const bin = await psql(['-c', `\\copy customers TO '${join(dir, 'bin.copy')}' WITH (FORMAT binary)`]).then(
        () => ({ stderr: '', failed: false }),
        (e: { stderr: string }) => ({ stderr: e.stderr, failed: true }),
      );
      expect(bin.failed).toBe(true);
      // Refused before it runs, as a statement (42501), not by ending the session.
      expect(bin.stderr).toMatch(/ERROR: {2}denied: COPY output in binary format cannot be masked, and masking applies to this statement; use FORMAT text or csv/);
      expect(bin.stderr).not.toMatch(/FATAL/);
    });

    it('a -f script runs statements in order and stops at the denied one', async () => {
      const file = join(dir, 'script.sql');
      writeFileSync(file, "SELECT 'first' AS step;\nDELETE FROM orders;\nSELECT 'never' AS step;\n");
      const res = await psql(['-At', '-f', file]).then(
        (r) => ({ ...r, code: 0 }),
        (e: { stdout: string; stderr: string; code: number }) => e,
      );
      expect(res.code).toBe(3);
      expect(res.stdout).toContain('first');
      expect(res.stdout).not.toContain('never');
      expect(res.stderr).toMatch(/denied by policy "no-destructive"/);
      expect((await fx.counts()).orders).toBe(3);
    });

    it('\\copy orders FROM a file inserts the rows (sql:insert is permitted)', async () => {
      const file = join(dir, 'orders.tsv');
      writeFileSync(file, '1001\t1\t7.50\tlamp\n1002\t2\t8.25\tchair\n');
      const out = await psql(['-c', `\\copy orders FROM '${file}'`]);
      expect(out.stdout).toContain('COPY 2');
      expect(await fx.directQuery('SELECT item FROM orders WHERE id > 1000 ORDER BY id')).toEqual([{ item: 'lamp' }, { item: 'chair' }]);
      await fx.directQuery('DELETE FROM orders WHERE id > 1000');
    });
  });

  describe('node-postgres', () => {
    it('simple, extended and named prepared queries are masked alike', async () => {
      const c = fx.gateway();
      await c.connect();
      try {
        const sql = 'SELECT email, card, ssn FROM customers WHERE id = 1';
        expect((await c.query(sql)).rows).toEqual([MASKED_ADA]);
        const ext = { text: 'SELECT email, card, ssn FROM customers WHERE id = $1', values: [1] };
        expect((await c.query(ext)).rows).toEqual([MASKED_ADA]);
        expect((await c.query({ ...ext, name: 'gw_named_sel' })).rows).toEqual([MASKED_ADA]);
        // The second execution reuses the prepared statement (Bind only): still masked.
        expect((await c.query({ ...ext, name: 'gw_named_sel' })).rows).toEqual([MASKED_ADA]);
      } finally {
        await c.end();
      }
    });

    it('binary results: text columns masked, numbers and dates intact', async () => {
      const c = fx.gateway();
      await c.connect();
      try {
        type Row = { id: number; email: string; card: string; n: number; born: Date; balance: number };
        const query = {
          text: 'SELECT id, email, card, id * 10 AS n, born::timestamp AS born, balance::float8 AS balance FROM customers WHERE id = $1',
          values: [2],
          binary: true,
        };
        const r = await c.query<Row>(query);
        expect(r.fields.map((f) => f.format)).toEqual(Array(6).fill('binary'));
        const row = r.rows[0];
        expect(row?.email).toBe('b**@example.org');
        expect(row?.card).toBe('****-****-****-****');
        // Non-text columns must arrive byte-identical: compare with the same binary query run directly.
        const d = await fx.direct();
        const directRow = (await d.query<Row>(query).finally(() => d.end())).rows[0];
        expect(directRow?.card).toBe(PII.bob.card);
        expect({ id: row?.id, n: row?.n, balance: row?.balance, born: row?.born.getTime() }).toEqual({
          id: 2,
          n: 20,
          balance: 10,
          born: directRow?.born.getTime(),
        });
      } finally {
        await c.end();
      }
    });

    it('derived values are masked: row_to_json, concat, casts, aliases; NULLs stay NULL', async () => {
      const c = fx.gateway();
      await c.connect();
      try {
        const j = await c.query<{ j: { email: string; card: string; ssn: string } }>('SELECT row_to_json(c) AS j FROM customers c WHERE id = 1');
        expect(j.rows[0]?.j).toMatchObject(MASKED_ADA);
        const cat = await c.query<{ x: string }>(`SELECT concat(email, '|', card) AS x FROM customers WHERE id = 1`);
        // Computed from columns named for masked entities: masked whole (partial styles as full).
        expect(cat.rows[0]?.x).toBe('***@*******.***|**** **** **** ****');
        const cast = await c.query<{ e: string; hidden: string }>('SELECT email::varchar AS e, ssn AS hidden FROM customers WHERE id = 2');
        expect(cast.rows[0]).toEqual({ e: 'b**@example.org', hidden: '***-**-****' });
        const upper = await c.query<{ u: string }>('SELECT upper(email) AS u FROM customers WHERE id = 1');
        expect(upper.rows[0]?.u).not.toContain('ADA@');
        const nul = await c.query('SELECT email, card, ssn, note FROM customers WHERE id = 3');
        expect(nul.rows[0]).toEqual({ email: null, card: null, ssn: null, note: null });
        const luhn = await c.query<{ note: string }>('SELECT note FROM customers WHERE id = 2');
        expect(luhn.rows[0]?.note).toBe(PII.notACard);
      } finally {
        await c.end();
      }
    });
  });

  describe('masking cannot be sidestepped through other shapes of the same value', () => {
    it('arrays, records and array_agg are masked', async () => {
      const c = fx.gateway();
      await c.connect();
      try {
        const arr = await c.query<{ a: string[] }>('SELECT ARRAY[email, card] AS a FROM customers WHERE id = 1');
        expect(arr.rows[0]?.a).toEqual([MASKED_ADA.email, MASKED_ADA.card]);
        const agg = await c.query<{ a: (string | null)[] }>('SELECT array_agg(email ORDER BY id) AS a FROM customers');
        expect(agg.rows[0]?.a).toEqual(['a**@example.com', 'b**@example.org', null]);
        const rec = await c.query<{ r: string }>('SELECT (email, ssn) AS r FROM customers WHERE id = 1');
        expect(rec.rows[0]?.r).toBe(`(${MASKED_ADA.email},${MASKED_ADA.ssn})`);
        // Numbers in arrays are left intact.
        const nums = await c.query<{ a: number[] }>('SELECT array_agg(id ORDER BY id) AS a FROM customers');
        expect(nums.rows[0]?.a).toEqual([1, 2, 3]);
      } finally {
        await c.end();
      }
    });

    it('pg_notify payloads are masked; one built from a column named for a masked entity is refused', async () => {
      const c = fx.gateway();
      const payloads: string[] = [];
      c.on('notification', (n) => payloads.push(n.payload ?? ''));
      await c.connect();
      try {
        await c.query('LISTEN gw_leak');
        await expect(c.query(`SELECT pg_notify('gw_leak', email || ' ' || card) FROM customers WHERE id = 1`)).rejects.toMatchObject({
          code: '42501',
          message: expect.stringContaining('beyond its result (in a notification)') as unknown,
        });
        await c.query(`SELECT pg_notify('gw_leak', '${PII.ada.email} ${PII.ada.card}')`);
        await expect.poll(() => payloads.length, { timeout: 2000 }).toBe(1);
        expect(payloads).toEqual([`${MASKED_ADA.email} ${MASKED_ADA.card}`]);
      } finally {
        await c.end();
      }
    });

    it('binary-format arrays and records are decoded and masked; a binary value it cannot read ends the session (0A000)', async () => {
      // The enum exists before the session starts: a type made during a session counts as user code there.
      const d = await fx.direct();
      await d.query(`DO $$ BEGIN CREATE TYPE gw_mood AS ENUM ('happy'); EXCEPTION WHEN duplicate_object THEN NULL; END $$`).finally(() => d.end());
      const c = fx.gateway();
      c.on('error', () => undefined);
      await c.connect();
      const arr = await binaryQuery<{ a: string[] }>(c, { text: 'SELECT ARRAY[email, card] AS a FROM customers WHERE id = $1', values: [1] });
      expect(arr.rows[0]?.a).toEqual([MASKED_ADA.email, MASKED_ADA.card]);
      const rec = await binaryQuery<{ r: Buffer }>(c, { text: 'SELECT ROW(id, email, ssn) AS r FROM customers WHERE id = $1', values: [1], types: RAW_VALUES });
      const bytes = rec.rows[0]?.r.toString('latin1') ?? '';
      expect(bytes).toContain(MASKED_ADA.email);
      expect(bytes).toContain(MASKED_ADA.ssn);
      for (const v of Object.values(PII.ada)) expect(bytes).not.toContain(v);
      const agg = await binaryQuery<{ a: Buffer }>(c, { text: 'SELECT array_agg(c) AS a FROM customers c WHERE id < $1', values: [3], types: RAW_VALUES });
      const aggBytes = agg.rows[0]?.a.toString('latin1') ?? '';
      for (const v of [...Object.values(PII.ada), ...Object.values(PII.bob)]) expect(aggBytes).not.toContain(v);
      expect(aggBytes).toContain(PII.notACard);
      // An enum's binary form is its bare label: nothing says it is text, so it is refused rather than passed.
      await expect(binaryQuery(c, { text: `SELECT 'happy'::gw_mood AS m, $1::int AS n`, values: [1] })).rejects.toMatchObject({ code: '0A000' });
      await c.end().catch(() => undefined);
    });

    it('values turned around or encoded by the query are masked: reverse(), ::bytea, encode() in hex and base64', async () => {
      const c = fx.gateway();
      await c.connect();
      try {
        const r = await c.query<{ rc: string; re: string; b: Buffer; h: string; b64: string }>(
          `SELECT reverse(card) AS rc, reverse(email) AS re, email::bytea AS b, encode(ssn::bytea, 'hex') AS h, encode(convert_to(card, 'UTF8'), 'base64') AS b64 FROM customers WHERE id = 1`,
        );
        const row = r.rows[0]!;
        // Values computed from columns named for masked entities are masked whole, in every encoding.
        expect(row.rc).toBe([...MASKED_ADA.card].reverse().join(''));
        expect(row.re).toBe([...'***@*******.***'].reverse().join(''));
        expect(row.b.toString('latin1')).toBe('***@*******.***');
        const views = [row.h, row.b64, Buffer.from(row.h, 'hex').toString('latin1'), Buffer.from(row.b64, 'base64').toString('latin1')];
        for (const value of [PII.ada.email, PII.ada.card, PII.ada.ssn, '4111', '8714']) for (const view of views) expect(view).not.toContain(value);
        // Encoded views of a value are scanned too where nothing in the statement reshapes a masked column.
        const plain = await c.query<{ h: string; b64: string }>(`SELECT encode(note::bytea, 'hex') AS h, encode(convert_to(note, 'UTF8'), 'base64') AS b64 FROM customers WHERE id = 2`);
        expect(Buffer.from(plain.rows[0]!.h, 'hex').toString('latin1')).toBe(PII.notACard);
        const bin = await binaryQuery<{ b: Buffer }>(c, { text: 'SELECT convert_to(email, $2) AS b FROM customers WHERE id = $1', values: [2, 'UTF8'] });
        expect(bin.rows[0]?.b.toString('latin1')).toBe('***@*******.***');
      } finally {
        await c.end();
      }
    });

    it('under a column rule, values computed from that column are masked whole (numbers become NULL); other columns pass', async () => {
      const withColumnRule = PG_POLICY.replace('@id("pg-read")', '@id("pg-read")\n@mask_columns("customers.ssn:full")');
      await fx.stack.activatePolicy(withColumnRule);
      try {
        const c = fx.gateway();
        await c.connect();
        try {
          // The agent applies a pushed policy to statements as they come: poll until the rule is in force.
          await expect
            .poll(async () => (await c.query<{ s: string }>('SELECT reverse(ssn) AS s FROM customers WHERE id = 2')).rows[0]?.s, { timeout: 5000 })
            .toBe('****-**-***');
          const r = await c.query<{ n: number | null; j: { ssn: string; name: string }; name: string; d: string }>(
            "SELECT replace(ssn, '-', '')::bigint AS n, row_to_json(c) AS j, name, ssn || '' AS d FROM customers c WHERE id = 1",
          );
          expect(r.rows[0]).toMatchObject({ n: null, name: 'Ada Lovelace', d: '***-**-****' });
          // JSON keeps its shape: every value is masked, the keys stay.
          expect(r.rows[0]?.j).toMatchObject({ id: null, ssn: '***-**-****', name: '*** ********' });
          // The same functions called in attribute notation: c.to_json is to_json(c), a whole row.
          // Every value of the row is masked, as for row_to_json(c): not only what a recognizer finds.
          const attribute = await c.query<{ to_json: { ssn: string }; row_to_json: { ssn: string }; quote_literal: string }>(
            'SELECT c.to_json, (c).row_to_json, c.quote_literal FROM customers c WHERE id = 1',
          );
          expect(attribute.rows[0]?.to_json).toMatchObject({ ssn: '***-**-****', name: '*** ********' });
          expect(attribute.rows[0]?.row_to_json).toMatchObject({ ssn: '***-**-****', name: '*** ********' });
          expect(attribute.rows[0]?.quote_literal).not.toContain('Ada Lovelace');
          const plain = await c.query<{ name: string; n: number }>('SELECT upper(name) AS name, count(*)::int AS n FROM customers GROUP BY name ORDER BY name LIMIT 1');
          expect(plain.rows[0]).toEqual({ name: 'ADA LOVELACE', n: 1 });
        } finally {
          await c.end();
        }
      } finally {
        await fx.stack.activatePolicy(PG_POLICY);
      }
    });

    it('a value of a ruled column is never kept in a setting or a notification, where the rule could not follow it', async () => {
      await fx.stack.activatePolicy(PG_POLICY.replace('@id("pg-read")', '@id("pg-read")\n@mask_columns("customers.ssn:full")'));
      try {
        const c = fx.gateway();
        await c.connect();
        const notified: string[] = [];
        c.on('notification', (n) => notified.push(n.payload ?? ''));
        try {
          const kept = "SELECT set_config('my.kept', ssn, false) FROM customers WHERE id = 1";
          await expect.poll(async () => c.query(kept).then(() => 'ran', (e: Error) => e.message), { timeout: 5000 }).toBe(
            'denied by policy "pg-read": the statement would keep a value of column ssn, which policy masks, beyond its result (in a setting), where the masking cannot follow it',
          );
          await expect(c.query("SELECT set_config('my.kept', (SELECT ssn FROM customers WHERE id = 1), true)")).rejects.toThrow(/column ssn, which policy masks/);
          // Nothing was kept: read back, the setting does not exist.
          expect((await c.query("SELECT current_setting('my.kept', true) AS v")).rows[0]).toEqual({ v: null });
          await c.query('LISTEN kept');
          await expect(c.query("SELECT pg_notify('kept', ssn) FROM customers WHERE id = 1")).rejects.toThrow(/beyond its result \(in a notification\)/);
          // Settings and notifications of other values go on as before, in the same session.
          expect((await c.query("SELECT set_config('application_name', 'nightly', false) AS v")).rows[0]).toEqual({ v: 'nightly' });
          await c.query("SELECT pg_notify('kept', name) FROM customers WHERE id = 1");
          await expect.poll(() => notified, { timeout: 5000 }).toEqual(['Ada Lovelace']);
          // Nor copied into another column or table by a write the policy allows (requesters may update).
          await expect(c.query('UPDATE customers SET note = ssn WHERE id = 1')).rejects.toThrow(
            'denied by policy "pg-read": the statement would keep a value of column ssn, which policy masks, beyond its result (in a table), where the masking cannot follow it',
          );
          await expect(c.query('INSERT INTO orders (customer_id, amount, item) SELECT id, 1, ssn FROM customers WHERE id = 1')).rejects.toThrow(/column ssn, which policy masks/);
          expect((await fx.directQuery<{ note: string }>('SELECT note FROM customers WHERE id = 1'))[0]?.note).toBe('vip');
          // Errors about a statement that reads the ruled column quote its values masked.
          await expect(c.query("SELECT (ssn || 'x')::int FROM customers WHERE id = 1")).rejects.toThrow('invalid input syntax for type integer: "***-**-*****"');
          await expect(c.query('SELECT name::int FROM customers WHERE id = 1')).rejects.toThrow('invalid input syntax for type integer: "Ada Lovelace"');
          // COPY rows carry no column names for the rule to go by: refused when they hold the ruled column.
          await expect(c.query('COPY customers TO STDOUT')).rejects.toThrow('denied by policy "pg-read": COPY output carries no column names');
          await expect(c.query('COPY (SELECT id, ssn FROM customers) TO STDOUT')).rejects.toThrow('COPY output carries no column names');
          // The planner's statistics sample every column's values: those are refused under masking.
          await fx.directQuery('ANALYZE customers');
          await expect(c.query("SELECT histogram_bounds FROM pg_stats WHERE tablename = 'customers' AND attname = 'ssn'")).rejects.toThrow(
            'denied by policy "pg-read": pg_stats holds samples of column values, which masking cannot tell apart by column; read its other columns',
          );
          expect((await c.query("SELECT n_distinct FROM pg_stats WHERE tablename = 'customers' AND attname = 'ssn'")).rows).toHaveLength(1);
          // Writing the ruled column back from itself keeps nothing elsewhere: allowed.
          expect((await c.query("UPDATE customers SET ssn = trim(ssn) WHERE id = 1")).rowCount).toBe(1);
          // Looking rows up by the masked column stores nothing of it.
          expect((await c.query("UPDATE customers SET note = note WHERE ssn = $1", [PII.ada.ssn])).rowCount).toBe(1);
        } finally {
          await c.end();
        }
      } finally {
        await fx.stack.activatePolicy(PG_POLICY);
      }
    });

    it('column rules hold through views: renamed, computed, view-on-view, materialized, subquery', async () => {
      await fx.directQuery(`
        CREATE VIEW people AS SELECT c.id, c.name AS who, upper(c.name) AS shout, c.balance FROM customers c;
        CREATE VIEW people2 AS SELECT who AS w, id FROM people;
        CREATE MATERIALIZED VIEW people_m AS SELECT * FROM customers;
        CREATE VIEW people_sub AS SELECT s.x FROM (SELECT name AS x FROM customers) s;
        CREATE VIEW balances AS SELECT id, balance FROM customers;
        GRANT SELECT ON people, people2, people_m, people_sub, balances TO ${fx.role};`);
      const withColumnRule = PG_POLICY.replace('@id("pg-read")', '@id("pg-read")\n@mask_columns("customers.name:full")');
      await fx.stack.activatePolicy(withColumnRule);
      try {
        const c = fx.gateway();
        await c.connect();
        try {
          const hidden = '*** ********'; // 'Ada Lovelace' in the full style
          await expect.poll(async () => (await c.query<{ who: string }>('SELECT who FROM people WHERE id = 1')).rows[0]?.who, { timeout: 5000 }).toBe(hidden);
          const r = await c.query('SELECT who, shout, id, balance FROM people WHERE id = 1');
          expect(r.rows[0]).toEqual({ who: hidden, shout: hidden, id: 1, balance: expect.any(String) as unknown });
          expect((await c.query('SELECT w FROM people2 WHERE id = 1')).rows[0]).toEqual({ w: hidden });
          expect((await c.query('SELECT name FROM people_m WHERE id = 1')).rows[0]).toEqual({ name: hidden });
          expect((await c.query('SELECT x FROM people_sub ORDER BY x LIMIT 1')).rows[0]).toEqual({ x: hidden });
          // Computed over a view's ruled column: masked whole; a number from it becomes NULL.
          expect((await c.query('SELECT lower(who) AS l, length(who) AS n FROM people WHERE id = 1')).rows[0]).toEqual({ l: hidden, n: null });
          // Extended protocol, same rules.
          expect((await c.query({ text: 'SELECT who FROM people2 p JOIN people q ON q.id = p.id WHERE p.id = $1', values: [1] })).rows[0]).toEqual({ who: hidden });
          // What the views take from unruled columns is left alone.
          const plain = await c.query<{ b: string; id: number }>('SELECT id, balance::text AS b FROM balances WHERE id = 1');
          expect(plain.rows[0]?.id).toBe(1);
          expect(plain.rows[0]?.b).toMatch(/^\d+\.\d\d$/);
        } finally {
          await c.end();
        }
      } finally {
        await fx.stack.activatePolicy(PG_POLICY);
      }
    });

    it('reading a view that calls user code counts as calling it (sql:procedural); plain views are reads', async () => {
      await fx.directQuery(`
        CREATE FUNCTION audit_touch() RETURNS int LANGUAGE sql AS 'SELECT 1';
        CREATE VIEW touched AS SELECT id, audit_touch() AS t FROM customers;
        CREATE VIEW touched_again AS SELECT id FROM touched;
        CREATE VIEW plain_ids AS SELECT id, abs(id) AS a FROM customers;
        GRANT SELECT ON touched, touched_again, plain_ids TO ${fx.role};`);
      const c = fx.gateway();
      await c.connect();
      try {
        for (const sql of ['SELECT * FROM touched', 'SELECT id FROM public.touched_again WHERE id = 1']) {
          await expect(c.query(sql), sql).rejects.toMatchObject({ code: '42501', message: expect.stringContaining('denied by policy "no-destructive"') as unknown });
        }
        expect((await c.query('SELECT a FROM plain_ids WHERE id = 2')).rows).toEqual([{ a: 2 }]);
      } finally {
        await c.end();
      }
    });

    it('values the server quotes in an error message are masked', async () => {
      const c = fx.gateway();
      await c.connect();
      try {
        await expect(c.query('SELECT email::int FROM customers WHERE id = 1')).rejects.toMatchObject({
          code: '22P02',
          message: 'invalid input syntax for type integer: "a**@example.com"',
        });
        await expect(c.query({ text: 'SELECT card::int FROM customers WHERE id = $1', values: [1] })).rejects.toMatchObject({
          code: '22P02',
          message: `invalid input syntax for type integer: "${MASKED_ADA.card}"`,
        });
      } finally {
        await c.end();
      }
    });
  });

  describe('pgbench', () => {
    const pgbench = (args: string[], password: string) =>
      run(`${PGBIN}/pgbench`, [...args, '-h', '127.0.0.1', '-p', String(fx.stack.pgPort), '-U', fx.role, fx.resource], {
        env: { ...env, PGPASSWORD: password, PGSSLMODE: 'require' },
        timeout: 60_000,
      }).catch((e: { stdout: string; stderr: string }) => ({ stdout: e.stdout, stderr: e.stderr, failed: true }));

    beforeAll(async () => {
      // Initialising is DDL (and VACUUM): a workload's policy forbids it, an administrator's allows it.
      const refused = await pgbench(['-i', '-q', '-s', '1'], fx.token);
      expect(refused).toMatchObject({ failed: true });
      expect(refused.stderr).toMatch(/denied by policy "no-destructive"/);
      const init = await pgbench(['-i', '-q', '-s', '1'], await fx.stack.cp.token('security-admin'));
      expect(init.stderr, init.stderr).toMatch(/done in [\d.]+ s/);
      expect(init).not.toHaveProperty('failed');
    }, 120_000);

    it('pgbench -i through the gateway made tables that outlive its session, owned by the requested role', async () => {
      const rows = await fx.directQuery<{ tablename: string; tableowner: string; n: string }>(
        `SELECT tablename, tableowner, (SELECT count(*) FROM pgbench_accounts)::text AS n FROM pg_tables WHERE tablename LIKE 'pgbench_%' ORDER BY tablename`,
      );
      expect(rows.map((r) => [r.tablename, r.tableowner])).toEqual(
        ['pgbench_accounts', 'pgbench_branches', 'pgbench_history', 'pgbench_tellers'].map((t) => [t, fx.role]),
      );
      expect(rows[0]?.n).toBe('100000');
    });

    it.each(['simple', 'extended', 'prepared'])('-M %s runs through the gateway with tps > 0 and no failures', async (mode) => {
      const out = await run(
        `${PGBIN}/pgbench`,
        ['-n', '-M', mode, '-T', '3', '-c', '2', '-h', '127.0.0.1', '-p', String(fx.stack.pgPort), '-U', fx.role, fx.resource],
        { env: { ...env, PGSSLMODE: 'require' }, timeout: 30_000 },
      ).catch((e: { stdout: string; stderr: string }) => ({ stdout: e.stdout, stderr: e.stderr }));
      const tps = /tps = ([\d.]+)/.exec(out.stdout);
      expect(Number(tps?.[1] ?? 0), out.stderr).toBeGreaterThan(0);
      expect(out.stdout).toMatch(/number of failed transactions: 0 \(/);
      expect(out.stdout).toMatch(new RegExp(`query mode: ${mode}`));
      expect(out.stderr).not.toMatch(/error|aborted/i);
    }, 30_000);
  });
});
