import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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

  /*
   * The release rule: a statement's end (CommandComplete / ErrorResponse, and what follows) reaches the
   * client only once the statement's record is fsynced. So whatever the client saw succeed must be in
   * the recording after a SIGKILL, however fast the statements came. Without the rule the last few
   * statements a client saw (the ones still waiting for the 20 ms flush timer) are lost.
   */
  type Protocol = 'simple' | 'extended';
  const crashCases: { name: string; protocols: Protocol[]; killAfter: number }[] = [
    { name: 'one session, simple protocol (Query)', protocols: ['simple'], killAfter: 600 },
    { name: 'one session, extended protocol (Parse/Bind/Execute/Sync, parameters)', protocols: ['extended'], killAfter: 600 },
    { name: 'four concurrent sessions, simple and extended', protocols: ['simple', 'extended', 'simple', 'extended'], killAfter: 300 },
  ];

  let restarted: AgentProcess | undefined;
  afterEach(async () => {
    if (!restarted) return;
    await restarted.kill('SIGTERM');
    restarted = undefined;
    await fx.stack.waitOnline(crashResource, false);
  });

  /** Runs statements back to back; each one the client saw succeed is remembered by its tag. */
  async function runUntilTheAgentDies(client: pg.Client, protocol: Protocol, tag: string, seen: string[], onSeen: (count: number) => void): Promise<void> {
    for (let i = 1; ; i++) {
      const mark = `${tag}-n${i}`;
      try {
        const result = protocol === 'simple'
          ? await client.query(`SELECT ${i} AS n, '${mark}' AS tag`)
          : await client.query({ text: 'SELECT $1::int AS n, $2::text AS tag', values: [i, mark] });
        if (result.rows[0]?.tag !== mark) throw new Error(`statement ${mark} answered ${JSON.stringify(result.rows)}`);
      } catch (error) {
        if (/answered/.test((error as Error).message)) throw error;
        return; // the agent is gone: this statement was not seen to succeed
      }
      seen.push(mark);
      onSeen(i);
    }
  }

  async function allEvents(sessionId: string): Promise<EventDto[]> {
    const out: EventDto[] = [];
    for (let after = -1; ;) {
      const page = (await api('GET', `/api/v1/sessions/${sessionId}/events?after=${after}&limit=500`)).body as { items: EventDto[]; nextAfter: number | null };
      out.push(...page.items);
      if (page.nextAfter === null || page.items.length === 0) return out;
      after = page.nextAfter;
    }
  }

  /** The tag of each recorded statement: in the text (simple protocol) or in the parameters (extended). */
  function recordedTags(events: EventDto[]): string[] {
    return events.filter((e) => e.type === 'pg.statement').map((e) => {
      const params = e.data['params'] as string[] | undefined;
      return params?.[1] ?? /'([^']+)' AS tag/.exec(String(e.data['text']))?.[1] ?? '';
    });
  }

  it.each(crashCases)('SIGKILL right after a client saw statement N succeed: every statement any client saw is recorded ($name)', async ({ protocols, killAfter }) => {
    // Letters around every number: a tag must never look like a phone number or an SSN, which the
    // resource's masking would mask in the answer (a run id with digits once did).
    const run = `run${Date.now().toString(36).replace(/[0-9]/g, (d) => 'abcdefghij'[Number(d)]!)}`;
    // One agent per credential at a time: the one an earlier test restarted goes first.
    await agent?.kill('SIGTERM');
    agent = undefined;
    await fx.stack.waitOnline(crashResource, false);
    const first = spawnAgent({ controlPlaneUrl: fx.stack.cp.baseUrl, credential, resources: [resourceEntry()], config: { recording: { shipDelayMs: 3_600_000 } } });
    agent = first;
    await fx.stack.waitOnline(crashResource);
    const clients = protocols.map((_, k) => {
      const client = fx.gateway({ database: crashResource, application_name: `gw-e2e-crash-${run}-${k}` });
      client.on('error', () => undefined); // the agent dies under it
      return client;
    });
    await Promise.all(clients.map((c) => c.connect()));

    const seen = protocols.map((): string[] => []);
    let killed = false;
    const loops = protocols.map((protocol, k) => runUntilTheAgentDies(clients[k]!, protocol, `${run}-s${k}`, seen[k]!, (count) => {
      // The first session's statement N succeeded: kill at once, while every session is mid-loop.
      if (k === 0 && count === killAfter && !killed) {
        killed = true;
        first.child.kill('SIGKILL');
      }
    }));
    await Promise.all(loops);
    expect(killed).toBe(true);
    await first.kill('SIGKILL');
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));

    restarted = spawnAgent({ controlPlaneUrl: fx.stack.cp.baseUrl, credential, resources: [resourceEntry()], dir: first.dir });
    agent = undefined;
    const sessions = ((await api('GET', `/api/v1/sessions?resource=${crashResource}&limit=500`)).body as { items: { id: string }[] }).items;
    const expected = seen.flat();
    let recorded = new Set<string>();
    let eventsBySession: EventDto[][] = [];
    await expect
      .poll(async () => {
        eventsBySession = await Promise.all(sessions.map((s) => allEvents(s.id)));
        recorded = new Set(eventsBySession.flatMap(recordedTags));
        return expected.filter((t) => !recorded.has(t));
      }, { timeout: 20_000, interval: 250 })
      .toEqual([]);
    // Every session holds a prefix of its statements: no hole in the middle either.
    for (const events of eventsBySession) expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(seen[0]).toHaveLength(killAfter);
  }, 120_000);
});
