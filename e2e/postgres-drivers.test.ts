import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PII, startPgFixture, type PgFixture } from './support/pg-fixture.js';

/**
 * postgres.js (porsager/postgres): a second driver with its own protocol code, unlike node-postgres —
 * it describes before it binds, pipelines freely, and reads cursors with Execute row limits (portal
 * suspension). Under the fixture policy: reads masked, deletes denied, the session stays usable.
 */
describe('postgres gateway with the postgres.js driver', () => {
  let fx: PgFixture;
  let sql: postgres.Sql;

  beforeAll(async () => {
    fx = await startPgFixture('drivers');
    sql = postgres({
      host: '127.0.0.1',
      port: fx.stack.pgPort,
      database: fx.resource,
      username: fx.role,
      password: fx.token,
      ssl: { rejectUnauthorized: false },
      max: 4,
      onnotice: () => undefined,
    });
  }, 60_000);

  afterAll(async () => {
    await sql?.end({ timeout: 5 });
    await fx?.close();
  });

  it('masks tagged-template queries, also when several run at once on the pool', async () => {
    const rows = await sql<{ id: number; email: string; card: string }[]>`SELECT id, email, card FROM customers WHERE id < ${3} ORDER BY id`;
    expect(rows.map((r) => [r.id, r.email, r.card])).toEqual([
      [1, 'a**@example.com', '**** **** **** ****'],
      [2, 'b**@example.org', '****-****-****-****'],
    ]);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => sql<{ ssn: string }[]>`SELECT ssn FROM customers WHERE id = ${(i % 2) + 1}`));
    for (const [r] of results) expect(r?.ssn).toBe('***-**-****');
  });

  it('refuses a DELETE with 42501 and keeps the connection usable, inside a transaction too', async () => {
    await expect(sql`DELETE FROM customers WHERE id = ${1}`).rejects.toMatchObject({ code: '42501' });
    expect((await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM customers`)[0]?.n).toBe(3);
    await expect(
      sql.begin(async (tx) => {
        await tx`SELECT 1`;
        await tx`DELETE FROM customers WHERE id = ${2}`;
      }),
    ).rejects.toMatchObject({ code: '42501' });
    const phone = await sql.begin(async (tx) => (await tx<{ phone: string }[]>`SELECT phone FROM customers WHERE id = ${1}`)[0]?.phone);
    expect(phone).toMatch(/0132$/);
    expect(phone).not.toBe(PII.ada.phone);
  });

  it('masks rows read through a cursor in batches (portal suspended between Executes)', async () => {
    const seen: string[] = [];
    await sql<{ email: string | null }[]>`SELECT email FROM customers ORDER BY id`.cursor(1, (rows) => {
      for (const r of rows) seen.push(String(r.email));
    });
    expect(seen).toEqual(['a**@example.com', 'b**@example.org', 'null']);
  });

  it('runs several statements of an unsafe simple query, each masked', async () => {
    const results = (await sql.unsafe('SELECT email FROM customers WHERE id = 1; SELECT iban FROM customers WHERE id = 1')) as unknown as { email?: string; iban?: string }[][];
    expect(results[0]?.[0]?.email).toBe('a**@example.com');
    expect(results[1]?.[0]?.iban).toBe('**** **** **** **** **54 32');
  });
});
