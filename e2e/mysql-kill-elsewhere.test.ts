import type { NestExpressApplication } from '@nestjs/platform-express';
import type mysql from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../apps/control-plane/src/app.js';
import { MysqlEndpoint } from '../apps/control-plane/src/mysql-endpoint/mysql-endpoint.service.js';
import { startMysqlFixture, type MysqlFixture } from './support/mysql-fixture.js';

const POLICY = `
@id("my-connect") permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "mysql" };
@id("my-read") permit (principal, action in Gateway::Action::"sql:read", resource) when { principal.gatewayRoles.contains("requester") };
`;

/**
 * `KILL [QUERY] <id>` (what `mysql`'s Ctrl-C sends on a second connection) where the target session
 * runs through another agent, or its client is on another control plane replica: two agents serve
 * the resource, and a second replica shares the database and Redis (the agents keep a tunnel to it).
 */
describe('KILL of a session served by another agent or held by another replica', () => {
  let fx: MysqlFixture;
  let replicaB: NestExpressApplication | undefined;
  const open: mysql.Connection[] = [];

  /** Which agent serves the session the gateway gave this connection id. */
  const agentOf = async (c: mysql.Connection): Promise<string> => {
    const rows = await fx.stack.cp.app.get(DataSource).query<{ agent_id: string }[]>(
      `SELECT agent_id FROM sessions WHERE client_key = $1 AND status IN ('opening', 'active')`, [c.threadId],
    );
    expect(rows).toHaveLength(1);
    return rows[0]!.agent_id;
  };
  const connect = async (extra: mysql.ConnectionOptions = {}) => {
    const c = await fx.gateway(extra);
    c.on('error', () => undefined);
    open.push(c);
    return c;
  };
  /** A connection whose `SELECT SLEEP(n)` runs now, and how it ended (the error number, or `finished`). */
  const sleeper = async (seconds: number, extra: mysql.ConnectionOptions = {}) => {
    const c = await connect(extra);
    const outcome = c.query(`SELECT SLEEP(${seconds}) AS s`).then(() => 'finished', (e: { errno?: number }) => e.errno ?? 'error');
    const direct = await fx.direct();
    try {
      await expect.poll(async () => ((await direct.query(`SELECT 1 FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(${seconds}) AS s'`))[0] as unknown[]).length, { timeout: 10_000 }).toBe(1);
    } finally {
      await direct.end();
    }
    return { c, outcome };
  };
  /** A connection (through replica A unless `extra.port` says otherwise) served by an agent other than `agentId`. */
  const connectedElsewhere = async (agentId: string, extra: mysql.ConnectionOptions = {}): Promise<mysql.Connection> => {
    for (let tries = 0; tries < 4; tries += 1) {
      const c = await connect(extra);
      if ((await agentOf(c)) !== agentId) return c;
    }
    throw new Error('every connection landed on the same agent');
  };

  beforeAll(async () => {
    fx = await startMysqlFixture('killx', { policy: POLICY, env: { REPLICA_HEARTBEAT_MS: '300', REPLICA_STALE_AFTER_MS: '3000' }, agentControlPlane: { replicaRefreshSeconds: 1 } });
    await fx.stack.addAgent('edge-e2e-2', [fx.stackResource]);
    const a = fx.stack.cp.config;
    replicaB = await createApp({
      ...a, http: { ...a.http, port: 0 }, postgres: { ...a.postgres, port: 0 }, ssh: { ...a.ssh, port: 0 }, kubernetes: { ...a.kubernetes, port: -1 }, mysql: { ...a.mysql, port: 0 },
      replica: { ...a.replica, name: 'replica-b' }, dataDir: `${a.dataDir}-b`,
    });
    await replicaB.listen(0, '127.0.0.1');
    // Both agents keep a tunnel to the new replica (they learn it from the replicas table).
    const deadline = Date.now() + 15_000;
    while (!fx.stack.agents.every((agent) => agent.stats().otherReplicas.ready === 1)) {
      if (Date.now() > deadline) throw new Error('the agents did not connect to replica B');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 60_000);
  afterAll(async () => {
    for (const c of open) c.destroy();
    await replicaB?.close();
    await fx?.close();
  });

  it('KILL QUERY from a session on another agent stops the statement; the target connection goes on', async () => {
    const target = await sleeper(31);
    const killer = await connectedElsewhere(await agentOf(target.c));
    await killer.query(`KILL QUERY ${target.c.threadId}`);
    expect(await target.outcome).toBe(1317); // ER_QUERY_INTERRUPTED
    expect((await target.c.query('SELECT 1 AS still'))[0]).toEqual([{ still: 1 }]);
  });

  it('KILL QUERY reaches a session whose client is on another replica and whose agent is another one', async () => {
    const onB = replicaB!.get(MysqlEndpoint).port!;
    const target = await sleeper(32, { port: onB });
    const killer = await connectedElsewhere(await agentOf(target.c));
    await killer.query(`KILL QUERY ${target.c.threadId}`);
    expect(await target.outcome).toBe(1317);
  });

  it('KILL <id> of a session on another agent ends that connection', async () => {
    const target = await sleeper(33);
    const killer = await connectedElsewhere(await agentOf(target.c));
    await killer.query(`KILL ${target.c.threadId}`);
    expect(await target.outcome).toBe(1927); // ER_CONNECTION_KILLED
    expect((await killer.query('SELECT 2 AS still'))[0]).toEqual([{ still: 2 }]);
  });

  it('another principal gets 1095 and the statement runs on; an id no session has gets 1094', async () => {
    const target = await sleeper(2);
    const other = await fx.stack.cp.token('ci-pipeline');
    const stranger = await connectedElsewhere(await agentOf(target.c), { password: other, authPlugins: { mysql_clear_password: () => () => Buffer.from(`${other}\0`) } });
    await expect(stranger.query(`KILL QUERY ${target.c.threadId}`)).rejects.toMatchObject({ errno: 1095 });
    await expect(stranger.query(`KILL ${target.c.threadId}`)).rejects.toMatchObject({ errno: 1095 });
    expect(await target.outcome).toBe('finished');
    await expect(stranger.query('KILL QUERY 2147483000')).rejects.toMatchObject({ errno: 1094 });
  });
});
