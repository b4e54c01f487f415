import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from './support/agent-process.js';
import { spawnReplica, type ControlPlaneProcess } from './support/control-plane-process.js';
import { startPgFixture, type PgFixture } from './support/pg-fixture.js';

/** Heartbeats and sweeps fast enough for a test: a replica is gone 1.5 s after its last beat. */
const FAST_SWEEP = { REPLICA_HEARTBEAT_MS: '300', REPLICA_STALE_AFTER_MS: '1500', SESSION_SWEEP_INTERVAL_MS: '300' };

interface SessionRow { id: string; status: string; endReason: string | null; declared: Record<string, unknown> }

async function sessionsOf(fx: PgFixture): Promise<SessionRow[]> {
  return (await fx.stack.cp.request('GET', `/api/v1/sessions?resource=${fx.resource}&limit=50`, { token: fx.stack.admin })).body.items as SessionRow[];
}

async function sessionNamed(fx: PgFixture, applicationName: string): Promise<SessionRow> {
  let found: SessionRow | undefined;
  await expect.poll(async () => {
    found = (await sessionsOf(fx)).find((s) => s.declared.applicationName === applicationName);
    return found?.status;
  }, { timeout: 10_000 }).toBe('active');
  return found!;
}

/** A replica of the fixture's control plane as its own process, with an agent process serving the fixture's resource on it. */
async function replicaWithAgent(fx: PgFixture, env: Record<string, string>): Promise<{ replica: ControlPlaneProcess; agent: AgentProcess }> {
  const replica = await spawnReplica(fx.stack.cp, env);
  const reg = await fx.stack.cp.request('POST', '/api/v1/agents', { token: fx.stack.admin, body: { name: `edge-replica-${Date.now()}` } });
  const agent = spawnAgent({
    controlPlaneUrl: replica.baseUrl,
    credential: reg.body.credential as string,
    resources: [{ name: fx.resource, type: 'postgres', address: '127.0.0.1:5432', credentials: { user: 'literal:postgres' }, postgres: { database: fx.resource } }],
  });
  return { replica, agent };
}

/** Connects through a replica's Postgres endpoint, retrying while its agent is still dialling in. */
async function connectThrough(fx: PgFixture, port: number, applicationName: string): Promise<pg.Client> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const c = fx.gateway({ port, application_name: applicationName });
    c.on('error', () => undefined);
    try {
      await c.connect();
      return c;
    } catch (error) {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe('a control plane replica killed with kill -9', () => {
  let fx: PgFixture;
  let other: { replica: ControlPlaneProcess; agent: AgentProcess };
  beforeAll(async () => {
    fx = await startPgFixture('rkill', { env: FAST_SWEEP });
    other = await replicaWithAgent(fx, FAST_SWEEP);
  });
  afterAll(async () => {
    await other?.agent.kill();
    await other?.replica.kill();
    await fx?.close();
  });

  it('its sessions are closed by the surviving replica with the reason and audited; sessions on the survivor go on', async () => {
    const survivor = fx.gateway({ application_name: 'on-survivor' });
    await survivor.connect();
    const doomed = await connectThrough(fx, other.replica.pgPort, 'on-doomed-replica');
    expect((await doomed.query('SELECT name FROM customers WHERE id = 1')).rows[0].name).toBe('Ada Lovelace');
    const doomedSession = await sessionNamed(fx, 'on-doomed-replica');
    const survivorSession = await sessionNamed(fx, 'on-survivor');

    await other.replica.kill('SIGKILL');
    await expect.poll(async () => (await sessionsOf(fx)).find((s) => s.id === doomedSession.id)?.status, { timeout: 15_000 }).toBe('failed');
    const closed = (await sessionsOf(fx)).find((s) => s.id === doomedSession.id)!;
    expect(closed.endReason).toMatch(/control plane replica holding the session stopped \(replica .+, last heartbeat \d{4}-/);

    const audit = await fx.stack.cp.request('GET', '/api/v1/audit/events?action=session.closed&limit=100', { token: fx.stack.admin });
    const event = (audit.body.items as { outcome: string; details: Record<string, unknown> }[]).find((e) => e.details.sessionId === doomedSession.id);
    expect(event?.outcome).toBe('failure');
    expect(String(event?.details.closedBy)).toContain('session sweep of replica');

    // The survivor's own session was never touched, and still works.
    expect((await survivor.query('SELECT count(*)::int AS n FROM orders')).rows[0].n).toBe(3);
    expect((await sessionsOf(fx)).find((s) => s.id === survivorSession.id)?.status).toBe('active');
    await survivor.end();
    await doomed.end().catch(() => undefined);
  });
});

describe('a replica restarted after kill -9 under the same REPLICA_NAME', () => {
  let fx: PgFixture;
  beforeAll(async () => {
    // The in-process replica waits 10 minutes before calling another one stale: only the restart can close it.
    fx = await startPgFixture('rrestart', { env: { REPLICA_STALE_AFTER_MS: '600000', SESSION_SWEEP_INTERVAL_MS: '600000' } });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('closes what its earlier life left open, at start, naming the restart', async () => {
    const name = `replica-${Date.now()}`;
    const first = await replicaWithAgent(fx, { REPLICA_NAME: name });
    const client = await connectThrough(fx, first.replica.pgPort, 'before-the-crash');
    const session = await sessionNamed(fx, 'before-the-crash');
    await first.replica.kill('SIGKILL');
    await first.agent.kill();
    await client.end().catch(() => undefined);
    expect((await sessionsOf(fx)).find((s) => s.id === session.id)?.status).toBe('active'); // nobody has noticed yet

    const again = await spawnReplica(fx.stack.cp, { REPLICA_NAME: name });
    try {
      await expect.poll(async () => (await sessionsOf(fx)).find((s) => s.id === session.id)?.status, { timeout: 10_000 }).toBe('failed');
      expect((await sessionsOf(fx)).find((s) => s.id === session.id)?.endReason).toBe(`control plane replica ${name} restarted; the session's client connection was lost`);
    } finally {
      await again.kill();
    }
  });
});
