import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EphemeralRoles, ephemeralRoleName } from '../apps/agent/src/protocols/postgres/ephemeral-roles.js';
import { startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.js';

const AGENT = 'agent-one';
const hour = () => new Date(Date.now() + 3600_000);

describe('ephemeral roles across a database restart', () => {
  let db: PrivatePostgres;
  let pool: pg.Pool;
  const exists = async (name: string) => (await db.psql(`SELECT count(*) FROM pg_roles WHERE rolname = '${name}'`)).trim() === '1';

  beforeAll(async () => {
    db = await startPrivatePostgres({ plainTcp: true });
    await db.psql('CREATE ROLE app_reader NOLOGIN');
    pool = new pg.Pool({ host: '127.0.0.1', port: db.port, user: 'postgres', database: 'postgres' });
    pool.on('error', () => undefined); // idle clients die with the restart
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await db?.stop();
  });

  it('a drop that fails while the database restarts is retried until the role is gone', async () => {
    const roles = new EphemeralRoles(pool, () => AGENT, { dropRetryMs: 200 });
    const made = await roles.create(randomUUID(), 'app_reader', hour());
    expect(await exists(made.name)).toBe(true);
    await db.halt();
    await expect(roles.drop(made.name)).rejects.toThrow();
    expect(roles.pendingDrops).toEqual([made.name]);
    await new Promise((r) => setTimeout(r, 700)); // retries fail meanwhile
    await db.resume();
    await expect.poll(() => roles.pendingDrops.length, { timeout: 15_000 }).toBe(0);
    expect(await exists(made.name)).toBe(false);
    roles.close();
  });

  it('the sweep of leftovers repeats, sparing the roles of live sessions', async () => {
    const roles = new EphemeralRoles(pool, () => AGENT, { sweepIntervalMs: 0 });
    const live = await roles.create(randomUUID(), 'app_reader', hour());
    // Left by an earlier run of this agent (its process died before dropping it), found after the first sweep.
    const leftover = ephemeralRoleName(AGENT, 'deadbeef-0000');
    await db.psql(`CREATE ROLE ${leftover} LOGIN; COMMENT ON ROLE ${leftover} IS 'gateway ephemeral role for session deadbeef'`);
    const next = await roles.create(randomUUID(), 'app_reader', hour());
    expect(await exists(leftover)).toBe(false);
    expect(await exists(live.name)).toBe(true);
    await roles.drop(live.name);
    await roles.drop(next.name);
    roles.close();
  });
});
