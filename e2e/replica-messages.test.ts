import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startConnectListener, type ConnectListener } from '@gw/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { channels } from '../apps/control-plane/src/redis/redis-tokens.js';
import { RedisChannels } from '../apps/control-plane/src/redis/redis-channels.js';
import { ReplicaMessageSeal } from '../apps/control-plane/src/redis/replica-message-seal.js';
import { DomainEvents } from '../apps/control-plane/src/events/domain-events.service.js';
import { ActivePolicyService } from '../apps/control-plane/src/policies/active-policy.service.js';
import type { DomainEvent } from '../apps/control-plane/src/events/domain-event.js';

/**
 * Anyone who can PUBLISH on the control plane's Redis (a workload that reached it, a neighbour on a
 * shared Redis) must not be able to kill sessions, fake approval events, reload policy, disconnect
 * agents or cancel statements: replicas act only on messages sealed with the key in the database.
 */
const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("demo-tcp") permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "tcp" && resource.hasTag("demo") };
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function echoServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((s) => s.pipe(s));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise((r) => server.close(() => r())),
  })));
}

interface OpenSession { id: string; socket: net.Socket; listener: ConnectListener; closed: Promise<void>; echo(text: string): Promise<string> }

describe('replica messages on Redis are sealed: forged ones are dropped, sealed ones work', () => {
  let stack: Stack;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let agentToken: string;
  let raw: Redis;
  let sniffer: Redis;
  const sniffed: string[] = [];
  let ch: ReturnType<typeof channels>;
  /** A key the attacker made up: messages correctly MACed, but not with the gateway's key. */
  const otherKeySeal = new ReplicaMessageSeal(randomBytes(32), { maxSkewMs: 30_000 });

  beforeAll(async () => {
    echo = await echoServer();
    stack = await startStack({ policy: POLICY, resources: [{ name: 'echo', type: 'tcp', address: `127.0.0.1:${echo.port}`, labels: { demo: 'true' } }] });
    agentToken = await stack.cp.token('ai-agent');
    ch = channels(stack.cp.config.redis.prefix);
    raw = new Redis('redis://127.0.0.1:6379');
    sniffer = new Redis('redis://127.0.0.1:6379');
    await sniffer.subscribe(ch.sessionKill);
    sniffer.on('message', (_c: string, m: string) => sniffed.push(m));
  }, 60_000);
  afterAll(async () => {
    raw?.disconnect();
    sniffer?.disconnect();
    await stack?.close();
    await echo?.close();
  });

  const dropped = (channel: string) => stack.cp.app.get(RedisChannels).dropped(channel);

  async function openSession(): Promise<OpenSession> {
    const before = await stack.cp.request('GET', '/api/v1/sessions?resource=echo&status=active', { token: stack.admin });
    const known = new Set((before.body.items as { id: string }[]).map((s) => s.id));
    const listener = await startConnectListener({ apiUrl: stack.cp.baseUrl, token: agentToken, resource: 'echo' });
    const socket = net.connect(listener.port, '127.0.0.1');
    socket.on('error', () => undefined);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    const echoText = (text: string) => new Promise<string>((resolve, reject) => {
      socket.once('data', (d) => resolve(String(d)));
      setTimeout(() => reject(new Error('no echo')), 3000).unref();
      socket.write(text);
    });
    expect(await echoText('hello')).toBe('hello');
    let id = '';
    await expect.poll(async () => {
      const res = await stack.cp.request('GET', '/api/v1/sessions?resource=echo&status=active', { token: stack.admin });
      id = (res.body.items as { id: string }[]).find((s) => !known.has(s.id))?.id ?? '';
      return id;
    }, { timeout: 5000 }).not.toBe('');
    return { id, socket, listener, closed, echo: echoText };
  }

  it.each([
    ['policy activation', 'policyActivated', 'reload'],
    ['agent revocation', 'agentRevoked', '00000000-0000-4000-8000-000000000000'],
    ['session kill', 'sessionKill', JSON.stringify({ sessionId: '00000000-0000-4000-8000-000000000000', by: 'anyone' })],
    ['postgres cancel', 'pgCancel', JSON.stringify({ processId: 1, secretKey: '00000000' })],
    ['domain event', 'domainEvents', JSON.stringify({ id: 'x', type: 'approval.decided', occurredAt: new Date().toISOString(), data: {} })],
  ] as const)('every %s message without a valid seal is dropped (plain, other key, other channel, tampered)', async (_name, key, body) => {
    const channel = ch[key];
    const genuineElsewhere = JSON.parse(otherKeySeal.seal(channel, body)) as Record<string, unknown>;
    const variants = [
      body,
      otherKeySeal.seal(channel, body),
      JSON.stringify({ ...genuineElsewhere, m: undefined }),
      JSON.stringify({ v: 1, t: Date.now(), n: 'a'.repeat(32), b: body, m: 'A'.repeat(43) }),
      '',
      '{}',
    ];
    const before = dropped(channel);
    for (const v of variants) await raw.publish(channel, v);
    await expect.poll(() => dropped(channel) - before, { timeout: 3000 }).toBe(variants.length);
  });

  it('forged kills (the old plain format, another key, a replay, a re-targeted genuine one) leave the session open; the API kill ends it and records who', async () => {
    const victim = await openSession();
    const bystander = await openSession();
    try {
      for (const forged of [
        JSON.stringify({ sessionId: victim.id, by: 'anyone' }),
        JSON.stringify({ sessionId: victim.id, by: { kind: 'principal', id: 'attacker', displayName: 'attacker' } }),
        otherKeySeal.seal(ch.sessionKill, JSON.stringify({ sessionId: victim.id, by: { kind: 'principal', id: 'attacker', displayName: null } })),
      ]) await raw.publish(ch.sessionKill, forged);
      await sleep(1000);
      expect(await victim.echo('still here')).toBe('still here');

      const admin = await stack.cp.request('GET', '/api/v1/whoami', { token: stack.admin });
      const kill = await stack.cp.request('POST', `/api/v1/sessions/${victim.id}/kill`, { token: stack.admin });
      expect(kill.status).toBe(202);
      expect(kill.body.killedBy).toMatchObject({ kind: 'principal', id: admin.body.id });
      await victim.closed;

      // The genuine sealed kill, replayed, and moved onto the bystander: both dropped.
      const genuine = sniffed.find((m) => m.includes(victim.id))!;
      expect(genuine).toBeTruthy();
      const beforeReplay = dropped(ch.sessionKill);
      await raw.publish(ch.sessionKill, genuine);
      await raw.publish(ch.sessionKill, genuine.split(victim.id).join(bystander.id));
      await expect.poll(() => dropped(ch.sessionKill) - beforeReplay, { timeout: 3000 }).toBe(2);
      expect(await bystander.echo('unharmed')).toBe('unharmed');

      await expect.poll(async () => (await stack.cp.request('GET', `/api/v1/sessions/${victim.id}`, { token: stack.admin })).body.status, { timeout: 5000 }).toBe('killed');
      const session = (await stack.cp.request('GET', `/api/v1/sessions/${victim.id}`, { token: stack.admin })).body;
      expect(session.killedBy).toEqual({ kind: 'principal', id: admin.body.id, displayName: admin.body.displayName ?? null });
      expect(session.endReason).toContain(`killed by ${admin.body.displayName ? `${admin.body.displayName} (${admin.body.id})` : admin.body.id}`);
      const audit = await stack.cp.request('GET', '/api/v1/audit/events?resource=echo&limit=50', { token: stack.admin });
      const items = audit.body.items as Array<{ action: string; actor: { id?: string } | string; details: Record<string, unknown> }>;
      const killEvent = items.find((e) => e.action === 'session.kill' && e.details.sessionId === victim.id);
      expect(killEvent?.details.killedBy).toMatchObject({ kind: 'principal', id: admin.body.id });
      const closedEvent = items.find((e) => e.action === 'session.closed' && e.details.sessionId === victim.id);
      expect(closedEvent?.details).toMatchObject({ status: 'killed', killedBy: { kind: 'principal', id: admin.body.id } });
    } finally {
      victim.socket.destroy();
      bystander.socket.destroy();
      await victim.listener.close();
      await bystander.listener.close();
    }
  });

  it('a forged approval event never reaches live streams; a sealed one does', async () => {
    const seen: DomainEvent[] = [];
    const unsubscribe = stack.cp.app.get(DomainEvents).subscribe((e) => seen.push(e));
    try {
      const fake = { id: 'forged', type: 'approval.decided', occurredAt: new Date().toISOString(), data: { approval: { id: 'a', status: 'approved' } } };
      await raw.publish(ch.domainEvents, JSON.stringify(fake));
      await raw.publish(ch.domainEvents, otherKeySeal.seal(ch.domainEvents, JSON.stringify(fake)));
      await sleep(700);
      expect(seen).toEqual([]);
      const real = await stack.cp.app.get(DomainEvents).publish('approval.decided', { approval: { id: 'b', status: 'approved' } });
      await expect.poll(() => seen.map((e) => e.id), { timeout: 3000 }).toEqual([real.id]);
    } finally {
      unsubscribe();
    }
  });

  it('a forged agent revocation does not disconnect the agent', async () => {
    const agents = await stack.cp.request('GET', '/api/v1/agents', { token: stack.admin });
    const agentId = (agents.body.items as { id: string }[])[0]!.id;
    await raw.publish(ch.agentRevoked, agentId);
    await raw.publish(ch.agentRevoked, otherKeySeal.seal(ch.agentRevoked, agentId));
    await sleep(1000);
    expect(stack.agents[0]!.connected()).toBe(true);
    const session = await openSession();
    session.socket.destroy();
    await session.listener.close();
  });

  it('a forged policy activation does not reload the policy; a sealed one does', async () => {
    const active = stack.cp.app.get(ActivePolicyService);
    const before = active.snapshot!.version;
    const created = await stack.cp.request('POST', '/api/v1/policies', { token: stack.admin, body: { text: POLICY + '\n// v-next', activate: false } });
    expect(created.status).toBe(201);
    // Activated behind the replica's back: only a reload message makes it pick this up.
    const db = new pg.Client({ connectionString: stack.cp.dbUrl });
    await db.connect();
    await db.query('BEGIN');
    await db.query('UPDATE policy_versions SET is_active = false WHERE is_active');
    await db.query('UPDATE policy_versions SET is_active = true WHERE version = $1', [created.body.version]);
    await db.query('COMMIT');
    await db.end();
    await raw.publish(ch.policyActivated, 'reload');
    await raw.publish(ch.policyActivated, otherKeySeal.seal(ch.policyActivated, 'reload'));
    await sleep(1000);
    expect(active.snapshot!.version).toBe(before);
    await stack.cp.app.get(RedisChannels).publish(ch.policyActivated, 'reload');
    await expect.poll(() => active.snapshot!.version, { timeout: 3000 }).toBe(created.body.version);
  });
});
