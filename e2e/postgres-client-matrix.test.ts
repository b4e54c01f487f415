import { execFile, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { PrismaPg } from '@prisma/adapter-pg';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import Cursor from 'pg-cursor';
import QueryStream from 'pg-query-stream';
import postgres from 'postgres';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PII, startPgFixture, type PgFixture } from './support/pg-fixture.js';

/**
 * The compatibility matrix: each client as its users use it, through the gateway with TLS and the
 * token as password. Every client: parameterized and prepared queries (masked), a transaction with a
 * savepoint, a large result streamed, a cancelled query, a denied statement inside a transaction then
 * a rollback and more work, LISTEN/NOTIFY, and server errors with their SQLSTATE, detail and hint.
 * psql, pg_dump and pgbench pipelines: postgres-pgdump.test.ts and postgres-clients.test.ts.
 */

const run = promisify(execFile);
const BIG_ROWS = 20_000;
const MASKED_ADA = { email: 'a**@example.com', card: '**** **** **** ****', ssn: '***-**-****' };
const DUPLICATE = { code: '23505', message: 'duplicate key value violates unique constraint "customers_pkey"', detail: 'Key (id)=(1) already exists.' };
const NO_FUNCTION = {
  code: '42883',
  message: 'function lower(integer, integer) does not exist',
  hint: 'No function matches the given name and argument types. You might need to add explicit type casts.',
};
const DENIED = /denied by policy "no-destructive"/;

/** `big` has one row per id with `user<id>@example.com`: no streamed value may arrive as it is stored. */
function expectBigMasked(rows: readonly { id: number | string; email: string }[]): void {
  expect(rows).toHaveLength(BIG_ROWS);
  const leaked = rows.filter((r) => r.email === `user${r.id}@example.com`);
  expect(leaked).toEqual([]);
  expect(rows[0]?.email).toMatch(/^u\*+@example\.com$/);
}

describe('client compatibility matrix through the gateway', () => {
  let fx: PgFixture;
  /** pg.ClientConfig for the gateway (TLS, token as password). */
  let gateway: pg.ClientConfig & { host: string; port: number; user: string; password: string; database: string };
  let url: string;

  beforeAll(async () => {
    fx = await startPgFixture('matrix');
    await fx.directQuery(`CREATE TABLE big AS SELECT g AS id, 'user' || g || '@example.com' AS email FROM generate_series(1, ${BIG_ROWS}) g; GRANT SELECT ON big TO ${fx.role};`);
    gateway = { host: '127.0.0.1', port: fx.stack.pgPort, user: fx.role, password: fx.token, database: fx.resource, ssl: { rejectUnauthorized: false } };
    url = `postgresql://${fx.role}:${encodeURIComponent(fx.token)}@127.0.0.1:${fx.stack.pgPort}/${fx.resource}?sslmode=require`;
  }, 60_000);

  afterAll(async () => {
    await fx?.close();
  });

  /** Whether the server runs this query text now in the resource's database (seen directly, as superuser). */
  const sleepRunning = async (text: string) =>
    (await fx.directQuery("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query = $1", [text])).length > 0;
  const ordersTagged = async (item: string) => (await fx.directQuery<{ n: number }>('SELECT count(*)::int AS n FROM orders WHERE item = $1', [item]))[0]?.n;

  describe('node-postgres (pg)', () => {
    let pool: pg.Pool;
    beforeAll(() => {
      // statement_timeout and options travel as startup parameters, decided like the same SET.
      pool = new pg.Pool({ ...gateway, max: 3, statement_timeout: 400, query_timeout: 5000, options: '-c lock_timeout=2s', application_name: 'pg-matrix' });
    });
    afterAll(async () => {
      await pool?.end();
    });

    it('a pool with statement_timeout and options: settings apply, parameterized and named prepared queries are masked', async () => {
      const settings = await pool.query<{ s: string; l: string; a: string }>("SELECT current_setting('statement_timeout') AS s, current_setting('lock_timeout') AS l, current_setting('application_name') AS a");
      expect(settings.rows[0]).toEqual({ s: '400ms', l: '2s', a: 'pg-matrix' });
      const results = await Promise.all([1, 1, 1].map(() => pool.query({ name: 'matrix_by_id', text: 'SELECT email, card, ssn FROM customers WHERE id = $1', values: [1] })));
      for (const r of results) expect(r.rows).toEqual([MASKED_ADA]);
    });

    it('statement_timeout cancels a long query with 57014 and query_timeout gives up client-side; the pool goes on', async () => {
      await expect(pool.query('SELECT pg_sleep(3)')).rejects.toMatchObject({ code: '57014', message: 'canceling statement due to statement timeout' });
      const quick = new pg.Client({ ...gateway, query_timeout: 200 });
      await quick.connect();
      await expect(quick.query('SELECT pg_sleep(1)')).rejects.toThrow(/Query read timeout/);
      await quick.end().catch(() => undefined);
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });

    it('a transaction with a savepoint; a denied statement in a transaction, rollback, more work', async () => {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        await c.query('INSERT INTO orders (customer_id, amount, item) VALUES ($1, $2, $3)', [1, 1, 'pg-kept']);
        await c.query('SAVEPOINT s1');
        await c.query('INSERT INTO orders (customer_id, amount, item) VALUES ($1, $2, $3)', [1, 2, 'pg-undone']);
        await c.query('ROLLBACK TO SAVEPOINT s1');
        await c.query('COMMIT');
        await c.query('BEGIN');
        await expect(c.query('DELETE FROM orders WHERE id = $1', [1])).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(DENIED) as unknown });
        await expect(c.query('SELECT 1')).rejects.toMatchObject({ code: '25P02' });
        await c.query('ROLLBACK');
        expect((await c.query('SELECT count(*)::int AS n FROM orders WHERE id = 1')).rows).toEqual([{ n: 1 }]);
      } finally {
        c.release();
      }
      expect([await ordersTagged('pg-kept'), await ordersTagged('pg-undone')]).toEqual([1, 0]);
    });

    it('pg-cursor and pg-query-stream stream a large result, every row masked', async () => {
      // A client of its own: the pool's 400 ms statement_timeout is for the cancellation test.
      const c = new pg.Client(gateway);
      await c.connect();
      try {
        const cursor = c.query(new Cursor<{ id: number; email: string }>('SELECT id, email FROM big ORDER BY id'));
        const viaCursor: { id: number; email: string }[] = [];
        for (let batch = await cursor.read(3000); batch.length > 0; batch = await cursor.read(3000)) viaCursor.push(...batch);
        await cursor.close();
        expectBigMasked(viaCursor);
        const viaStream: { id: number; email: string }[] = [];
        for await (const row of c.query(new QueryStream('SELECT id, email FROM big ORDER BY id', [], { batchSize: 1000 }))) viaStream.push(row as { id: number; email: string });
        expectBigMasked(viaStream);
      } finally {
        await c.end();
      }
    });

    it('LISTEN/NOTIFY between two clients', async () => {
      const listener = await pool.connect();
      try {
        const payloads: string[] = [];
        listener.on('notification', (n) => payloads.push(n.payload ?? ''));
        await listener.query('LISTEN gw_matrix_pg');
        await pool.query("SELECT pg_notify('gw_matrix_pg', 'hello from pg')");
        await expect.poll(() => payloads, { timeout: 5000 }).toEqual(['hello from pg']);
        await listener.query('UNLISTEN *');
      } finally {
        listener.release();
      }
    });

    it('server errors keep SQLSTATE, message, detail and hint', async () => {
      await expect(pool.query("INSERT INTO customers (id, name) VALUES (1, 'dup')")).rejects.toMatchObject(DUPLICATE);
      await expect(pool.query('SELECT lower(1, 2)')).rejects.toMatchObject(NO_FUNCTION);
    });
  });

  describe('postgres.js', () => {
    let sql: postgres.Sql;
    beforeAll(() => {
      sql = postgres(url, { ssl: { rejectUnauthorized: false }, max: 3, connection: { statement_timeout: 10_000, application_name: 'postgresjs-matrix' }, onnotice: () => undefined });
    });
    afterAll(async () => {
      await sql?.end({ timeout: 5 });
    });

    it('startup settings apply; tagged (prepared) and unsafe parameterized queries are masked', async () => {
      expect(await sql`SELECT current_setting('statement_timeout') AS s, current_setting('application_name') AS a`).toEqual([{ s: '10s', a: 'postgresjs-matrix' }]);
      expect(await sql`SELECT email, card, ssn FROM customers WHERE id = ${1}`).toEqual([MASKED_ADA]);
      expect(await sql.unsafe('SELECT email, card, ssn FROM customers WHERE id = $1', [1], { prepare: true })).toEqual([MASKED_ADA]);
    });

    it('begin with a savepoint; a denied statement rolls the transaction back and the connection goes on', async () => {
      await sql.begin(async (tx) => {
        await tx`INSERT INTO orders (customer_id, amount, item) VALUES (1, 1, 'pjs-kept')`;
        await tx
          .savepoint(async (sp) => {
            await sp`INSERT INTO orders (customer_id, amount, item) VALUES (1, 2, 'pjs-undone')`;
            throw new Error('undo the savepoint');
          })
          .catch(() => undefined);
      });
      expect([await ordersTagged('pjs-kept'), await ordersTagged('pjs-undone')]).toEqual([1, 0]);
      await expect(
        sql.begin(async (tx) => {
          await tx`SELECT 1`;
          await tx`DELETE FROM orders WHERE id = ${1}`;
        }),
      ).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(DENIED) as unknown });
      expect(await sql`SELECT count(*)::int AS n FROM orders WHERE id = 1`).toEqual([{ n: 1 }]);
    });

    it('a cursor streams a large result masked; query.cancel() cancels a running query with 57014', async () => {
      const rows: { id: number; email: string }[] = [];
      await sql<{ id: number; email: string }[]>`SELECT id, email FROM big ORDER BY id`.cursor(2500, (batch) => {
        rows.push(...batch);
      });
      expectBigMasked(rows);
      const sleeping = sql`SELECT pg_sleep(20)`;
      const outcome = sleeping.then(
        () => 'finished',
        (e: { code?: string }) => e.code,
      );
      await expect.poll(() => sleepRunning('SELECT pg_sleep(20)'), { timeout: 10_000 }).toBe(true);
      sleeping.cancel(); // sends a CancelRequest with the key the gateway handed out
      expect(await outcome).toBe('57014');
    });

    it('listen and notify', async () => {
      const payloads: string[] = [];
      const listening = await sql.listen('gw_matrix_pjs', (payload) => payloads.push(payload));
      await sql.notify('gw_matrix_pjs', 'hello from postgres.js');
      await expect.poll(() => payloads, { timeout: 5000 }).toEqual(['hello from postgres.js']);
      await listening.unlisten();
    });

    it('server errors keep SQLSTATE, message, detail and hint', async () => {
      await expect(sql`INSERT INTO customers (id, name) VALUES (1, 'dup')`).rejects.toMatchObject(DUPLICATE);
      await expect(sql`SELECT lower(1, 2)`).rejects.toMatchObject(NO_FUNCTION);
    });
  });

  describe('Knex', () => {
    let knex: Knex;
    beforeAll(() => {
      knex = knexFactory({ client: 'pg', connection: { ...gateway, statement_timeout: 400 } as Knex.PgConnectionConfig, pool: { min: 0, max: 3 } });
    });
    afterAll(async () => {
      await knex?.destroy();
    });

    it('query builder and raw bindings are masked; statement_timeout cancels with 57014', async () => {
      expect(await knex('customers').select('email', 'card', 'ssn').where({ id: 1 })).toEqual([MASKED_ADA]);
      expect((await knex.raw<{ rows: unknown[] }>('SELECT email, card, ssn FROM customers WHERE id = ?', [1])).rows).toEqual([MASKED_ADA]);
      await expect(knex.raw('SELECT pg_sleep(3)')).rejects.toMatchObject({ code: '57014' });
    });

    it('.timeout(ms, { cancel: true }) cancels the query on the server (its pg_cancel_backend names the gateway pid); the pool goes on', async () => {
      // Without statement_timeout, so that only Knex's cancel can stop the sleep.
      const cancelling = knexFactory({ client: 'pg', connection: gateway as Knex.PgConnectionConfig, pool: { min: 0, max: 2 } });
      try {
        const error = await cancelling.raw('SELECT pg_sleep(30)').timeout(300, { cancel: true }).then(() => undefined, (e: unknown) => e as Error);
        // A failed cancel would say "cancelling of query failed".
        expect(error?.message).toMatch(/^Defined query timeout of 300ms exceeded when running query\./);
        await expect.poll(() => sleepRunning('SELECT pg_sleep(30)'), { timeout: 10_000 }).toBe(false);
        expect(await cancelling('customers').count<{ n: string }[]>({ n: '*' })).toEqual([{ n: '3' }]);
      } finally {
        await cancelling.destroy();
      }
    });

    it('nested transactions are savepoints; a denied statement rejects the transaction and the pool goes on', async () => {
      await knex.transaction(async (trx) => {
        await trx('orders').insert({ customer_id: 1, amount: 1, item: 'knex-kept' });
        await trx
          .transaction(async (inner) => {
            await inner('orders').insert({ customer_id: 1, amount: 2, item: 'knex-undone' });
            throw new Error('undo the savepoint');
          })
          .catch(() => undefined);
      });
      expect([await ordersTagged('knex-kept'), await ordersTagged('knex-undone')]).toEqual([1, 0]);
      await expect(knex.transaction(async (trx) => trx('orders').where({ id: 1 }).delete())).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(DENIED) as unknown });
      expect(await knex('orders').count<{ n: string }[]>({ n: '*' }).where({ id: 1 })).toEqual([{ n: '1' }]);
    });

    it('.stream() (pg-query-stream) streams a large result masked', async () => {
      const rows: { id: number; email: string }[] = [];
      await knex.transaction(async (trx) => {
        await trx.raw('SET LOCAL statement_timeout = 0'); // the pool's 400 ms are for the cancellation test
        for await (const row of trx.select('id', 'email').from('big').orderBy('id').stream()) rows.push(row as { id: number; email: string });
      });
      expectBigMasked(rows);
    });

    it('LISTEN/NOTIFY on a connection taken from the pool', async () => {
      const connection = (await knex.client.acquireConnection()) as pg.Client;
      try {
        const payloads: string[] = [];
        connection.on('notification', (n) => payloads.push(n.payload ?? ''));
        await connection.query('LISTEN gw_matrix_knex');
        await knex.raw("NOTIFY gw_matrix_knex, 'hello from knex'");
        await expect.poll(() => payloads, { timeout: 5000 }).toEqual(['hello from knex']);
        await connection.query('UNLISTEN *');
      } finally {
        await knex.client.releaseConnection(connection);
      }
    });

    it('server errors keep SQLSTATE, message, detail and hint', async () => {
      await expect(knex('customers').insert({ id: 1, name: 'dup' })).rejects.toMatchObject({ ...DUPLICATE, message: expect.stringContaining(DUPLICATE.message) as unknown });
      await expect(knex.raw('SELECT lower(1, 2)')).rejects.toMatchObject({ ...NO_FUNCTION, message: expect.stringContaining(NO_FUNCTION.message) as unknown });
    });
  });

  describe('TypeORM', () => {
    let ds: DataSource;
    beforeAll(async () => {
      ds = new DataSource({
        type: 'postgres',
        host: gateway.host,
        port: gateway.port,
        username: gateway.user,
        password: gateway.password,
        database: gateway.database,
        ssl: { rejectUnauthorized: false },
        extra: { statement_timeout: 400, max: 3 }, // handed to pg's Pool: statement_timeout becomes a startup parameter
      });
      await ds.initialize();
    });
    afterAll(async () => {
      await ds?.destroy();
    });

    it('parameterized queries and the query builder are masked; statement_timeout cancels with 57014', async () => {
      expect(await ds.query('SELECT email, card, ssn FROM customers WHERE id = $1', [1])).toEqual([MASKED_ADA]);
      const built = await ds.createQueryBuilder().select(['c.email AS email', 'c.card AS card', 'c.ssn AS ssn']).from('customers', 'c').where('c.id = :id', { id: 1 }).getRawMany();
      expect(built).toEqual([MASKED_ADA]);
      await expect(ds.query('SELECT pg_sleep(3)')).rejects.toMatchObject({ driverError: { code: '57014' } });
    });

    it('a nested transaction is a savepoint; a denied statement, rollback, more work on the same runner', async () => {
      const runner = ds.createQueryRunner();
      try {
        await runner.startTransaction();
        await runner.query('INSERT INTO orders (customer_id, amount, item) VALUES ($1, $2, $3)', [1, 1, 'typeorm-kept']);
        await runner.startTransaction(); // SAVEPOINT typeorm_1
        await runner.query('INSERT INTO orders (customer_id, amount, item) VALUES ($1, $2, $3)', [1, 2, 'typeorm-undone']);
        await runner.rollbackTransaction();
        await runner.commitTransaction();
        await runner.startTransaction();
        await expect(runner.query('DELETE FROM orders WHERE id = $1', [1])).rejects.toMatchObject({ driverError: { code: '42501', message: expect.stringMatching(DENIED) as unknown } });
        await runner.rollbackTransaction();
        expect(await runner.query('SELECT count(*)::int AS n FROM orders WHERE id = 1')).toEqual([{ n: 1 }]);
      } finally {
        await runner.release();
      }
      expect([await ordersTagged('typeorm-kept'), await ordersTagged('typeorm-undone')]).toEqual([1, 0]);
    });

    it('queryRunner.stream() streams a large result masked', async () => {
      const runner = ds.createQueryRunner();
      try {
        await runner.query('SET statement_timeout = 0'); // the pool's 400 ms are for the cancellation test
        const rows: { id: number; email: string }[] = [];
        for await (const row of await runner.stream('SELECT id, email FROM big ORDER BY id')) rows.push(row as { id: number; email: string });
        expectBigMasked(rows);
        await runner.query('RESET statement_timeout');
      } finally {
        await runner.release();
      }
    });

    it('LISTEN/NOTIFY on the runner’s driver connection', async () => {
      const runner = ds.createQueryRunner();
      try {
        const connection = (await runner.connect()) as pg.PoolClient;
        const payloads: string[] = [];
        connection.on('notification', (n) => payloads.push(n.payload ?? ''));
        await runner.query('LISTEN gw_matrix_typeorm');
        await ds.query("NOTIFY gw_matrix_typeorm, 'hello from typeorm'");
        await expect.poll(() => payloads, { timeout: 5000 }).toEqual(['hello from typeorm']);
        await runner.query('UNLISTEN *');
      } finally {
        await runner.release();
      }
    });

    it('server errors keep SQLSTATE, message, detail and hint', async () => {
      await expect(ds.query("INSERT INTO customers (id, name) VALUES (1, 'dup')")).rejects.toMatchObject({ driverError: DUPLICATE });
      await expect(ds.query('SELECT lower(1, 2)')).rejects.toMatchObject({ driverError: NO_FUNCTION });
    });
  });

  describe('Prisma (client with @prisma/adapter-pg and the wasm query compiler)', () => {
    const dir = join('.data', `e2e-prisma-${process.pid}`);
    type Prisma = {
      customers: { findMany(args: unknown): Promise<unknown[]>; findUnique(args: unknown): Promise<unknown> };
      big: { findMany(args: unknown): Promise<{ id: number; email: string }[]> };
      $queryRaw<T>(strings: TemplateStringsArray, ...values: unknown[]): Promise<T>;
      $executeRaw(strings: TemplateStringsArray, ...values: unknown[]): Promise<number>;
      $executeRawUnsafe(text: string, ...values: unknown[]): Promise<number>;
      $transaction<T>(fn: (tx: Prisma) => Promise<T>): Promise<T>;
      $disconnect(): Promise<void>;
    };
    let prisma: Prisma;

    beforeAll(async () => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'schema.prisma'),
        `generator client {\n  provider = "prisma-client"\n  output = "./client"\n}\ndatasource db {\n  provider = "postgresql"\n}\n` +
          `model customers {\n  id Int @id\n  name String?\n  email String?\n  card String? @db.VarChar(40)\n  ssn String?\n  orders orders[]\n}\n` +
          `model orders {\n  id Int @id @default(autoincrement())\n  customer_id Int?\n  amount Decimal @db.Decimal(10, 2)\n  item String?\n  customer customers? @relation(fields: [customer_id], references: [id])\n}\n` +
          `model big {\n  id Int @id\n  email String?\n}\n`,
      );
      // `prisma generate` only reads the schema (wasm) but first fetches the schema engine from
      // binaries.prisma.sh, which this machine cannot reach; pointing the CLI at any existing file
      // skips that download. Migrate needs the real engine: see the README.
      await run('npx', ['prisma', 'generate', '--schema', join(dir, 'schema.prisma')], {
        env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: '/bin/false', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
        timeout: 60_000,
      });
      const generated = (await import(/* @vite-ignore */ `${process.cwd()}/${dir}/client/client.ts`)) as { PrismaClient: new (options: unknown) => Prisma };
      prisma = new generated.PrismaClient({ adapter: new PrismaPg({ ...gateway, statement_timeout: 400 }) });
    }, 90_000);
    afterAll(async () => {
      await prisma?.$disconnect();
      rmSync(dir, { recursive: true, force: true });
    });

    it('findMany/findUnique with relations and $queryRaw parameters are masked', async () => {
      expect(await prisma.customers.findUnique({ where: { id: 1 }, select: { email: true, card: true, ssn: true } })).toEqual(MASKED_ADA);
      const withOrders = (await prisma.customers.findMany({ where: { id: { lt: 3 } }, orderBy: { id: 'asc' }, include: { orders: { where: { item: { in: ['book', 'pen', 'desk'] } } } } })) as { email: string; orders: unknown[] }[];
      expect(withOrders.map((c) => [c.email, c.orders.length])).toEqual([
        ['a**@example.com', 2],
        ['b**@example.org', 1],
      ]);
      expect(await prisma.$queryRaw`SELECT email, card, ssn FROM customers WHERE id = ${1}`).toEqual([MASKED_ADA]);
    });

    it('an interactive transaction with a savepoint; a denied statement fails it and the client goes on', async () => {
      await prisma.$transaction(async (tx) => {
        await tx.$executeRaw`INSERT INTO orders (customer_id, amount, item) VALUES (1, 1, 'prisma-kept')`;
        await tx.$executeRaw`SAVEPOINT s1`;
        await tx.$executeRaw`INSERT INTO orders (customer_id, amount, item) VALUES (1, 2, 'prisma-undone')`;
        await tx.$executeRaw`ROLLBACK TO SAVEPOINT s1`;
      });
      expect([await ordersTagged('prisma-kept'), await ordersTagged('prisma-undone')]).toEqual([1, 0]);
      await expect(prisma.$transaction(async (tx) => tx.$executeRaw`DELETE FROM orders WHERE id = ${1}`)).rejects.toThrow(DENIED);
      expect(await prisma.$queryRaw`SELECT count(*)::int AS n FROM orders WHERE id = 1`).toEqual([{ n: 1 }]);
    });

    it('a large findMany is masked (Prisma has no streaming API); statement_timeout cancels with 57014', async () => {
      expectBigMasked(await prisma.big.findMany({ orderBy: { id: 'asc' } }));
      await expect(prisma.$queryRaw`SELECT pg_sleep(3)`).rejects.toThrow(/statement timeout/);
    });

    it('what prisma migrate would run (its migrations table, the DDL) is refused for a workload', async () => {
      await expect(
        prisma.$executeRawUnsafe('CREATE TABLE "_prisma_migrations" ("id" VARCHAR(36) PRIMARY KEY NOT NULL, "checksum" VARCHAR(64) NOT NULL, "migration_name" VARCHAR(255) NOT NULL)'),
      ).rejects.toThrow(DENIED);
      await expect(prisma.$executeRawUnsafe('ALTER TABLE customers ADD COLUMN nickname TEXT')).rejects.toThrow(DENIED);
      expect(await fx.directQuery("SELECT 1 FROM pg_tables WHERE tablename = '_prisma_migrations'")).toEqual([]);
    });

    it('errors keep SQLSTATE, message and detail in the driver adapter error', async () => {
      const error = await prisma.$executeRawUnsafe("INSERT INTO customers (id, name) VALUES (1, 'dup')").then(
        () => undefined,
        (e: unknown) => e as { code?: string; meta?: Record<string, unknown>; message: string },
      );
      expect(error?.message).toMatch(/Unique constraint failed|duplicate key/);
      const hinted = await prisma.$queryRaw`SELECT lower(1, 2)`.then(
        () => undefined,
        (e: unknown) => e as { meta?: { code?: string; message?: string; driverAdapterError?: { cause?: Record<string, unknown> } } },
      );
      expect(JSON.stringify(hinted)).toContain('42883');
      expect(JSON.stringify(hinted)).toContain('You might need to add explicit type casts');
    });
  });

  describe('psycopg 3 (Debian python3-psycopg)', () => {
    it('does everything its users do through the gateway', async () => {
      const conninfo = `host=127.0.0.1 port=${fx.stack.pgPort} dbname=${fx.resource} user=${fx.role} password=${fx.token} sslmode=require`;
      const { stdout } = await run('/usr/bin/python3', ['e2e/support/psycopg_client.py'], { env: { ...process.env, GW_CONNINFO: conninfo, GW_DIRECT_CONNINFO: `host=127.0.0.1 port=5432 user=postgres dbname=${fx.resource}` }, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
      const out = JSON.parse(stdout) as Record<string, unknown>;
      expect(out['ssl']).toBe(true);
      expect(out['settings']).toEqual(['20s', '3s']);
      expect(out['param']).toEqual([MASKED_ADA.email, MASKED_ADA.card]);
      expect(out['prepared']).toEqual([MASKED_ADA.ssn, MASKED_ADA.ssn, MASKED_ADA.ssn]);
      expect([await ordersTagged('psycopg-kept'), await ordersTagged('psycopg-undone')]).toEqual([1, 0]);
      expect(out['streamed']).toEqual({ rows: BIG_ROWS, leaked: 0, first: expect.stringMatching(/^u\*+@example\.com$/) as unknown });
      expect(out['cancel']).toBe('57014');
      expect(out['usable_after_cancel']).toBe(1);
      expect(out['denied']).toMatchObject({ sqlstate: '42501', message: expect.stringMatching(DENIED) as unknown });
      expect(out['after_denied']).toBe(1);
      expect(out['duplicate']).toEqual({ sqlstate: DUPLICATE.code, message: DUPLICATE.message, detail: DUPLICATE.detail, hint: null });
      expect(out['no_function']).toEqual({ sqlstate: NO_FUNCTION.code, message: NO_FUNCTION.message, detail: null, hint: NO_FUNCTION.hint });
      expect(out['pipeline']).toEqual(['b**@example.org', true, 'piped']);
      expect(out['notify']).toEqual(['hello from psycopg']);
    }, 90_000);
  });

  describe('pgJDBC (Debian libpostgresql-jdbc-java), sslmode=verify-full', () => {
    type ErrorFields = { sqlstate: string; message: string; detail: string | null; hint: string | null };
    let out: Record<string, unknown>;
    beforeAll(async () => {
      // A large object holding PII, readable by the application role.
      const [lo] = await fx.directQuery<{ oid: number }>(`SELECT lo_from_bytea(0, convert_to($1, 'UTF8'))::int8 AS oid`, [`${PII.ada.email} ${PII.ada.card}`]);
      await fx.directQuery(`GRANT SELECT ON LARGE OBJECT ${lo?.oid} TO ${fx.role}`);
      await fx.directQuery(`CREATE TABLE docs (id int PRIMARY KEY, body bytea); INSERT INTO docs VALUES (1, convert_to('write to ${PII.ada.email}, card ${PII.ada.card}', 'UTF8')); GRANT SELECT ON docs TO ${fx.role}`);
      const { stdout } = await run('java', ['-cp', '/usr/share/java/postgresql.jar', 'e2e/support/PgJdbcClient.java'], {
        env: {
          ...process.env,
          GW_PORT: String(fx.stack.pgPort),
          GW_DB: fx.resource,
          GW_USER: fx.role,
          GW_TOKEN: fx.token,
          // The endpoint's self-signed certificate (SAN 127.0.0.1), the root verify-full checks against.
          GW_ROOTCERT: resolve(fx.stack.cp.config.dataDir, 'tls', 'pg-endpoint.crt'),
          GW_DIRECT_URL: `jdbc:postgresql://127.0.0.1:5432/${fx.resource}?user=postgres`,
          GW_LO_OID: String(lo?.oid),
        },
        timeout: 90_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      out = JSON.parse(stdout) as Record<string, unknown>;
    }, 120_000);

    it('plain statements and PreparedStatements past prepareThreshold (named, binary results) are masked', () => {
      const ada = [MASKED_ADA.email, MASKED_ADA.card, MASKED_ADA.ssn, '1815-12-10'];
      const bob = ['b**@example.org', '****-****-****-****', '***-**-****', '1990-01-02'];
      expect(out['masked']).toEqual([MASKED_ADA.email, MASKED_ADA.card, MASKED_ADA.ssn]);
      expect(out['settings']).toEqual(['pgjdbc-plain', true]);
      expect(out['prepared_default']).toEqual([ada, bob, ada, bob, ada, bob, ada, bob]);
      expect(out['prepared_default_server_side']).toBe(true);
      // The server holds pgJDBC's named statement: the 5th execution and later ran on the named path.
      expect(out['named_statements']).toEqual(['SELECT email, card, ssn, born FROM customers WHERE id = $1']);
      expect(out['prepared_threshold_1']).toEqual([bob, ada, [null, null, null, null]]);
      expect(out['prepared_threshold_1_server_side']).toBe(true);
    });

    it('every execution of the named statement is recorded with its text, decision and masked rows', async () => {
      const sessions = (await fx.stack.cp.request('GET', `/api/v1/sessions?resource=${fx.resource}&limit=500`, { token: fx.stack.admin })).body as { items: { id: string; declared?: { applicationName?: string } }[] };
      const session = sessions.items.find((s) => s.declared?.applicationName === 'pgjdbc-prepared');
      expect(session).toBeDefined();
      let statements: Record<string, unknown>[] = [];
      await expect
        .poll(
          async () => {
            const events = ((await fx.stack.cp.request('GET', `/api/v1/sessions/${session?.id ?? ''}/events?limit=1000`, { token: fx.stack.admin })).body as { items: { type: string; data: Record<string, unknown> }[] }).items;
            statements = events.filter((e) => e.type === 'pg.statement').map((e) => e.data);
            return events.some((e) => e.type === 'pg.end');
          },
          { timeout: 10_000 },
        )
        .toBe(true);
      const byId = statements.filter((d) => d['text'] === 'SELECT email, card, ssn, born FROM customers WHERE id = $1');
      expect(byId).toHaveLength(8);
      for (const d of byId) expect(d).toMatchObject({ decision: 'allow', policies: ['pg-read'], rowCount: 1 });
      // pgJDBC binds the id in binary, and from the named statement on asks for the date in binary too:
      // the recording shows both as Postgres prints them.
      expect(byId.map((d) => [d['params'], d['rows']])).toEqual(
        [1, 2, 1, 2, 1, 2, 1, 2].map((id) => [[String(id)], [id === 1 ? [MASKED_ADA.email, MASKED_ADA.card, MASKED_ADA.ssn, '1815-12-10'] : ['b**@example.org', '****-****-****-****', '***-**-****', '1990-01-02']]]),
      );
      expect(JSON.stringify(statements)).not.toContain(PII.ada.email);
    });

    it('executeBatch: pipelined and rewritten inserts run; a denied statement in a batch fails it like a server error, and the session goes on', async () => {
      expect(out['batch_counts']).toEqual([1, 1, 1, 1, 1, 1]);
      expect(await ordersTagged('jdbc-batch')).toBe(6);
      expect(out['rewritten_counts']).toHaveLength(10);
      expect(await ordersTagged('jdbc-rewritten')).toBe(10);
      const denied = out['batch_denied'] as { error: ErrorFields; counts: number[] };
      expect(denied.error).toMatchObject({ sqlstate: '42501', message: expect.stringMatching(DENIED) as unknown });
      // A real server error in the same place: pgJDBC's batch is one implicit transaction (one Sync), so
      // nothing of it stays. A denial must leave the database exactly as that error does.
      const serverError = out['batch_server_error'] as { error: ErrorFields; counts: number[] };
      expect(serverError.error).toMatchObject({ sqlstate: DUPLICATE.code, detail: DUPLICATE.detail });
      expect([await ordersTagged('jdbc-server_error-before'), await ordersTagged('jdbc-server_error-after')]).toEqual([0, 0]);
      expect([await ordersTagged('jdbc-denied-before'), await ordersTagged('jdbc-denied-after')]).toEqual([0, 0]);
      expect(denied.counts).toEqual(serverError.counts);
      // The denied DELETE did not run, and the session answered the next statement.
      expect(out['batch_denied_then']).toBe(1);
      expect(out['batch_server_error_then']).toBe(1);
    });

    it('setFetchSize streams a large result (portal suspension), text and binary, every row masked', () => {
      const expected = { rows: BIG_ROWS, leaked: 0, first: expect.stringMatching(/^u\*+@example\.com$/) as unknown };
      expect(out['streamed']).toEqual(expected);
      expect(out['streamed_binary']).toEqual(expected);
    });

    it('two suspended portals read in turn on one connection are each masked by their own columns', () => {
      expect(out['interleaved']).toEqual({
        rows: BIG_ROWS,
        leaked: 0,
        people: [
          [MASKED_ADA.ssn, '1', MASKED_ADA.card, MASKED_ADA.email],
          ['***-**-****', '2', '****-****-****-****', 'b**@example.org'],
          [null, '3', null, null],
        ],
      });
    });

    it('metadata before execution, a denied statement on the named path, a 2000-row batch, a denied batch in a transaction, autosave=always, preferQueryMode=simple', async () => {
      expect(out['metadata']).toEqual(['email', 'text', 'int4']);
      expect(out['denied_prepared']).toEqual(['42501', '42501', '42501']);
      expect(out['after_denied_prepared']).toBe(1);
      expect(out['large_batch']).toBe(2000);
      expect(await ordersTagged('jdbc-large-batch')).toBe(2000);
      expect(out['tx_batch']).toBe('42501');
      expect([await ordersTagged('jdbc-tx-batch'), await ordersTagged('jdbc-after-tx-batch')]).toEqual([0, 1]);
      // The denial rolled back to pgJDBC's automatic savepoint: the rest of the transaction committed.
      expect(out['autosave_denied']).toBe('42501');
      expect([await ordersTagged('jdbc-autosave-before'), await ordersTagged('jdbc-autosave-after')]).toEqual([1, 1]);
      expect(out['simple_mode']).toEqual([MASKED_ADA.email, MASKED_ADA.card, MASKED_ADA.ssn]);
      expect([out['simple_mode_denied'], out['simple_mode_after']]).toEqual(['42501', 1]);
    });

    it('a savepoint; a denied statement inside a transaction, rollback, more work', async () => {
      expect([await ordersTagged('jdbc-kept'), await ordersTagged('jdbc-undone')]).toEqual([1, 0]);
      expect(out['denied']).toMatchObject({ sqlstate: '42501', message: expect.stringMatching(DENIED) as unknown });
      expect(out['in_failed_tx']).toBe('25P02');
      expect(out['after_denied']).toBe(1);
    });

    it('Statement.cancel() cancels its own session only (57014); setQueryTimeout cancels on the server', () => {
      expect(out['cancel_a']).toBe('57014');
      expect(out['b_still_running']).toBe(true);
      expect(out['cancel_b']).toBe('57014');
      expect(out['usable_after_cancel']).toEqual([1, 2]);
      expect(out['query_timeout']).toMatchObject({ sqlstate: '57014', message: 'canceling statement due to user request' });
      expect(out['usable_after_timeout']).toBe(3);
    });

    it('server errors keep SQLSTATE, message, detail and hint; a wrong token is refused with 28P01', () => {
      expect(out['duplicate']).toEqual({ sqlstate: DUPLICATE.code, message: DUPLICATE.message, detail: DUPLICATE.detail, hint: null });
      expect(out['no_function']).toEqual({ sqlstate: NO_FUNCTION.code, message: NO_FUNCTION.message, detail: null, hint: NO_FUNCTION.hint });
      expect(out['wrong_token']).toMatchObject({ sqlstate: '28P01' });
    });

    it('the large-object API (fast-path calls) is refused as procedural; the connection goes on', () => {
      expect(out['large_object']).toMatchObject({ sqlstate: '42501', message: expect.stringMatching(DENIED) as unknown });
      expect(out['after_large_object']).toBe(4);
    });

    it('isValid and DatabaseMetaData (the catalog queries of pools, Hibernate and DBeaver) answer', () => {
      expect(out['metadata_api']).toEqual({
        valid: true,
        tables: ['big', 'customers', 'docs', 'orders'],
        columns: ['id:int4', 'name:text', 'email:text', 'card:varchar', 'ssn:text', 'iban:text', 'phone:text', 'note:text', 'balance:numeric', 'born:date'],
        // getPrimaryKeys calls information_schema._pg_expandarray, one of PostgreSQL's own functions.
        primary_keys: ['id'],
        foreign_keys: ['customer_id->customers.id'],
        product: expect.stringMatching(/^PostgreSQL \d+$/) as unknown,
        other_calls_refused: {},
      });
    });

    it('getGeneratedKeys (RETURNING *) of a batch, a CallableStatement, and a bytea read in text and binary, masked', () => {
      expect(out['generated_keys']).toEqual(['2:jdbc-generated', '2:jdbc-generated']);
      expect(out['callable']).toBe('JDBC');
      expect(out['bytea']).toEqual(Array(6).fill(`write to ${MASKED_ADA.email}, card ${MASKED_ADA.card}`));
    });

    it('options and currentSchema apply as startup parameters; readOnly transactions refuse writes (25006)', async () => {
      expect(out['connection_options']).toEqual(['7s', 'public', '25006']);
      expect(await ordersTagged('jdbc-read-only')).toBe(0);
    });

    it('LISTEN/NOTIFY between two connections', () => {
      expect(out['notify']).toEqual(['hello from pgjdbc']);
    });
  });

  describe('Ruby pg and PHP PDO_PGSQL (libpq)', () => {
    it('Ruby pg: masked rows, exec_params and exec_prepared, a denied statement (42501) and the session goes on', async () => {
      const conninfo = `host=127.0.0.1 port=${fx.stack.pgPort} dbname=${fx.resource} user=${fx.role} password=${fx.token} sslmode=require`;
      const { stdout } = await run('ruby', ['e2e/support/ruby_pg_client.rb'], { env: { ...process.env, GW_CONNINFO: conninfo }, timeout: 30_000 });
      expect(JSON.parse(stdout)).toEqual({
        ssl: true,
        masked: [MASKED_ADA.email, MASKED_ADA.card, MASKED_ADA.ssn],
        param: ['b**@example.org', '****-****-****-****'],
        prepared: [MASKED_ADA.ssn, MASKED_ADA.ssn],
        denied: { class: 'PG::InsufficientPrivilege', sqlstate: '42501', message: expect.stringMatching(DENIED) as unknown },
        after_denied: 1,
      });
    });

    it('PHP PDO_PGSQL: masked rows, a server-side prepared statement, a denied statement (42501) and the connection goes on', async () => {
      const { stdout } = await run('php', ['e2e/support/php_pdo_client.php'], {
        env: { ...process.env, GW_DSN: `pgsql:host=127.0.0.1;port=${fx.stack.pgPort};dbname=${fx.resource};sslmode=require`, GW_USER: fx.role, GW_TOKEN: fx.token },
        timeout: 30_000,
      });
      expect(JSON.parse(stdout)).toEqual({
        masked: [MASKED_ADA.email, MASKED_ADA.card, MASKED_ADA.ssn],
        param: [
          ['b**@example.org', '****-****-****-****'],
          [MASKED_ADA.email, MASKED_ADA.card],
        ],
        denied: { sqlstate: '42501', message: expect.stringMatching(DENIED) as unknown },
        after_denied: 1,
      });
    });
  });

  describe('pg_cancel_backend / pg_terminate_backend of the pid the gateway handed out', () => {
    /** A gateway client running `SELECT pg_sleep(<seconds>)`, and how that query ended. */
    const sleeper = async (seconds: number) => {
      const client = fx.gateway();
      await client.connect();
      client.on('error', () => undefined);
      const pid = (client as unknown as { processID: number }).processID;
      const text = `SELECT pg_sleep(${seconds})`;
      const outcome = client.query(text).then(() => 'finished', (e: { code?: string }) => e.code ?? 'error');
      await expect.poll(() => sleepRunning(text), { timeout: 10_000 }).toBe(true);
      return { client, pid, outcome };
    };

    it('node-postgres: the literal pid (simple protocol) cancels the other session (57014) and answers true', async () => {
      const target = await sleeper(31);
      const canceller = fx.gateway();
      await canceller.connect();
      try {
        expect((await canceller.query(`SELECT pg_cancel_backend(${target.pid})`)).rows).toEqual([{ pg_cancel_backend: true }]);
        expect(await target.outcome).toBe('57014');
        expect((await target.client.query('SELECT 1 AS still')).rows).toEqual([{ still: 1 }]);
      } finally {
        await Promise.all([canceller.end(), target.client.end()]);
      }
    });

    it('node-postgres: pg_terminate_backend($1) (extended protocol) ends the other session', async () => {
      const target = await sleeper(32);
      const killer = fx.gateway();
      await killer.connect();
      try {
        expect((await killer.query('SELECT pg_terminate_backend($1)', [target.pid])).rows).toEqual([{ pg_terminate_backend: true }]);
        expect(await target.outcome).toBe('57P01');
        await expect.poll(() => sleepRunning('SELECT pg_sleep(32)'), { timeout: 10_000 }).toBe(false);
        // The killer's own session goes on.
        expect((await killer.query('SELECT 2 AS still')).rows).toEqual([{ still: 2 }]);
      } finally {
        await killer.end();
        await target.client.end().catch(() => undefined);
      }
    });

    it('psql: SELECT pg_cancel_backend(<pid>) prints t and the query is cancelled', async () => {
      const target = await sleeper(33);
      try {
        const { stdout } = await run('psql', [`host=127.0.0.1 port=${fx.stack.pgPort} dbname=${fx.resource} user=${fx.role} sslmode=require`, '-X', '-At', '-c', `SELECT pg_cancel_backend(${target.pid});`], {
          env: { ...process.env, PGPASSWORD: fx.token },
        });
        expect(stdout.trim()).toBe('t');
        expect(await target.outcome).toBe('57014');
      } finally {
        await target.client.end();
      }
    });

    it('another principal cannot cancel it, even one that policy lets run pg_cancel_backend; other pids stay with policy', async () => {
      const target = await sleeper(2);
      const admin = fx.gateway({ password: await fx.stack.cp.token('security-admin') });
      await admin.connect();
      try {
        await expect(admin.query(`SELECT pg_cancel_backend(${target.pid})`)).rejects.toMatchObject({
          code: '42501',
          message: `pg_cancel_backend(${target.pid}): process ${target.pid} belongs to a session of another principal; a session may cancel or end only sessions of its own principal`,
        });
        await expect(admin.query('SELECT pg_terminate_backend($1)', [target.pid])).rejects.toMatchObject({ code: '42501' });
        // Untouched: it sleeps to its end.
        expect(await target.outcome).toBe('finished');
        // A pid the gateway did not hand out is an ordinary admin call: policy forbids it to the workload.
        const own = fx.gateway();
        await own.connect();
        try {
          await expect(own.query('SELECT pg_cancel_backend(pg_backend_pid())')).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(DENIED) as unknown });
          await expect(own.query('SELECT pg_cancel_backend($1)', [2 ** 31 - 2])).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(DENIED) as unknown });
        } finally {
          await own.end();
        }
      } finally {
        await Promise.all([admin.end(), target.client.end()]);
      }
    });
  });

  describe('psql', () => {
    it('a psql session: prepared statement, savepoint, FETCH_COUNT streaming, denied statement then rollback, LISTEN/NOTIFY, errors with DETAIL and HINT', async () => {
      const script = [
        'PREPARE by_id(int) AS SELECT email, card FROM customers WHERE id = $1;',
        'EXECUTE by_id(1);',
        'BEGIN;',
        "INSERT INTO orders (customer_id, amount, item) VALUES (1, 1, 'psql-kept');",
        'SAVEPOINT s1;',
        "INSERT INTO orders (customer_id, amount, item) VALUES (1, 2, 'psql-undone');",
        'ROLLBACK TO SAVEPOINT s1;',
        'COMMIT;',
        '\\set FETCH_COUNT 5000',
        "SELECT count(*) FILTER (WHERE email = 'user' || id || '@example.com') AS leaked, count(*) AS n FROM big;",
        "SELECT email FROM big WHERE id IN (1, 20000) ORDER BY id;",
        '\\unset FETCH_COUNT',
        'BEGIN;',
        'DELETE FROM orders WHERE id = 1;',
        'ROLLBACK;',
        'SELECT count(*) AS after_denied FROM orders WHERE id = 1;',
        'LISTEN gw_matrix_psql;',
        "NOTIFY gw_matrix_psql, 'hello from psql';",
        "INSERT INTO customers (id, name) VALUES (1, 'dup');",
        'SELECT lower(1, 2);',
      ].join('\n');
      const child = spawn('psql', [`host=127.0.0.1 port=${fx.stack.pgPort} dbname=${fx.resource} user=${fx.role} sslmode=require`, '-X', '-At', '-v', 'VERBOSITY=verbose'], {
        env: { ...process.env, PGPASSWORD: fx.token, PGOPTIONS: '-c statement_timeout=30s' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdin.end(script);
      await new Promise((resolve) => child.on('close', resolve));
      expect(stdout).toContain(`${MASKED_ADA.email}|${MASKED_ADA.card}`);
      expect(stdout).toContain(`0|${BIG_ROWS}`);
      expect(stdout).toMatch(/\nu\*+@example\.com\nu\*+@example\.com\n/);
      expect(stdout).toMatch(/Asynchronous notification "gw_matrix_psql" with payload "hello from psql" received/);
      expect(stderr).toMatch(/ERROR: {2}42501: denied by policy "no-destructive"/);
      expect(stdout).toMatch(/\n1\n/); // after_denied
      expect(stderr).toContain('ERROR:  23505: duplicate key value violates unique constraint "customers_pkey"\nDETAIL:  Key (id)=(1) already exists.');
      expect(stderr).toContain(`ERROR:  42883: function lower(integer, integer) does not exist\nLINE 1: SELECT lower(1, 2);\n               ^\nHINT:  ${NO_FUNCTION.hint}`);
      expect([await ordersTagged('psql-kept'), await ordersTagged('psql-undone')]).toEqual([1, 0]);
    });

    it('Ctrl-C (SIGINT) cancels a running query with 57014', async () => {
      const child = spawn('psql', [`host=127.0.0.1 port=${fx.stack.pgPort} dbname=${fx.resource} user=${fx.role} sslmode=require`, '-X', '-At', '-c', 'SELECT pg_sleep(20)'], {
        env: { ...process.env, PGPASSWORD: fx.token },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      await expect.poll(() => sleepRunning('SELECT pg_sleep(20)'), { timeout: 10_000 }).toBe(true);
      child.kill('SIGINT');
      await new Promise((resolve) => child.on('close', resolve));
      // psql sent a CancelRequest (a new connection with the key the gateway handed out): the server's answer.
      expect(stderr).toContain('ERROR:  canceling statement due to user request');
      expect(stderr).not.toMatch(/FATAL|server closed/);
    });
  });

  describe('long sessions: cursors and portals the server closed are forgotten', () => {
    it('pgJDBC reads 10,100 fetch-size queries on one connection, each through a new named portal, masked', async () => {
      const { stdout } = await run('java', ['-cp', '/usr/share/java/postgresql.jar', 'e2e/support/PgJdbcCursors.java'], {
        env: { ...process.env, GW_PORT: String(fx.stack.pgPort), GW_DB: fx.resource, GW_USER: fx.role, GW_TOKEN: fx.token, GW_QUERIES: '10100' },
        timeout: 120_000,
      });
      // Before: the 10,001st query was refused ("too many cursors and portals in one session").
      expect(JSON.parse(stdout)).toEqual({ done: 10_100, last: MASKED_ADA.email });
    }, 150_000);

    it('node-postgres declares, fetches and closes 10,100 named cursors in one session; COMMIT ends those without HOLD', async () => {
      const client = new pg.Client(gateway);
      await client.connect();
      try {
        let fetched = '';
        for (let batch = 0; batch < 101; batch++) {
          const parts = ['BEGIN'];
          for (let i = 0; i < 50; i++) {
            const name = `cur_${batch}_${i}`;
            parts.push(`DECLARE ${name} CURSOR FOR SELECT email FROM customers WHERE id = 1`, `FETCH 1 FROM ${name}`);
            // Half are closed by CLOSE, half by the end of the transaction.
            if (i % 2 === 0) parts.push(`CLOSE ${name}`);
          }
          parts.push('COMMIT');
          const results = (await client.query(parts.join('; '))) as unknown as pg.QueryResult<{ email: string }>[];
          fetched = results.find((r) => r.command === 'FETCH')?.rows[0]?.email ?? '';
        }
        expect(fetched).toBe(MASKED_ADA.email);
        // A cursor the server closed cannot be read through the gateway any more (the server would refuse it too).
        await expect(client.query('BEGIN; FETCH 1 FROM cur_0_1')).rejects.toThrow(/was not declared through the gateway/);
        await client.query('ROLLBACK');
      } finally {
        await client.end();
      }
    }, 120_000);

    it('a cursor WITH HOLD outlives COMMIT and stays masked; a refused redeclaration does not replace it', async () => {
      const client = new pg.Client(gateway);
      await client.connect();
      try {
        await client.query('BEGIN; DECLARE held CURSOR WITH HOLD FOR SELECT email FROM customers WHERE id = 1; COMMIT');
        // The server refuses this DECLARE (the name is taken): the rows a FETCH reads are still the email's.
        await expect(client.query('DECLARE held CURSOR WITH HOLD FOR SELECT 1 AS email')).rejects.toThrow(/cursor "held" already exists/);
        expect((await client.query<{ email: string }>('FETCH 1 FROM held')).rows).toEqual([{ email: MASKED_ADA.email }]);
        await client.query('CLOSE held');
        await client.query('DECLARE held CURSOR WITH HOLD FOR SELECT 1 AS n');
        expect((await client.query<{ n: number }>('FETCH 1 FROM held')).rows).toEqual([{ n: 1 }]);
        await client.query('CLOSE ALL');
        await expect(client.query('FETCH 1 FROM held')).rejects.toThrow(/was not declared through the gateway/);
      } finally {
        await client.end();
      }
    });
  });
});
