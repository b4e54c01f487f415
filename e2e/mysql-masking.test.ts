import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMysqlFixture, type MysqlFixture } from './support/mysql-fixture.js';

const POLICY = `
@id("my-connect") permit (principal, action == Gateway::Action::"connect", resource) when { principal.gatewayRoles.contains("requester") };
@id("my-read")
@mask("email:partial, card:full, ssn:full, phone:partial, iban:partial")
@mask_columns("*.salary:null, customers.name:hash")
permit (principal, action in Gateway::Action::"sql:read", resource) when { principal.gatewayRoles.contains("requester") };
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
});
