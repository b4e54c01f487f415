import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMysqlFixture, type MysqlFixture } from './support/mysql-fixture.js';

const POLICY = `
@id("my-connect") permit (principal, action == Gateway::Action::"connect", resource) when { principal.gatewayRoles.contains("requester") };
@id("my-read")
@mask("email:partial, card:full, ssn:full, phone:partial, iban:partial")
@mask_columns("*.salary:null, customers.name:hash")
permit (principal, action in [Gateway::Action::"sql:read", Gateway::Action::"sql:insert"], resource) when { principal.gatewayRoles.contains("requester") };
`;

/** Values that must never reach the client as they are, wherever they sit in a row. */
const CORPUS: [string, string][] = [
  ['card with spaces', '4111 1111 1111 1111'],
  ['card with dashes', '5500-0000-0000-0004'],
  ['card plain', '378282246310005'],
  ['ssn', '536-22-4971'],
  ['iban', 'DE89 3704 0044 0532 0130 00'],
  ['iban compact', 'GB82WEST12345698765432'],
  ['email', 'grace.hopper@example.com'],
  ['phone', '+44 20 7946 0958'],
  ['in free text', 'call me at +1 415 555 0100 or mail ada@example.org'],
  ['in JSON', '{"card":"4111111111111111","email":"x@example.net"}'],
];

describe('mysql masking corpus: text and binary protocol, column rules and recognizers', () => {
  let fx: MysqlFixture;

  beforeAll(async () => {
    fx = await startMysqlFixture('masking', { policy: POLICY });
    const d = await fx.direct();
    await d.query(`CREATE TABLE ${fx.db}.corpus (id int primary key, label varchar(40), value text, doc json, salary decimal(10,2), big bigint)`);
    let id = 0;
    for (const [label, value] of CORPUS) {
      id += 1;
      await d.query(`INSERT INTO ${fx.db}.corpus VALUES (?, ?, ?, JSON_OBJECT('v', ?), 1234.50, ?)`, [id, label, value, value, id === 1 ? 4111111111111111 : id]);
    }
    // Bare digits that only their column's name says are an SSN or a phone number.
    await d.query(`CREATE TABLE ${fx.db}.people (id int primary key, ssn varchar(20), ssn_num int, tax_id bigint, mobile_phone varchar(20), dashed_ssn varchar(20))`);
    await d.query(`INSERT INTO ${fx.db}.people VALUES (1, '536228714', 536228714, 772104321, '14155550132', '536-22-8714')`);
    await d.query(`CREATE UNIQUE INDEX customers_email ON ${fx.db}.customers (email)`);
    await d.end();
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
  });

  const raw = CORPUS.map(([, v]) => v);
  const leaks = (text: string): string[] => raw.flatMap((v) => [v, ...v.match(/[\w.+-]+@[\w.-]+|\d[\d -]{11,}\d/g) ?? []]).filter((v) => text.includes(v));

  it.each([
    ['text protocol', false],
    ['binary protocol (prepared)', true],
  ])('%s: no corpus value reaches the client; labels, ids and other numbers do', async (_name, prepared) => {
    const c = await fx.gateway();
    try {
      const sql = 'SELECT id, label, value, doc, salary, big FROM corpus WHERE id > ? ORDER BY id';
      const [rows] = prepared ? await c.execute(sql, [0]) : await c.query(sql, [0]);
      const list = rows as { id: number; label: string; value: string; doc: unknown; salary: unknown; big: unknown }[];
      expect(list.map((r) => r.label)).toEqual(CORPUS.map(([label]) => label));
      expect(leaks(JSON.stringify(list))).toEqual([]);
      // Column rule `*.salary:null`: NULL whatever the protocol; a bigint that is a card number: NULL too.
      expect(list.every((r) => r.salary === null)).toBe(true);
      expect(list[0]!.big).toBeNull();
      expect(String(list[1]!.big)).toBe('2');
      expect(list.find((r) => r.label === 'email')!.value).toBe('g***********@example.com');
    } finally {
      await c.end();
    }
  });

  it('a hash column rule on an expression of the column masks it as derived; computed values are scanned backwards', async () => {
    const c = await fx.gateway();
    try {
      const [rows] = await c.query("SELECT name, CONCAT(name, '') AS copy, REVERSE(card) AS backwards FROM customers WHERE id = 1");
      const [row] = rows as { name: string; copy: string; backwards: string }[];
      expect(row!.name).toMatch(/^h:[0-9a-f]{16}$/);
      expect(row!.copy).not.toBe('Ada');
      expect(row!.backwards).not.toContain('1111 1111 1111 4');
    } finally {
      await c.end();
    }
  });

  it.each([
    ['text protocol', false],
    ['binary protocol (prepared)', true],
  ])('%s: bare digits in columns named ssn / tax_id / mobile_phone (text and numbers) and expressions over them are masked', async (_name, prepared) => {
    const c = await fx.gateway();
    try {
      const sql = "SELECT id, ssn, ssn_num, tax_id, mobile_phone, REPLACE(dashed_ssn, '-', '') AS digits FROM people WHERE id = ?";
      const [rows] = prepared ? await c.execute(sql, [1]) : await c.query(sql, [1]);
      expect(rows).toEqual([{ id: 1, ssn: '*********', ssn_num: null, tax_id: null, mobile_phone: '*******0132', digits: '*********' }]);
    } finally {
      await c.end();
    }
  });

  it.each([
    ['text protocol', false],
    ['binary protocol (prepared)', true],
  ])('%s: values a server error quotes are masked (a duplicate key; an XPATH error over a column)', async (_name, prepared) => {
    const c = await fx.gateway();
    const run = (sql: string) => (prepared ? c.execute(sql, [1]) : c.query(sql, [1]));
    try {
      // (MariaDB prepares only constant XPath: this one goes over the text protocol in both cases.)
      await expect(c.query("SELECT EXTRACTVALUE('<a/>', CONCAT('~', (SELECT email FROM customers WHERE id = 1)))")).rejects.toMatchObject({
        errno: 1105,
        sqlState: 'HY000',
        // Computed from a column named for a masked entity: masked whole.
        message: "XPATH syntax error: '~***@*******.***'",
      });
      await expect(run('INSERT INTO customers (id, email) SELECT 10, email FROM customers WHERE id = ?')).rejects.toMatchObject({
        errno: 1062,
        sqlState: '23000',
        message: "Duplicate entry 'a**@example.com' for key 'customers_email'",
      });
      // The session goes on.
      const [rows] = await c.query('SELECT email FROM customers WHERE id = 1');
      expect(rows).toEqual([{ email: 'a**@example.com' }]);
    } finally {
      await c.end();
    }
  });

  it('a ruled or name-hinted column is never kept in a user variable; derived tables are masked like expressions', async () => {
    const c = await fx.gateway();
    try {
      for (const sql of [
        'SELECT salary INTO @kept FROM corpus WHERE id = 1',
        'SELECT salary FROM corpus WHERE id = 1 INTO @kept',
        'SELECT @kept := salary FROM corpus WHERE id = 1',
        'SET @kept = (SELECT name FROM customers WHERE id = 1)',
        'SELECT ssn INTO @kept FROM people WHERE id = 1',
      ]) {
        await expect(c.query(sql), sql).rejects.toMatchObject({ errno: 1142, message: expect.stringMatching(/^denied by policy "my-read": the statement would keep a value of column (salary|name|ssn), which policy masks, beyond its result \(in a user variable\)/) });
      }
      // Nor copied into another table by a write the policy allows (sql:insert).
      await expect(c.query("INSERT INTO corpus (id, label) SELECT 100, name FROM customers WHERE id = 1")).rejects.toMatchObject({
        errno: 1142,
        message: expect.stringContaining('would keep a value of column name, which policy masks, beyond its result (in a table)'),
      });
      await c.query("INSERT INTO corpus (id, label) SELECT 101, 'copied' FROM customers WHERE name = 'Ada'");
      expect((await c.query('SELECT id, label FROM corpus WHERE id >= 100'))[0]).toEqual([{ id: 101, label: 'copied' }]);
      // Nothing was kept; variables of other values work as before.
      expect((await c.query('SELECT @kept AS v'))[0]).toEqual([{ v: null }]);
      await c.query('SELECT id INTO @id FROM corpus WHERE id = 2');
      expect((await c.query('SELECT label FROM corpus WHERE id = @id'))[0]).toEqual([{ label: 'card with dashes' }]);
      // The server names a derived table's alias as a column's source (`d.x`), not the table it reads.
      const [derived] = await c.query('SELECT x, y FROM (SELECT salary AS x, salary * 1 AS y FROM corpus WHERE id = 1) d');
      expect(derived).toEqual([{ x: null, y: null }]);
      const [renamed] = await c.execute('SELECT x FROM (SELECT ssn AS x FROM people WHERE id = ?) d', [1]);
      expect(renamed).toEqual([{ x: '*********' }]);
      const [named] = await c.query('SELECT w.n FROM (SELECT name AS n FROM customers WHERE id = 1) w');
      expect((named as { n: string }[])[0]!.n).toMatch(/^h:[0-9a-f]{16}$/);
      const [cte] = await c.query('WITH w AS (SELECT name AS n, id FROM customers WHERE id = 1) SELECT n FROM w');
      expect((cte as { n: string }[])[0]!.n).toMatch(/^h:[0-9a-f]{16}$/);
    } finally {
      await c.end();
    }
  });

  it('column rules hold through views (renamed, computed, a view on a view); a view\'s other columns are followed to their own source', async () => {
    const d = await fx.direct();
    try {
      await d.query(`CREATE VIEW ${fx.db}.people_v AS SELECT id, name AS who, UPPER(name) AS shout FROM ${fx.db}.customers`);
      await d.query(`CREATE VIEW ${fx.db}.people_v2 AS SELECT who, id FROM ${fx.db}.people_v`);
      await d.query(`CREATE VIEW ${fx.db}.labels_v AS SELECT id, label FROM ${fx.db}.corpus`);
      await d.query(`CREATE VIEW ${fx.db}.pay_v AS SELECT d.x AS x, d.id AS id FROM (SELECT salary AS x, id FROM ${fx.db}.corpus) d`);
    } finally {
      await d.end();
    }
    // Views are read when a session starts.
    const c = await fx.gateway();
    try {
      const hashed = /^h:[0-9a-f]{16}$/;
      const [direct] = await c.query('SELECT name FROM customers WHERE id = 1');
      const [viewed] = await c.query('SELECT who, shout FROM people_v WHERE id = 1');
      const row = (viewed as { who: string; shout: string }[])[0]!;
      expect(row.who).toBe((direct as { name: string }[])[0]!.name);
      expect(row.shout).toMatch(hashed);
      const [twice] = await c.execute('SELECT who FROM people_v2 WHERE id = ?', [1]);
      expect((twice as { who: string }[])[0]!.who).toBe(row.who);
      // The view's id is followed to customers.id, which no rule names (text and binary protocol, and
      // through the view on the view); a view over unruled columns is left alone.
      expect((await c.query('SELECT id, who FROM people_v WHERE id = 1'))[0]).toEqual([{ id: 1, who: row.who }]);
      expect((await c.execute('SELECT id FROM people_v2 WHERE id = ?', [1]))[0]).toEqual([{ id: 1 }]);
      expect((await c.query('SELECT id, label FROM labels_v WHERE id = 2'))[0]).toEqual([{ id: 2, label: 'card with dashes' }]);
      // Under an alias and beside another table too: the statement binds the alias to the view alone.
      expect((await c.query('SELECT v.id FROM people_v v WHERE v.id = 1'))[0]).toEqual([{ id: 1 }]);
      expect((await c.query('SELECT p.id, p.who FROM people_v p JOIN corpus ON corpus.id = p.id WHERE p.id = 1'))[0]).toEqual([{ id: 1, who: row.who }]);
      // The server names a derived table's or a CTE's columns after its alias, which can be a view's
      // name (even the view it reads): such a name is not followed, and the view's columns are masked
      // in the rule's style as before (the safe mistake). So is a name bound to two things.
      expect((await c.query('SELECT people_v.id FROM (SELECT name AS id FROM customers WHERE id = 1) AS people_v'))[0]).toEqual([{ id: row.who }]);
      expect((await c.query('SELECT people_v.id FROM (SELECT who AS id FROM people_v WHERE id = 1) AS people_v'))[0]).toEqual([{ id: row.who }]);
      expect((await c.query('WITH people_v AS (SELECT who AS id FROM people_v WHERE id = 1) SELECT id FROM people_v'))[0]).toEqual([{ id: row.who }]);
      expect((await c.query('SELECT x.id FROM people_v x WHERE x.id = 1 AND EXISTS (SELECT 1 FROM (SELECT 1 AS one) x)'))[0]).toEqual([{ id: expect.stringMatching(hashed) as unknown }]);
      expect((await c.query('SELECT x, id FROM pay_v WHERE id = 1'))[0]).toEqual([{ x: null, id: null }]);
      // Nor kept through a view where the rule cannot follow it.
      await expect(c.query('SELECT who INTO @who FROM people_v WHERE id = 1')).rejects.toMatchObject({ errno: 1142, message: expect.stringContaining('column name, which policy masks') });
      await expect(c.query('INSERT INTO corpus (id, label) SELECT 200, who FROM people_v WHERE id = 1')).rejects.toMatchObject({ errno: 1142, message: expect.stringContaining('(in a table)') });
    } finally {
      await c.end();
    }
  });

  it('warnings and errors about a statement that reads a ruled column quote its values masked', async () => {
    const c = await fx.gateway();
    try {
      await c.query("SELECT CAST(CONCAT(salary, 'x') AS DOUBLE) AS v FROM corpus WHERE id = 1");
      expect((await c.query('SHOW WARNINGS'))[0]).toEqual([{ Level: 'Warning', Code: 1292, Message: "Truncated incorrect DOUBLE value: '****.***'" }]);
      // A statement that reads no ruled column makes the warnings its own: shown as they are.
      await c.query("SELECT CAST('12x' AS DOUBLE) AS v");
      expect((await c.query('SHOW WARNINGS'))[0]).toEqual([{ Level: 'Warning', Code: 1292, Message: "Truncated incorrect DOUBLE value: '12x'" }]);
    } finally {
      await c.end();
    }
    // The mariadb client shows warnings itself (--show-warnings), and an error quoting a hashed name.
    const warned = await fx.cli("SELECT CAST(CONCAT(salary, 'x') AS DOUBLE) AS v FROM corpus WHERE id = 1", ['--show-warnings']);
    expect(`${warned.stdout}${warned.stderr}`).toContain("Truncated incorrect DOUBLE value: '****.***'");
    expect(`${warned.stdout}${warned.stderr}`).not.toContain('1234.50');
    const failed = await fx.cli("SELECT EXTRACTVALUE('<a/>', CONCAT('~', (SELECT name FROM customers WHERE id = 1)))").then(
      () => '',
      (e: { stderr: string }) => e.stderr,
    );
    expect(failed).toContain("XPATH syntax error: '~***'");
  });

  it('the mariadb client: an error quoting a value shows it masked', async () => {
    const failed = await fx.cli('INSERT INTO customers (id, email) SELECT 11, email FROM customers WHERE id = 1').then(
      () => '',
      (e: { stderr: string }) => e.stderr,
    );
    expect(failed).toContain("ERROR 1062 (23000) at line 1: Duplicate entry 'a**@example.com' for key 'customers_email'");
    expect(failed).not.toContain('ada@example.com');
  });

  it('the mariadb client: what is left of a value MariaDB cut short in an error (then ...) is masked too', async () => {
    // XPATH errors quote about 30 characters and mark the cut: `ada@exa...` is too short for the e-mail recognizer.
    const failed = await fx.cli("SELECT EXTRACTVALUE('<a/>', CONCAT('~', REPEAT('x', 20), ' ', (SELECT email FROM customers WHERE id = 1)))").then(
      () => '',
      (e: { stderr: string }) => e.stderr,
    );
    // Computed from a column named for a masked entity: every quoted value is masked whole, the cut one too.
    expect(failed).toContain(`ERROR 1105 (HY000) at line 1: XPATH syntax error: '~${'*'.repeat(20)} ***@***...'`);
    expect(failed).not.toContain('ada@exa');
  });

  it('values sent back in a wide encoding are masked too: character_set_results = utf16, or binary with CONVERT(... USING utf16/utf32)', async () => {
    const c = await fx.gateway();
    try {
      const narrow = (v: unknown): string => Buffer.from(Buffer.from(v as Buffer).filter((b) => b !== 0)).toString('latin1');
      await c.query('SET character_set_results = binary');
      const sql = "SELECT CONVERT(value USING utf16) AS be, CONVERT(value USING utf16le) AS le, CONVERT(value USING utf32) AS u32, HEX(CONVERT(value USING ucs2)) AS hx FROM corpus WHERE label IN ('email', 'card with spaces') ORDER BY id";
      for (const prepared of [false, true]) {
        const [rows] = prepared ? await c.execute({ sql, rowsAsArray: true }) : await c.query({ sql, rowsAsArray: true });
        const [card, email] = rows as unknown[][];
        for (const v of email!.slice(0, 3)) expect(narrow(v)).toBe('g***********@example.com');
        for (const v of card!.slice(0, 3)) expect(narrow(v)).toBe('**** **** **** ****');
        expect(narrow(Buffer.from(String(email![3]), 'hex'))).toBe('g***********@example.com');
      }
      await c.query('SET character_set_results = utf16');
      const [rows] = await c.query({ sql: "SELECT value FROM corpus WHERE label = 'email'", rowsAsArray: true });
      expect(JSON.stringify(rows)).not.toContain('grace.hopper');
      expect((rows as string[][])[0]![0]).toBe('g***********@example.com');
    } finally {
      await c.end();
    }
  });
});
