import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PII, startPgFixture, type PgFixture } from './support/pg-fixture.js';

const run = promisify(execFile);

/**
 * Paths by which row data reaches a client other than result rows, against the real Postgres through
 * the gateway with real clients (psql, node-postgres, psycopg): notices and warnings a trigger or a DO
 * block raises, a unique violation's DETAIL, notifications delivered while the session is idle,
 * reported settings (ParameterStatus), fast-path function results (psql's \lo_export), binary COPY
 * (refused before it runs, the session goes on) and binary-format results psycopg asks for.
 */
const MASK = '@mask("email:partial, card:full, ssn:full, iban:partial, phone:partial")';
const POLICY = `
@id("pg-connect") permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "postgres" };
@id("pg-all-masked")
${MASK}
permit (principal, action in [Gateway::Action::"sql:read", Gateway::Action::"sql:insert", Gateway::Action::"sql:update",
  Gateway::Action::"sql:admin", Gateway::Action::"sql:procedural"], resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "postgres" };
`;
const ADA = { email: 'a**@example.com', card: '**** **** **** ****', ssn: '***-**-****' };

describe('postgres: row data outside result rows is masked too', () => {
  let fx: PgFixture;
  let conn: string;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  let largeObject = 0;
  /** psql without ON_ERROR_STOP: every command runs, in one session; stdout and stderr together. */
  const psql = async (args: string[]): Promise<string> => {
    const r = await run('psql', [conn, '-X', '-q', ...args], { env, timeout: 20_000 }).catch((e: { stdout: string; stderr: string }) => e);
    return `${r.stdout}${r.stderr}`;
  };
  const python = async (script: string): Promise<unknown> => {
    const { stdout } = await run('/usr/bin/python3', ['-c', script], { env: { ...process.env, GW_CONNINFO: `${conn} password=${fx.token}` }, timeout: 30_000 });
    return JSON.parse(stdout) as unknown;
  };
  const leaked = (text: string): string[] => Object.values(PII.ada).filter((v) => text.includes(v));

  beforeAll(async () => {
    fx = await startPgFixture('paths', { policy: POLICY });
    const lo = await fx.directQuery<{ oid: number }>(
      `SELECT lo_from_bytea(0, convert_to('${PII.ada.email} paid with ${PII.ada.card}', 'UTF8'))::int AS oid`,
    );
    largeObject = lo[0]?.oid ?? 0;
    await fx.directQuery(`
      CREATE UNIQUE INDEX customers_email_key ON customers (email);
      CREATE FUNCTION order_shout() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE NOTICE 'order for %', (SELECT email FROM customers WHERE id = NEW.customer_id);
        RAISE WARNING 'charged %', (SELECT card FROM customers WHERE id = NEW.customer_id)
          USING DETAIL = (SELECT 'ssn ' || ssn FROM customers WHERE id = NEW.customer_id);
        RETURN NEW;
      END $$;
      CREATE TRIGGER order_shout BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION order_shout();
      CREATE TABLE docs (id int PRIMARY KEY, body text, doc jsonb, tags text[]);
      INSERT INTO docs VALUES (1, 'mail ${PII.ada.email}', '{"card": "${PII.ada.card}"}', ARRAY['${PII.ada.ssn}']);
      GRANT ALL ON docs TO ${fx.role};
      CREATE TABLE cut_values (id int PRIMARY KEY, a text, b text NOT NULL);
      GRANT ALL ON cut_values TO ${fx.role};
      CREATE TABLE memo (id int PRIMARY KEY, x text, y text, z text);
      INSERT INTO memo VALUES (1, '${PII.ada.card}', '${PII.ada.email}', '${PII.ada.iban}');
      GRANT SELECT ON memo TO ${fx.role};
      GRANT SELECT ON LARGE OBJECT ${largeObject} TO ${fx.role};
    `);
    conn = `host=127.0.0.1 port=${fx.stack.pgPort} dbname=${fx.resource} user=${fx.role} sslmode=require`;
    env = { ...process.env, PGPASSWORD: fx.token, PGCONNECT_TIMEOUT: '10' };
    dir = mkdtempSync(join(tmpdir(), 'gw-pg-paths-'));
  }, 60_000);

  afterAll(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await fx?.close();
  });

  it("psql: a trigger's RAISE NOTICE / WARNING (message and DETAIL) and a DO block's notice are masked", async () => {
    const out = await psql([
      '-c', "INSERT INTO orders (customer_id, amount, item) VALUES (1, 1, 'notice')",
      '-c', "DO $$ BEGIN RAISE NOTICE 'row %', (SELECT row_to_json(c) FROM customers c WHERE id = 1); END $$",
    ]);
    expect(out).toContain(`NOTICE:  order for ${ADA.email}`);
    expect(out).toContain(`WARNING:  charged ${ADA.card}`);
    expect(out).toContain(`DETAIL:  ssn ${ADA.ssn}`);
    expect(out).toMatch(/NOTICE: {2}row \{"id":1,.*"email":"a\*\*@example\.com"/);
    expect(leaked(out)).toEqual([]);
  });

  it("psql: a unique violation's DETAIL quotes the masked value", async () => {
    const out = await psql(['-c', 'INSERT INTO customers (id, email) SELECT 10, email FROM customers WHERE id = 1']);
    expect(out).toContain(`DETAIL:  Key (email)=(${ADA.email}) already exists.`);
    expect(leaked(out)).toEqual([]);
  });

  it("psql: what is left of an entity where Postgres cut a value short in a DETAIL (64 bytes, then ...) is masked too", async () => {
    // Each value is cut to 64 bytes: 50 x's, a space, then the first 13 characters of the card, the
    // first 11 of the e-mail, the first 16 of the IBAN: too short for any recognizer.
    // From columns whose names say nothing (memo.x, y, z): the recognizers look at what is left.
    const out = await psql([
      '-c', "INSERT INTO cut_values SELECT 1, repeat('x', 50) || ' ' || x, NULL FROM memo WHERE id = 1",
      '-c', "INSERT INTO cut_values SELECT 1, repeat('y', 52) || ' ' || y, NULL FROM memo WHERE id = 1",
      '-c', "INSERT INTO cut_values SELECT 1, repeat('z', 47) || ' ' || z, NULL FROM memo WHERE id = 1",
    ]);
    expect(out).toContain(`DETAIL:  Failing row contains (1, ${'x'.repeat(50)} **** **** ***..., null).`);
    expect(out).toContain(`DETAIL:  Failing row contains (1, ${'y'.repeat(52)} ***@*******..., null).`);
    expect(out).toContain(`DETAIL:  Failing row contains (1, ${'z'.repeat(47)} GB82 WEST **** *..., null).`);
    for (const fragment of [PII.ada.card.slice(0, 13), PII.ada.email.slice(0, 11), PII.ada.card.slice(0, 9), PII.ada.iban.slice(0, 16)]) expect(out).not.toContain(fragment);
    // Computed from a column named for a masked entity (customers.card) and kept in a table: refused before it runs.
    const derived = await psql(['-c', "INSERT INTO cut_values SELECT 1, repeat('x', 50) || ' ' || card, NULL FROM customers WHERE id = 1"]);
    expect(derived).toContain('the statement would keep a value of column card, which policy masks, beyond its result (in a table)');
    for (const fragment of [PII.ada.card.slice(0, 9), '4111']) expect(derived).not.toContain(fragment);
  });

  it('node-postgres: a notification that arrives while the listening session is idle is masked', async () => {
    const listener = fx.gateway();
    const payloads: string[] = [];
    listener.on('notification', (n) => payloads.push(n.payload ?? ''));
    await listener.connect();
    const sender = fx.gateway();
    await sender.connect();
    try {
      await listener.query('LISTEN gw_idle');
      // Sent by another session: the listener is between statements when it arrives.
      // (From memo's neutral columns: a notification computed from a column named for a masked entity is refused.)
      await sender.query("SELECT pg_notify('gw_idle', y || ' ' || x) FROM memo WHERE id = 1");
      await expect.poll(() => payloads.length, { timeout: 3000 }).toBe(1);
      expect(payloads).toEqual([`${ADA.email} ${ADA.card}`]);
      await expect(sender.query("SELECT pg_notify('gw_idle', email || ' ' || card) FROM customers WHERE id = 1")).rejects.toMatchObject({
        code: '42501',
        message: expect.stringContaining('column card, column email, which policy masks, beyond its result (in a notification)') as unknown,
      });
    } finally {
      await sender.end();
      await listener.end();
    }
  });

  it('psycopg: a setting set from a column is reported masked (ParameterStatus), and binary-format text, jsonb and text[] results are masked', async () => {
    // (From docs.body: setting one from a column named for a masked entity is refused, see statement-policy.spec.ts.)
    const out = await python(`
import json, os, psycopg
with psycopg.connect(os.environ["GW_CONNINFO"], autocommit=True) as conn:
    shown = conn.execute("SELECT set_config('application_name', body, false) FROM docs WHERE id = 1").fetchone()[0]
    reported = conn.info.parameter_status("application_name")
    with conn.cursor(binary=True) as cur:
        cur.execute("SELECT email, card, body, doc, tags FROM customers, docs WHERE customers.id = 1 AND docs.id = %s", [1])
        row = cur.fetchone()
        binary = cur.pgresult.fformat(0)
print(json.dumps({"shown": shown, "reported": reported, "row": [row[0], row[1], row[2], row[3], row[4]], "binary": binary}))
`);
    expect(out).toEqual({
      shown: `mail ${ADA.email}`,
      reported: `mail ${ADA.email}`,
      row: [ADA.email, ADA.card, `mail ${ADA.email}`, { card: ADA.card }, [ADA.ssn]],
      binary: 1,
    });
  });

  it("psql \\lo_export: a large object's bytes read over the fast path (FunctionCall) are masked", async () => {
    const file = join(dir, 'object.txt');
    const out = await psql(['-c', `\\lo_export ${largeObject} '${file}'`]);
    expect(out).not.toMatch(/ERROR|FATAL/);
    const exported = readFileSync(file, 'utf8');
    expect(exported).toBe(`${ADA.email} paid with ${ADA.card}`);
  });

  it('psql: binary COPY is refused before it runs, with a clear error, and the session goes on', async () => {
    const out = await psql([
      '-c', 'COPY customers TO STDOUT (FORMAT binary)',
      '-c', 'COPY (SELECT email FROM customers WHERE id = 1) TO STDOUT WITH BINARY',
      '-At', '-c', 'SELECT email FROM customers WHERE id = 1',
    ]);
    const refusal = 'ERROR:  denied: COPY output in binary format cannot be masked, and masking applies to this statement; use FORMAT text or csv';
    expect(out.split(refusal).length - 1).toBe(2);
    // psql prints results on stdout, errors on stderr: the SELECT after the refusals answered.
    expect(out).toMatch(/^a\*\*@example\.com$/m);
    expect(out).not.toMatch(/FATAL|connection/);
    expect(out).not.toContain('PGCOPY');
  });
});
