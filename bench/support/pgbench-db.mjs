// The benches' own Postgres database: made afresh per run, with the unprivileged role the gateway
// sessions log in as (`bench_user`).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);
const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Drops and creates `db`, and makes sure the role `bench_user` exists. */
export async function freshDatabase(db) {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${db}`);
  if ((await admin.query(`SELECT 1 FROM pg_roles WHERE rolname = 'bench_user'`)).rowCount === 0) await admin.query('CREATE ROLE bench_user NOLOGIN');
  await admin.end();
}

/** Runs SQL in `db` as postgres. */
export async function inDatabase(db, sql) {
  const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${db}` });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A fresh pgbench database (scale 10) that `bench_user` may use with the given privileges. */
export async function preparePgbench(db, privileges = 'SELECT, INSERT, UPDATE') {
  await freshDatabase(db);
  await run('pgbench', ['-i', '-s', '10', '-q', '-h', '127.0.0.1', '-U', 'postgres', db]);
  await inDatabase(db, `GRANT ${privileges} ON ALL TABLES IN SCHEMA public TO bench_user`);
}

