import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PG_FUNCTIONS, PG_FUNCTIONS_SERVER_VERSION } from '../src/index.js';

/**
 * The generated function table must classify every function the running server has in pg_catalog and
 * information_schema. A new PostgreSQL version fails here, listing each new or changed function: run
 * `npm run gen:function-classes`, review the diff of src/classify/pg-functions.generated.ts (and the
 * rules in scripts/function-review.mjs for anything `unreviewed`), and commit it.
 */
const SERVER = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' };

interface CatalogFunction {
  signature: string;
  volatility: string;
}

describe('generated function table against the running server', () => {
  let client: pg.Client;
  let catalog: CatalogFunction[];

  beforeAll(async () => {
    client = new pg.Client(SERVER);
    await client.connect();
    const { rows } = await client.query<CatalogFunction>(
      `SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS signature,
              p.provolatile AS volatility
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname IN ('pg_catalog', 'information_schema')`,
    );
    catalog = rows;
  });

  afterAll(async () => {
    await client?.end();
  });

  it('lists every function of the server', () => {
    const known = new Set(PG_FUNCTIONS.map((row) => `${row[0]}.${row[1]}(${row[2]})`));
    const missing = catalog.map((f) => f.signature).filter((s) => !known.has(s)).sort();
    expect(missing, `not classified (table generated from PostgreSQL ${PG_FUNCTIONS_SERVER_VERSION}): regenerate and review`).toEqual([]);
  });

  it('records each function with the volatility the server declares', () => {
    const declared = new Map(PG_FUNCTIONS.map((row) => [`${row[0]}.${row[1]}(${row[2]})`, row[3]]));
    const changed = catalog.filter((f) => declared.has(f.signature) && declared.get(f.signature) !== f.volatility).map((f) => f.signature);
    expect(changed, 'volatility changed since the table was generated: regenerate and review').toEqual([]);
  });
});
