import { io } from 'socket.io-client';
import { randomUUID } from 'node:crypto';
import { RECORDING_BATCHES_EVENT, RECORDING_EVENT, type RecordingAck, type RecordingBatchesAck } from '@gw/contracts';
import { encodeFrame } from '@gw/tunnel';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFakeAgent, waitForDisconnect } from './support/fake-agent.js';
import { startHarness, type Harness } from './support/harness.js';

const redis = { name: 'redis-a', type: 'tcp' as const, labels: { demo: 'true' } };

describe('agent hub', () => {
  let h: Harness;
  let admin: string;
  const register = async (name: string) => {
    const res = await h.request('POST', '/api/v1/agents', { token: admin, body: { name } });
    expect(res.status).toBe(201);
    return res.body as { id: string; credential: string };
  };
  const resourceView = async (name: string) =>
    (await h.request('GET', '/api/v1/resources', { token: admin })).body.items.find((r: { name: string }) => r.name === name);

  beforeAll(async () => {
    h = await startHarness({ AGENT_HEARTBEAT_INTERVAL_MS: '300' });
    admin = await h.token('security-admin');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('an agent with its credential comes online with its resources, and goes offline when it leaves', async () => {
    const reg = await register('edge-1');
    expect(reg.credential).toMatch(/^gwa_[0-9a-f]{32}_/);
    const agent = await connectFakeAgent(h.baseUrl, { credential: reg.credential }, [redis]);
    expect(agent.ack).toMatchObject({ ok: true, agentId: reg.id, agentName: 'edge-1' });
    if (!agent.ack.ok) throw new Error('not ok');
    expect(agent.ack.grantPublicKey).toMatchObject({ kty: 'EC', crv: 'P-256' });
    expect(agent.ack.grantPublicKey).not.toHaveProperty('d');
    const online = await resourceView('redis-a');
    expect(online).toMatchObject({ type: 'tcp', online: true, labels: { demo: 'true' } });
    expect(online.lastHeartbeatAt).toBeTruthy();
    const agents = (await h.request('GET', '/api/v1/agents', { token: admin })).body.items;
    expect(agents.find((a: { id: string }) => a.id === reg.id)).toMatchObject({ status: 'online', version: 'test' });
    agent.close();
    await expect.poll(async () => (await resourceView('redis-a')).online, { timeout: 5000 }).toBe(false);
  });

  it('refuses a wrong or malformed credential with a reason', async () => {
    const reg = await register('edge-2');
    const wrong = reg.credential.slice(0, -4) + 'AAAA';
    await expect(connectFakeAgent(h.baseUrl, { credential: wrong })).rejects.toThrow(/unknown or revoked/);
    await expect(connectFakeAgent(h.baseUrl, { nonsense: true })).rejects.toThrow(/handshake/);
  });

  it('revoking the credential disconnects the agent within seconds and keeps it out', async () => {
    const reg = await register('edge-3');
    const agent = await connectFakeAgent(h.baseUrl, { credential: reg.credential }, [{ ...redis, name: 'redis-c' }]);
    let revokedNotice: unknown;
    agent.socket.on('revoked', (m: unknown) => (revokedNotice = m));
    const started = Date.now();
    expect((await h.request('DELETE', `/api/v1/agents/${reg.id}`, { token: admin })).status).toBe(200);
    await waitForDisconnect(agent.socket, 3000);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(revokedNotice).toMatchObject({ reason: expect.stringMatching(/revoked/) });
    await expect(connectFakeAgent(h.baseUrl, { credential: reg.credential })).rejects.toThrow(/unknown or revoked/);
    expect((await resourceView('redis-c')).online).toBe(false);
  });

  it('an agent can authenticate with its own OIDC token when registered for that identity', async () => {
    const token = await h.token('agent-edge-1');
    const whoami = await h.request('GET', '/api/v1/whoami', { token });
    const res = await h.request('POST', '/api/v1/agents', { token: admin, body: { name: 'edge-oidc', oidcPrincipal: whoami.body.id } });
    expect(res.status).toBe(201);
    const agent = await connectFakeAgent(h.baseUrl, { token, agentName: 'edge-oidc' }, [{ ...redis, name: 'redis-oidc' }]);
    expect(agent.ack.ok).toBe(true);
    agent.close();
    // Another workload's token cannot pose as this agent.
    await expect(connectFakeAgent(h.baseUrl, { token: await h.token('ai-agent'), agentName: 'edge-oidc' })).rejects.toThrow(/no active agent/);
  });

  it('a rogue agent sending malformed frames is cut off and the control plane keeps serving', async () => {
    const good = await connectFakeAgent(h.baseUrl, { credential: (await register('edge-good')).credential }, [{ ...redis, name: 'redis-good' }]);
    const rogue = await connectFakeAgent(h.baseUrl, { credential: (await register('edge-rogue')).credential }, [{ ...redis, name: 'redis-rogue' }]);
    // Garbage, a truncated frame, an OPEN from the agent side (never allowed), and text where bytes belong.
    rogue.socket.emit('f', Buffer.from('not a frame at all'));
    rogue.socket.emit('f', Buffer.from([1, 3, 0, 0]));
    rogue.socket.emit('f', encodeFrame({ type: 'OPEN', streamId: 1, window: 65536, header: { grant: 'x', resource: 'redis-rogue', protocol: 'tcp', client: {} } }));
    await waitForDisconnect(rogue.socket, 5000);
    // An oversized message is refused by the transport itself.
    const rogue2 = await connectFakeAgent(h.baseUrl, { credential: (await register('edge-rogue-2')).credential });
    rogue2.socket.emit('f', Buffer.alloc(3 * 1024 * 1024));
    await waitForDisconnect(rogue2.socket, 5000);
    // Non-hello chatter before hello is ignored; no hello at all gets the socket dropped.
    expect((await h.request('GET', '/healthz')).status).toBe(200);
    expect(good.socket.connected).toBe(true);
    expect((await resourceView('redis-good')).online).toBe(true);
    good.close();
  });

  it('pushes the active policy on connect and every later activation', async () => {
    const agent = await connectFakeAgent(h.baseUrl, { credential: (await register('edge-policy')).credential });
    const pushed: { version: number; text: string }[] = [];
    agent.socket.on('policy', (p: { version: number; text: string }) => pushed.push(p));
    const text = `@id("only-admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };`;
    const created = await h.request('POST', '/api/v1/policies', { token: admin, body: { text, activate: true } });
    expect(created.status).toBe(201);
    await expect.poll(() => pushed.at(-1), { timeout: 3000 }).toMatchObject({ version: created.body.version, text });
    const again = await connectFakeAgent(h.baseUrl, { credential: (await register('edge-policy-2')).credential });
    expect(again.ack).toMatchObject({ ok: true, policy: { version: created.body.version, text } });
    agent.close();
    again.close();
  });

  it('an agent that stops heartbeating is marked offline although its socket stays open', async () => {
    const agent = await connectFakeAgent(h.baseUrl, { credential: (await register('edge-mute')).credential }, [{ ...redis, name: 'redis-mute' }]);
    expect((await resourceView('redis-mute')).online).toBe(true);
    // The fake agent never sends 'hb'; the interval in this harness is 300 ms, so 3 missed = ~1 s.
    await expect.poll(async () => (await resourceView('redis-mute')).online, { timeout: 5000, interval: 200 }).toBe(false);
    expect(agent.socket.connected).toBe(true);
    agent.socket.emit('hb', { openStreams: 0 });
    await expect.poll(async () => (await resourceView('redis-mute')).online, { timeout: 3000 }).toBe(true);
    agent.close();
  });

  it("stores a session's recording only from the session's own agent, and forgets a deleted session", async () => {
    const [a, b] = [await register('rec-a'), await register('rec-b')];
    const agentA = await connectFakeAgent(h.baseUrl, { credential: a.credential }, []);
    const agentB = await connectFakeAgent(h.baseUrl, { credential: b.credential }, []);
    const db = h.app.get(DataSource);
    const sessionId = randomUUID();
    await db.query(
      `INSERT INTO sessions (id, principal_id, principal, resource_name, resource_type, agent_id, status) VALUES ($1, 'p', '{}', 'r', 'postgres', $2, 'active')`,
      [sessionId, a.id],
    );
    const send = (agent: typeof agentA, id: string, seq: number) =>
      agent.socket.timeout(5000).emitWithAck(RECORDING_EVENT, { sessionId: id, events: [{ seq, at: new Date().toISOString(), type: 'pg.statement', data: { text: `SELECT ${seq}`, nul: 'a\u0000b' } }] }) as Promise<RecordingAck>;
    try {
      expect(await send(agentA, sessionId, 0)).toEqual({ ok: true, stored: 1 });
      expect(await send(agentA, sessionId, 0)).toEqual({ ok: true, stored: 0 }); // idempotent by (session, seq)
      expect(await send(agentB, sessionId, 1)).toMatchObject({ ok: false, error: 'session belongs to another agent', retry: false });
      expect(await send(agentA, randomUUID(), 0)).toMatchObject({ ok: false, error: expect.stringContaining('unknown session') as unknown, retry: false });
      const events = await h.request('GET', `/api/v1/sessions/${sessionId}/events`, { token: admin });
      expect(events.body.items).toMatchObject([{ seq: 0, type: 'pg.statement', data: { text: 'SELECT 0', nul: 'a\ufffdb' } }]);
      // Deleted (retention) after its owner was remembered: refused for good, not retried forever.
      await db.query('DELETE FROM sessions WHERE id = $1', [sessionId]);
      expect(await send(agentA, sessionId, 1)).toMatchObject({ ok: false, error: expect.stringContaining('unknown session') as unknown, retry: false });
    } finally {
      agentA.close();
      agentB.close();
    }
  });

  it('stores several sessions in one recs message, with one result per batch; refuses a malformed one', async () => {
    const [a, b] = [await register('recs-a'), await register('recs-b')];
    const agentA = await connectFakeAgent(h.baseUrl, { credential: a.credential }, []);
    expect(agentA.ack).toMatchObject({ ok: true, recordingBatches: true });
    const db = h.app.get(DataSource);
    const [mine1, mine2, theirs] = [randomUUID(), randomUUID(), randomUUID()];
    for (const [id, owner] of [[mine1, a.id], [mine2, a.id], [theirs, b.id]] as const) {
      await db.query(`INSERT INTO sessions (id, principal_id, principal, resource_name, resource_type, agent_id, status) VALUES ($1, 'p', '{}', 'r', 'postgres', $2, 'active')`, [id, owner]);
    }
    const events = (n: number) => Array.from({ length: n }, (_, seq) => ({ seq, at: new Date().toISOString(), type: 'pg.statement', data: { seq } }));
    const send = (batches: unknown) => agentA.socket.timeout(5000).emitWithAck(RECORDING_BATCHES_EVENT, { batches }) as Promise<RecordingBatchesAck>;
    try {
      const ack = await send([
        { sessionId: mine1, events: events(3) },
        { sessionId: theirs, events: events(1) },
        { sessionId: mine2, events: events(2) },
        { sessionId: randomUUID(), events: events(1) },
      ]);
      expect(ack).toMatchObject({
        ok: true,
        results: [
          { ok: true, stored: 3 },
          { ok: false, error: 'session belongs to another agent', retry: false },
          { ok: true, stored: 2 },
          { ok: false, error: expect.stringContaining('unknown session') as unknown, retry: false },
        ],
      });
      const counts = await db.query<{ session_id: string; n: string }[]>('SELECT session_id, sum(jsonb_array_length(events)) AS n FROM session_event_chunks WHERE session_id = ANY($1) GROUP BY 1', [[mine1, mine2, theirs]]);
      expect(Object.fromEntries(counts.map((r) => [r.session_id, Number(r.n)]))).toEqual({ [mine1]: 3, [mine2]: 2 });
      expect(await send([{ sessionId: mine1, events: events(3) }])).toEqual({ ok: true, results: [{ ok: true, stored: 0 }] }); // idempotent
      // Resent with more behind it (the first ack was lost, more was recorded meanwhile): only the new events are stored.
      expect(await send([{ sessionId: mine1, events: events(6) }])).toEqual({ ok: true, results: [{ ok: true, stored: 3 }] });
      // Out of order, with a duplicate and a gap between stored runs: each seq once, in order.
      const odd = [5, 7, 7, 6, 9].map((seq) => ({ seq, at: new Date().toISOString(), type: 'pg.statement', data: { seq } }));
      expect(await send([{ sessionId: mine1, events: odd }])).toEqual({ ok: true, results: [{ ok: true, stored: 3 }] });
      const page = await h.request('GET', `/api/v1/sessions/${mine1}/events?limit=4&after=2`, { token: admin });
      expect(page.body.items.map((e: { seq: number }) => e.seq)).toEqual([3, 4, 5, 6]);
      const rest = await h.request('GET', `/api/v1/sessions/${mine1}/events?after=6`, { token: admin });
      expect(rest.body.items.map((e: { seq: number; data: { seq: number } }) => [e.seq, e.data.seq])).toEqual([[7, 7], [9, 9]]);
      expect(await send([{ sessionId: 'not-a-uuid', events: events(1) }])).toMatchObject({ ok: false, retry: false });
      expect(await send([])).toMatchObject({ ok: false, retry: false });
    } finally {
      agentA.close();
    }
  });

  it('a connection that never says hello is dropped', async () => {
    const reg = await register('edge-silent');
    const socket = io(h.baseUrl + '/agents', { transports: ['websocket'], auth: { credential: reg.credential }, reconnection: false, forceNew: true });
    await new Promise((r) => socket.once('connect', r));
    await waitForDisconnect(socket, 15_000);
  }, 20_000);
});
