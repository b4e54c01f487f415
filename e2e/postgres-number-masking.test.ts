import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Client, QueryConfig } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PII, startPgFixture, type PgFixture } from './support/pg-fixture.js';
import { authenticate, cstr, frame, messages } from './support/pg-raw.js';
import { latestSession, sessionEvents } from './support/session-events.js';

const run = promisify(execFile);

/**
 * The security issue's attacks, against the real Postgres through the gateway, under the demo policy's
 * masking ("email:partial, card:full, ssn:full, phone:partial, iban:partial", no region configured):
 * PII cast to numbers, written with other separators or compatibility characters, in text (psql) and
 * binary (node-postgres) results, COPY TO STDOUT and the recording.
 */

// The fixture rows: Ada (id 1) card '4111 1111 1111 1111', ssn '536-22-8714', phone '+1 415-555-0132';
// Bob (id 2) card '5555-5555-5555-4444', phone '+44 20 7946 0958', iban 'DE89370400440532013000'.
// psql -At prints NULL as an empty field.
const DIGITS = "regexp_replace(card, '\\D', '', 'g')";
const TEXT_CASES: readonly (readonly [name: string, expr: string, id: 1 | 2, expected: string])[] = [
  // numbers (the masked number is NULL)
  ['card ::bigint', `${DIGITS}::bigint`, 1, ''],
  ['card ::int8, negated', `-(${DIGITS}::int8)`, 1, ''],
  ['card ::numeric', `${DIGITS}::numeric`, 2, ''],
  ['card ::numeric(20,1) (fraction .0)', `${DIGITS}::numeric(20,1)`, 1, ''],
  ['card ::numeric / 1000', `${DIGITS}::numeric / 1000`, 1, ''],
  ['card ::float8', `${DIGITS}::float8`, 1, ''],
  ['card ::money', `${DIGITS}::numeric::money`, 1, ''],
  ['card in bigint[]', `ARRAY[${DIGITS}::bigint, 7]`, 1, '{NULL,7}'],
  ['card in numeric[]', `ARRAY[${DIGITS}::numeric, 7.5]`, 2, '{NULL,7.5}'],
  ['card in a JSON number', `json_build_object('pan', ${DIGITS}::bigint, 'n', 1)::text`, 1, '{"***" : ****************, "*" : *}'],
  ['card in a json value', `json_build_object('pan', ${DIGITS}::bigint, 'n', 1)`, 1, '{"pan":null,"n":null}'],
  ['card in a jsonb value', `jsonb_build_object('pan', ${DIGITS}::bigint)`, 2, '{"pan":null}'],
  ['SSN ::int (hint from the statement)', "regexp_replace(ssn, '\\D', '', 'g')::int", 1, ''],
  ['SSN as bare digits (hint)', "regexp_replace(ssn, '\\D', '', 'g')", 1, '*********'],
  ['phone ::bigint (E.164 without +)', "regexp_replace(phone, '\\D', '', 'g')::bigint", 1, ''],
  ['phone ::numeric', "regexp_replace(phone, '\\D', '', 'g')::numeric", 2, ''],
  // other separators and formats
  ['card with dots', `replace(card, ' ', '.')`, 1, '****.****.****.****'],
  ['card with underscores', `replace(card, '-', '_')`, 2, '****_****_****_****'],
  ['card with slashes', `replace(card, ' ', '/')`, 1, '****/****/****/****'],
  ['card with mixed separators', `overlay(card placing '.' from 10 for 1)`, 1, '**** ****.**** ****'],
  ['card in fullwidth digits', `translate(card, '0123456789', '０１２３４５６７８９')`, 1, '**** **** **** ****'],
  ['IBAN with dashes', "regexp_replace(iban, '(.{4})(?!$)', '\\1-', 'g')", 2, '****-****-****-****-****-**'],
  ['IBAN lower case with spaces', "lower(regexp_replace(iban, '(.{4})(?!$)', '\\1 ', 'g'))", 2, '**** **** **** **** **** **'],
  ['SSN with dots', "replace(ssn, '-', '.')", 1, '***.**.****'],
  ['SSN with spaces', "replace(ssn, '-', ' ')", 1, '*** ** ****'],
  ['phone with 00 prefix', "replace(phone, '+', '00')", 2, '**** ** **** ****'],
  ['phone in national format, no region', "'(415) 555-' || right(phone, 4)", 1, '(***) ***-****'],
  ['phone with an extension', "phone || ' ext. 12'", 1, '+* ***-***-**** ***. **'],
  ['e-mail, one-letter local part', "'x@' || split_part(email, '@', 2)", 1, '*@*******.***'],
  ['e-mail upper case', 'upper(email)', 1, '***@*******.***'],
  ['e-mail with +tag', "replace(email, '@', '+news@')", 1, '***+****@*******.***'],
  ['e-mail with fullwidth @', "replace(email, '@', '＠')", 1, '***＠*******.***'],
  ['e-mail quoted local part', `'"ada lovelace"@' || split_part(email, '@', 2)`, 1, '"*** ********"@*******.***'],
  ['e-mail IDN domain', "'ada@bücher.de'", 1, '***@******.**'],
  ['e-mail punycode TLD', "'ada@xn--e1afmkfd.xn--p1ai'", 1, '***@**--********.**--****'],
  // numbers that must stay: ids, counts, timestamps, 16 digits failing Luhn, the fixture's non-card
  ['16 digits failing Luhn', '1234567812345678::bigint', 1, '1234567812345678'],
  ['note failing Luhn ::bigint', "replace(note, ' ', '')::bigint", 2, '4111111111111112'],
  ['epoch milliseconds', "(extract(epoch from timestamp '2024-12-06 00:00') * 1000)::bigint", 1, '1733443200000'],
  ['id and a count', "id * 1000000 + (SELECT count(*) FROM orders)", 1, '1000003'],
];

const NUMBERS_TABLE = `
  CREATE TABLE pii_numbers (id int PRIMARY KEY, ssn int, mobile_phone bigint, card numeric, card_total money, ids bigint[]);
  INSERT INTO pii_numbers VALUES (1, 536228714, 14155550132, 4111111111111111, 4111111111111111, ARRAY[5555555555554444, 42]);
`;

describe('numbers and spelled-out variants through the gateway (psql, node-postgres binary, COPY, recording)', () => {
  let fx: PgFixture;
  let conn: string;
  let env: NodeJS.ProcessEnv;
  const psql = (args: string[]) => run('psql', [conn, '-X', '-v', 'ON_ERROR_STOP=1', ...args], { env, timeout: 20_000 });

  beforeAll(async () => {
    fx = await startPgFixture('numbers');
    await fx.directQuery(`${NUMBERS_TABLE} GRANT SELECT ON pii_numbers TO ${fx.role};`);
    conn = `host=127.0.0.1 port=${fx.stack.pgPort} dbname=${fx.resource} user=${fx.role} sslmode=require`;
    env = { ...process.env, PGPASSWORD: fx.token, PGCONNECT_TIMEOUT: '10' };
  }, 60_000);

  afterAll(async () => {
    await fx?.close();
  });

  it('psql (text format): every variant is masked and ordinary numbers are not', async () => {
    const got: Record<string, string> = {};
    for (const id of [1, 2] as const) {
      const cases = TEXT_CASES.filter((c) => c[2] === id);
      const select = cases.map((c, i) => `${c[1]} AS c${i}`).join(', ');
      const out = await psql(['-At', '-F', '\u0001', '-c', `SELECT ${select} FROM customers WHERE id = ${id}`]);
      const fields = out.stdout.replace(/\n$/, '').split('\u0001');
      cases.forEach((c, i) => (got[c[0]] = fields[i] ?? '<missing>'));
    }
    expect(got).toEqual(Object.fromEntries(TEXT_CASES.map((c) => [c[0], c[3]])));
  });

  it('psql: number columns named like the entity (ssn int, mobile_phone bigint) and card numbers stored as numeric/money', async () => {
    const out = await psql(['-At', '-F', '|', '-c', 'SELECT id, ssn, mobile_phone, card, card_total, ids FROM pii_numbers']);
    expect(out.stdout.trim()).toBe('1|||||{NULL,42}');
  });

  it('node-postgres in binary format: masked numbers arrive as NULL, the others equal the direct answer', async () => {
    const query = {
      text: `SELECT ${DIGITS}::bigint AS c8, ${DIGITS}::numeric AS cn, ${DIGITS}::float8 AS cf, ${DIGITS}::numeric::money AS cm,
               regexp_replace(ssn, '\\D', '', 'g')::int AS s4,
               1234567812345678::bigint AS id8, 4111111111111112::numeric AS notcard, 42 AS n4, 0.4111111111111111::float8 AS r
             FROM customers WHERE id = $1`,
      values: [1],
      binary: true,
    } as QueryConfig;
    const c: Client = fx.gateway();
    await c.connect();
    const viaGateway = await c.query<Record<string, unknown>>(query).finally(() => c.end());
    const d = await fx.direct();
    const direct = (await d.query<Record<string, unknown>>(query).finally(() => d.end())).rows[0] ?? {};
    expect(viaGateway.fields.map((f) => f.format)).toEqual(Array(9).fill('binary'));
    const row = viaGateway.rows[0] ?? {};
    for (const masked of ['c8', 'cn', 'cf', 'cm', 's4']) {
      expect([masked, row[masked]]).toEqual([masked, null]);
      expect(direct[masked]).not.toBeNull();
    }
    for (const kept of ['id8', 'notcard', 'n4', 'r']) expect([kept, row[kept]]).toEqual([kept, direct[kept]]);
  });

  it('binary format on the wire: int8, numeric, float8, money and bigint[] values are NULL or byte-identical', async () => {
    const sql = `SELECT ${DIGITS}::bigint, ${DIGITS}::numeric, ${DIGITS}::float8, ${DIGITS}::numeric::money, ARRAY[${DIGITS}::bigint, 7],
                 1234567812345678::bigint, 4111111111111112::numeric, ARRAY[1234567812345678, 7]::bigint[] FROM customers WHERE id = 1`;
    const binaryRow = async (port: number, user: string, password: string): Promise<(string | null)[]> => {
      const conn = await authenticate(port, { user, database: fx.resource, password });
      try {
        const start = conn.received().length;
        const bind = Buffer.concat([cstr(''), cstr(''), Buffer.from([0, 0, 0, 0, 0, 1, 0, 1])]); // all results binary
        conn.write(Buffer.concat([frame('P', Buffer.concat([cstr(''), cstr(sql), Buffer.from([0, 0])])), frame('B', bind), frame('E', Buffer.concat([cstr(''), Buffer.alloc(4)])), frame('S')]));
        await conn.waitFor((b) => messages(b.subarray(start)).some(([t]) => t === 'Z'), 10_000);
        const row = messages(conn.received().subarray(start)).find(([t]) => t === 'D')?.[1];
        if (!row) throw new Error(`no DataRow: ${conn.received().toString('latin1').slice(0, 300)}`);
        const values: (string | null)[] = [];
        for (let i = 0, at = 2; i < row.readInt16BE(0); i++) {
          const length = row.readInt32BE(at);
          values.push(length < 0 ? null : row.subarray(at + 4, at + 4 + length).toString('hex'));
          at += 4 + Math.max(length, 0);
        }
        return values;
      } finally {
        conn.destroy();
      }
    };
    const [c8, cn, cf, cm, arr, id8, notcard, ids] = await binaryRow(fx.stack.pgPort, fx.role, fx.token);
    expect([c8, cn, cf, cm]).toEqual([null, null, null, null]);
    // int8[]: 1 dimension, has-null flag 1, element type 20, 2 elements from 1; element 1 NULL, element 2 = 7.
    expect(arr).toBe(['00000001', '00000001', '00000014', '00000002', '00000001', 'ffffffff', '00000008', '0000000000000007'].join(''));
    expect(id8).toBe((1234567812345678n).toString(16).padStart(16, '0'));
    expect(notcard).toBe('0004000300000000100f045704570458'); // numeric 4111 1111 1111 1112 in base 10000
    expect(ids).toBe(['00000001', '00000000', '00000014', '00000002', '00000001', '00000008', (1234567812345678n).toString(16).padStart(16, '0'), '00000008', '0000000000000007'].join(''));
  });

  it('COPY ... TO STDOUT (text and CSV) masks cards, SSNs and phones cast to numbers', async () => {
    const text = await psql(['-c', `COPY (SELECT id, ${DIGITS}::bigint, regexp_replace(ssn, '\\D', '', 'g')::int, regexp_replace(phone, '\\D', '', 'g')::bigint FROM customers WHERE id = 1) TO STDOUT`]);
    expect(text.stdout.trim()).toBe('1\t****************\t*********\t*******0132');
    const csv = await psql(['-c', `COPY (SELECT id, ${DIGITS}::numeric(20,1), replace(card, ' ', '.') FROM customers WHERE id = 1) TO STDOUT WITH (FORMAT csv)`]);
    expect(csv.stdout.trim()).toBe('1,****************.0,****.****.****.****');
    const table = await psql(['-c', 'COPY pii_numbers (id, ssn, mobile_phone, card, ids) TO STDOUT']);
    expect(table.stdout.trim()).toBe('1\t*********\t*******0132\t****************\t{****************,42}');
  });

  it('the recording holds the masked values only', async () => {
    const c = fx.gateway({ application_name: 'gw-e2e-numbers' });
    await c.connect();
    try {
      await c.query({ text: `SELECT ${DIGITS}::bigint AS c8, regexp_replace(ssn, '\\D', '', 'g')::int AS s, replace(card, ' ', '.') AS dotted FROM customers WHERE id = $1`, values: [1], binary: true } as QueryConfig);
      await c.query('SELECT ssn, mobile_phone, card FROM pii_numbers');
    } finally {
      await c.end();
    }
    const id = await latestSession(fx.stack, fx.resource);
    const events = await sessionEvents(fx.stack, id, (ev) => ev.some((e) => e.type === 'pg.end'));
    const statements = events.filter((e) => e.type === 'pg.statement').map((e) => e.data);
    expect(statements.map((s) => s.rows)).toEqual([[[null, null, '****.****.****.****']], [[null, null, null]]]);
    const recorded = JSON.stringify(events);
    for (const secret of ['4111111111111111', '4111.1111', '536228714', '14155550132', PII.ada.card]) expect(recorded).not.toContain(secret);
  });
});
