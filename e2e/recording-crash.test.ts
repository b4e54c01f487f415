import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from './support/agent-process.js';
import { startPgFixture, type PgFixture } from './support/pg-fixture.js';

interface EventDto {
  seq: number;
  type: string;
  data: Record<string, unknown>;
}

/*
 * The recording spool group-commits events (one write and fsync per flush interval) and ships them
 * later in batches. A crash of the agent between the statement and the shipment must not lose the
 * statement: it is on disk, and the restarted agent sends it.
 */
describe('recording: events of completed statements survive a SIGKILL of the agent', () => {
  let fx: PgFixture;
  let agent: (AgentProcess & { dir: string }) | undefined;
  let crashResource: string;
  let credential: string;
  const api = (method: string, path: string) => fx.stack.cp.request(method, path, { token: fx.stack.admin });

  const resourceEntry = () => ({
    name: crashResource,
    type: 'postgres',
    address: '127.0.0.1:5432',
    credentials: { user: 'literal:postgres' },
    postgres: { database: fx.resource },
  });

  beforeAll(async () => {
    fx = await startPgFixture('crash');
    crashResource = `${fx.resource}-proc`;
    const registered = await fx.stack.cp.request('POST', '/api/v1/agents', { token: fx.stack.admin, body: { name: 'edge-crash' } });
    credential = (registered.body as { credential: string }).credential;
  }, 60_000);

  afterAll(async () => {
    await agent?.kill();
    await fx?.close();
  });

  it('statements answered before the kill reach the control plane after the restart, with their seq numbers', async () => {
    // Shipping is held back for an hour: whatever reaches the control plane must come from the spool.
    agent = spawnAgent({ controlPlaneUrl: fx.stack.cp.baseUrl, credential, resources: [resourceEntry()], config: { recording: { shipDelayMs: 3_600_000 } } });
    await fx.stack.waitOnline(crashResource);

    const client = fx.gateway({ database: crashResource, application_name: 'gw-e2e-crash' });
    client.on('error', () => undefined); // the agent dies under it
    await client.connect();
    for (let i = 1; i <= 5; i++) {
      expect((await client.query(`SELECT ${i} AS n, 'crash-probe-${i}' AS tag`)).rows).toEqual([{ n: i, tag: `crash-probe-${i}` }]);
    }

    let sessionId = '';
    await expect
      .poll(async () => {
        const items = ((await api('GET', `/api/v1/sessions?resource=${crashResource}`)).body as { items: { id: string }[] }).items;
        sessionId = items[0]?.id ?? '';
        return sessionId;
      }, { timeout: 5000 })
      .not.toBe('');
    const events = async (): Promise<EventDto[]> => ((await api('GET', `/api/v1/sessions/${sessionId}/events`)).body as { items: EventDto[] }).items;

    // Well past the 20 ms flush interval, and nothing shipped yet: the events exist only in the spool.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await events()).toEqual([]);

    await agent.kill('SIGKILL');
    await client.end().catch(() => undefined);
    agent = spawnAgent({ controlPlaneUrl: fx.stack.cp.baseUrl, credential, resources: [resourceEntry()], dir: agent.dir });

    let stored: EventDto[] = [];
    await expect
      .poll(async () => {
        stored = await events();
        return stored.filter((e) => e.type === 'pg.statement').length;
      }, { timeout: 15_000, interval: 200 })
      .toBe(5);
    expect(stored[0]).toMatchObject({ seq: 0, type: 'pg.session' });
    const statements = stored.filter((e) => e.type === 'pg.statement');
    expect(statements.map((e) => e.data['text'])).toEqual([1, 2, 3, 4, 5].map((i) => `SELECT ${i} AS n, 'crash-probe-${i}' AS tag`));
    expect(statements.map((e) => e.data['decision'])).toEqual(['allow', 'allow', 'allow', 'allow', 'allow']);
    expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i));
  }, 60_000);
});
