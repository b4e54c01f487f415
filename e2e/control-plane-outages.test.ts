import type { NestExpressApplication } from '@nestjs/platform-express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../apps/control-plane/src/app.js';
import { PrivateRedis } from '../apps/control-plane/test/support/private-redis.js';
import { startPgFixture, type PgFixture } from './support/pg-fixture.js';
import { startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.js';
import { sessionEvents } from './support/session-events.js';

interface SessionRow { id: string; status: string; endReason: string | null; killedBy: unknown; declared: Record<string, unknown> }
interface AuditRow { action: string; outcome: string; details: Record<string, unknown> }

async function sessionNamed(fx: PgFixture, applicationName: string): Promise<SessionRow> {
  let found: SessionRow | undefined;
  await expect.poll(async () => {
    const items = (await fx.stack.cp.request('GET', `/api/v1/sessions?resource=${fx.resource}&limit=50`, { token: fx.stack.admin })).body.items as SessionRow[];
    found = items.find((s) => s.declared.applicationName === applicationName);
    return found?.status;
  }, { timeout: 10_000 }).not.toBeUndefined();
  return found!;
}

const session = async (fx: PgFixture, id: string): Promise<SessionRow> =>
  (await fx.stack.cp.request('GET', `/api/v1/sessions/${id}`, { token: fx.stack.admin })).body as SessionRow;

const auditFor = async (fx: PgFixture, action: string, sessionId: string): Promise<AuditRow[]> =>
  ((await fx.stack.cp.request('GET', `/api/v1/audit/events?action=${action}&limit=200`, { token: fx.stack.admin })).body.items as AuditRow[])
    .filter((e) => e.details.sessionId === sessionId);

describe('a kill asked while Redis is down', () => {
  let redis: PrivateRedis;
  let fx: PgFixture;
  let replicaB: NestExpressApplication;
  let baseB: string;
  const killOnB = (id: string) => fetch(`${baseB}/api/v1/sessions/${id}/kill`, { method: 'POST', headers: { authorization: `Bearer ${fx.stack.admin}` } });

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    // The sweep sends recorded kills again: a kill published while the holder's subscriber was still
    // reconnecting (Redis just restarted) is lost by pub/sub and arrives with the next sweep.
    fx = await startPgFixture('rediskill', { env: { REDIS_URL: redis.url, SESSION_SWEEP_INTERVAL_MS: '1000' } });
    const a = fx.stack.cp.config;
    replicaB = await createApp({ ...a, http: { ...a.http, port: 0 }, postgres: { ...a.postgres, port: 0 }, ssh: { ...a.ssh, port: 0 }, kubernetes: { ...a.kubernetes, port: -1 } , replica: { ...a.replica, name: 'replica-b' }, dataDir: `${a.dataDir}-b` });
    await replicaB.listen(0, '127.0.0.1');
    baseB = `http://127.0.0.1:${(replicaB.getHttpServer().address() as { port: number }).port}`;
  }, 60_000);
  afterAll(async () => {
    await redis?.up().catch(() => undefined);
    await replicaB?.close();
    await fx?.close();
    await redis?.down();
  });

  it('is done by the replica holding the session; elsewhere it is refused (503), audited as failed, and the session goes on; with Redis back it works', async () => {
    const remote = fx.gateway({ application_name: 'kill-from-elsewhere' });
    const local = fx.gateway({ application_name: 'kill-where-held' });
    remote.on('error', () => undefined);
    local.on('error', () => undefined);
    await remote.connect();
    await local.connect();
    const remoteSession = await sessionNamed(fx, 'kill-from-elsewhere');
    const localSession = await sessionNamed(fx, 'kill-where-held');

    await redis.down();
    const refused = await killOnB(remoteSession.id);
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { message: string }).message).toMatch(/was not killed: the replicas' message bus \(Redis\) is unavailable.*the session goes on/);
    expect((await remote.query('SELECT count(*)::int AS n FROM orders')).rows[0].n).toBe(3);
    expect(await session(fx, remoteSession.id)).toMatchObject({ status: 'active', killedBy: null });
    expect((await auditFor(fx, 'session.kill', remoteSession.id)).map((e) => e.outcome)).toEqual(['failure']);

    // Asked of the replica that holds it, the kill needs no message bus.
    const killed = await fx.stack.cp.request('POST', `/api/v1/sessions/${localSession.id}/kill`, { token: fx.stack.admin });
    expect(killed.status).toBe(202);
    await expect(local.query('SELECT 1')).rejects.toThrow();
    await expect.poll(async () => (await session(fx, localSession.id)).status, { timeout: 10_000 }).toBe('killed');
    expect((await auditFor(fx, 'session.kill', localSession.id)).map((e) => [e.outcome, e.details.delivered])).toEqual([['success', 'this replica']]);

    await redis.up();
    // The refused kill must stay refused: nothing queued while Redis was down is sent after it returns.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await remote.query('SELECT 1 AS alive')).rows[0].alive).toBe(1);
    expect(await session(fx, remoteSession.id)).toMatchObject({ status: 'active', killedBy: null });
    await expect.poll(async () => (await killOnB(remoteSession.id)).status, { timeout: 15_000, interval: 500 }).toBe(202);
    await expect.poll(async () => (await session(fx, remoteSession.id)).status, { timeout: 10_000 }).toBe('killed');
    await expect(remote.query('SELECT 1')).rejects.toThrow();
    await remote.end().catch(() => undefined);
    await local.end().catch(() => undefined);
  });
});

describe('the control plane database restarted', () => {
  let db: PrivatePostgres;
  let fx: PgFixture;
  beforeAll(async () => {
    db = await startPrivatePostgres({ plainTcp: true });
    fx = await startPgFixture('cpdb', { env: { DATABASE_URL: `postgres://postgres@127.0.0.1:${db.port}/gateway` } });
  }, 60_000);
  afterAll(async () => {
    await db?.resume().catch(() => undefined);
    await fx?.close();
    await db?.stop();
  });

  it('readiness turns red, live sessions go on, new ones get 57P03, and the session end and its recording arrive afterwards', async () => {
    const client = fx.gateway({ application_name: 'through-the-outage' });
    client.on('error', () => undefined);
    await client.connect();
    const live = await sessionNamed(fx, 'through-the-outage');

    await db.halt();
    const ready = await fetch(`${fx.stack.cp.baseUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { postgres: string } }).checks.postgres).toMatch(/^error/);
    expect((await fetch(`${fx.stack.cp.baseUrl}/healthz`)).status).toBe(200);

    // The session does not need the control plane's database: statements run and are recorded later.
    expect((await client.query('SELECT name FROM customers WHERE id = 2 /* during-the-outage */')).rows[0].name).toBe('Bob Builder');
    const refused = fx.gateway({ application_name: 'opened-during-the-outage' });
    refused.on('error', () => undefined);
    await expect(refused.connect()).rejects.toMatchObject({ code: '57P03' });
    await client.end();
    await new Promise((r) => setTimeout(r, 1500)); // the end is written while the database is still down

    await db.resume();
    await expect.poll(async () => (await fetch(`${fx.stack.cp.baseUrl}/readyz`)).status, { timeout: 20_000 }).toBe(200);
    await expect.poll(async () => (await session(fx, live.id)).status, { timeout: 40_000, interval: 500 }).toBe('ended');
    expect((await auditFor(fx, 'session.closed', live.id)).map((e) => e.outcome)).toEqual(['success']);
    const events = await sessionEvents(fx.stack, live.id, (all) => all.some((e) => e.type === 'pg.statement' && JSON.stringify(e.data).includes('during-the-outage')), 40_000);
    expect(events.some((e) => e.type === 'pg.end')).toBe(true);
  });
});
