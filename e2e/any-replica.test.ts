import type { NestExpressApplication } from '@nestjs/platform-express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../apps/control-plane/src/app.js';
import { PgEndpoint } from '../apps/control-plane/src/pg-endpoint/pg-endpoint.service.js';
import { startPgFixture, type PgFixture, PII } from './support/pg-fixture.js';
import { sessionEvents } from './support/session-events.js';

/**
 * Two control plane replicas on one database and Redis; the agent is configured with replica A only.
 * A client that lands on replica B reaches the agent through the tunnel the agent keeps to B. B has
 * a data directory (and so a grant signing key) of its own, as separate hosts would.
 */
describe('any replica serves any session', () => {
  let fx: PgFixture;
  let replicaB: NestExpressApplication | undefined;
  const agentStats = () => fx.stack.agents[0]!.stats();

  beforeAll(async () => {
    fx = await startPgFixture('anyrep', { env: { REPLICA_HEARTBEAT_MS: '300', REPLICA_STALE_AFTER_MS: '3000' }, agentControlPlane: { replicaRefreshSeconds: 1 } });
    const a = fx.stack.cp.config;
    replicaB = await createApp({ ...a, http: { ...a.http, port: 0 }, postgres: { ...a.postgres, port: 0 }, ssh: { ...a.ssh, port: 0 }, kubernetes: { ...a.kubernetes, port: -1 }, replica: { ...a.replica, name: 'replica-b' }, dataDir: `${a.dataDir}-b` });
    await replicaB.listen(0, '127.0.0.1');
  }, 60_000);
  afterAll(async () => {
    await replicaB?.close();
    await fx?.close();
  });

  it('the agent opens a tunnel to the new replica; a client on that replica runs masked queries; the tunnel goes with the replica', async () => {
    expect(agentStats().otherReplicas).toEqual({ total: 0, ready: 0 }); // only A was there when it connected
    await expect.poll(() => agentStats().otherReplicas, { timeout: 15_000 }).toEqual({ total: 1, ready: 1 });

    // Each replica signs session grants with its own key: both keep working side by side.
    const onA = fx.gateway({ application_name: 'landed-on-a' });
    await onA.connect();
    expect((await onA.query('SELECT count(*)::int AS n FROM orders')).rows[0].n).toBe(3);
    await onA.end();

    const client = fx.gateway({ port: replicaB!.get(PgEndpoint).port!, application_name: 'landed-on-b' });
    await client.connect();
    const rows = (await client.query('SELECT email FROM customers WHERE id = 1')).rows;
    expect(rows[0].email).not.toBe(PII.ada.email);
    expect(rows[0].email).toMatch(/^a\*+@example\.com$/);
    const items = (await fx.stack.cp.request('GET', `/api/v1/sessions?resource=${fx.resource}`, { token: fx.stack.admin })).body.items as { id: string; declared: Record<string, unknown> }[];
    const session = items.find((s) => s.declared.applicationName === 'landed-on-b')!;
    await client.end();
    await sessionEvents(fx.stack, session.id, (events) => events.some((e) => e.type === 'pg.statement') && events.some((e) => e.type === 'pg.end'));

    await replicaB!.close();
    replicaB = undefined;
    await expect.poll(() => agentStats().otherReplicas.total, { timeout: 15_000 }).toBe(0);
    expect(agentStats().connected).toBe(true);
  });
});
