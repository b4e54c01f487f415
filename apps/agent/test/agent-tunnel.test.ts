import { startupMessage } from '@gw/protocol-postgres';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { signSessionGrant, type StreamOpenHeaderInput, type TunnelEndpoint, type TunnelStream } from '@gw/tunnel';
import { generateKeyPair } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, validateAgentConfig, type AgentHandle } from '../src/index.js';
import { startFakeControlPlane, type FakeControlPlane } from './support/fake-control-plane.js';

const silent = pino({ level: 'silent' });
const fastBackoff = { initialMs: 50, maxMs: 200, jitter: 0.5 };

let cp: FakeControlPlane;
let echo: Server;
let echoPort: number;
let echoConnections = 0;
const echoSockets = new Set<Socket>();
let agent: AgentHandle;
let endpoint: TunnelEndpoint;
let cpSocket: { disconnect(close: boolean): unknown; emit(event: string, ...args: unknown[]): unknown };
let closedPort: number;

function config(url: string, credential: string) {
  return validateAgentConfig(
    {
      controlPlane: { url },
      auth: { credential: `literal:${credential}` },
      resources: [
        { name: 'echo', type: 'tcp', address: `127.0.0.1:${echoPort}`, labels: { env: 'test' }, credentials: { token: 'literal:do-not-send' } },
        { name: 'redis', type: 'tcp', address: '127.0.0.1:6379', labels: {} },
        { name: 'closed', type: 'tcp', address: `127.0.0.1:${closedPort}` },
        { name: 'pg', type: 'postgres', address: '127.0.0.1:5432', environment: 'dev' },
      ],
    },
    { env: {} },
  );
}

async function grantFor(resource: string, overrides: { key?: Parameters<typeof signSessionGrant>[0]; agentId?: string; sid?: string } = {}) {
  return signSessionGrant(overrides.key ?? cp.privateKey, {
    sid: overrides.sid ?? randomUUID(),
    principal: { id: 'wl-1', displayName: 'ai-agent', kind: 'workload' },
    resource,
    login: 'app',
    agentId: overrides.agentId ?? cp.agentId,
    sessionExpiresAt: Math.floor(Date.now() / 1000) + 600,
  });
}

function header(grant: string, resource: string, protocol: StreamOpenHeaderInput['protocol'] = 'tcp'): StreamOpenHeaderInput {
  return { grant, resource, protocol, client: {} };
}

async function readAll(stream: TunnelStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  echo = createServer({ allowHalfOpen: true }, (socket) => {
    echoConnections += 1;
    echoSockets.add(socket);
    socket.on('close', () => echoSockets.delete(socket));
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoPort = (echo.address() as AddressInfo).port;
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));

  cp = await startFakeControlPlane('gwa_good');
  const connected = cp.nextAgent();
  agent = await startAgent(config(cp.url, 'gwa_good'), { logger: silent, backoff: fastBackoff });
  await agent.waitConnected(5000);
  ({ endpoint, socket: cpSocket } = await connected);
});

afterAll(async () => {
  await agent?.close();
  await cp?.close();
  await new Promise((resolve) => echo?.close(resolve));
});

describe('agent against a stand-in control plane', () => {
  it('declares its resources without addresses or credentials and reports the ack', () => {
    expect(agent.agentId()).toBe(cp.agentId);
    expect(agent.stats().policyVersion).toBe(3);
    expect(cp.handshakes[0]).toEqual({ credential: 'gwa_good', version: expect.any(String) });
    const hello = cp.hellos[0] as { resources: unknown[] };
    expect(hello.resources).toEqual([
      { name: 'echo', type: 'tcp', labels: { env: 'test' } },
      { name: 'redis', type: 'tcp', labels: {} },
      { name: 'closed', type: 'tcp', labels: {} },
      { name: 'pg', type: 'postgres', labels: {}, environment: 'dev' },
    ]);
    expect(JSON.stringify(cp.hellos)).not.toMatch(/127\.0\.0\.1|do-not-send/);
  });

  it('relays 2 MiB to a TCP echo server and back, half-close included', async () => {
    const stream = await endpoint.openStream(header(await grantFor('echo'), 'echo'));
    const payload = randomBytes(2 * 1024 * 1024);
    const received = readAll(stream);
    stream.end(payload);
    expect((await received).equals(payload)).toBe(true);
    await expect.poll(() => agent.stats().bytesToResource).toBeGreaterThanOrEqual(payload.length);
    expect(agent.stats().bytesFromResource).toBeGreaterThanOrEqual(payload.length);
  });

  it('reaches the real Redis: PING -> +PONG', async () => {
    const stream = await endpoint.openStream(header(await grantFor('redis'), 'redis'));
    stream.write('PING\r\n');
    const [chunk] = (await once(stream, 'data')) as [Buffer];
    expect(chunk.toString()).toBe('+PONG\r\n');
    stream.destroy();
  });

  it('refuses a grant signed by another key without dialing the resource', async () => {
    const before = echoConnections;
    const { privateKey } = await generateKeyPair('ES256');
    await expect(endpoint.openStream(header(await grantFor('echo', { key: privateKey }), 'echo'))).rejects.toMatchObject({
      codeName: 'GRANT_INVALID',
      reason: expect.stringContaining('BAD_SIGNATURE'),
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(echoConnections).toBe(before);
  });

  it('refuses a grant for another agent, a replayed session id and a grant for another resource', async () => {
    await expect(endpoint.openStream(header(await grantFor('echo', { agentId: 'agent-other' }), 'echo'))).rejects.toMatchObject({
      reason: expect.stringContaining('WRONG_AUDIENCE'),
    });
    const sid = randomUUID();
    const first = await endpoint.openStream(header(await grantFor('echo', { sid }), 'echo'));
    first.destroy();
    await expect(endpoint.openStream(header(await grantFor('echo', { sid }), 'echo'))).rejects.toMatchObject({
      reason: expect.stringContaining('REPLAYED'),
    });
    await expect(endpoint.openStream(header(await grantFor('redis'), 'echo'))).rejects.toMatchObject({
      codeName: 'GRANT_INVALID',
      reason: 'grant is for resource redis, not echo',
    });
  });

  it('refuses unknown resources and protocol mismatches; a postgres resource without credentials answers one FATAL', async () => {
    await expect(endpoint.openStream(header(await grantFor('nope'), 'nope'))).rejects.toMatchObject({ codeName: 'RESOURCE_UNKNOWN' });
    await expect(endpoint.openStream(header(await grantFor('echo'), 'echo', 'postgres'))).rejects.toMatchObject({
      codeName: 'REJECTED',
      reason: 'resource echo is of type tcp, not postgres',
    });
    const pg = await endpoint.openStream(header(await grantFor('pg'), 'pg', 'postgres'));
    const answer: Buffer[] = [];
    pg.on('data', (c: Buffer) => answer.push(c));
    const ended = new Promise((resolve) => pg.once('end', resolve));
    pg.write(startupMessage({ user: 'app', database: 'pg' }));
    await ended;
    const bytes = Buffer.concat(answer);
    expect(String.fromCharCode(bytes[0] ?? 0)).toBe('E');
    expect(bytes.toString('utf8')).toContain('no credentials.user configured');
  });

  it('reports a refused resource connection clearly', async () => {
    await expect(endpoint.openStream(header(await grantFor('closed'), 'closed'))).rejects.toMatchObject({
      codeName: 'RESOURCE_UNAVAILABLE',
      reason: 'resource closed refused the connection (ECONNREFUSED)',
    });
  });

  it('sends heartbeats with the open stream count', async () => {
    await expect.poll(() => cp.heartbeats.length, { timeout: 3000 }).toBeGreaterThan(0);
    expect(cp.heartbeats[0]).toEqual({ openStreams: expect.any(Number), rssBytes: expect.any(Number) });
  });

  it('destroys resource sockets when the connection drops, then reconnects', async () => {
    const stream = await endpoint.openStream(header(await grantFor('echo'), 'echo'));
    stream.on('error', () => undefined);
    stream.write('x');
    await once(stream, 'data');
    expect(echoSockets.size).toBeGreaterThan(0);
    const reconnected = cp.nextAgent();
    cpSocket.disconnect(true);
    await expect.poll(() => echoSockets.size, { timeout: 3000 }).toBe(0);
    ({ endpoint, socket: cpSocket } = await reconnected);
    await agent.waitConnected(5000);
    const again = await endpoint.openStream(header(await grantFor('redis'), 'redis'));
    again.write('PING\r\n');
    const [chunk] = (await once(again, 'data')) as [Buffer];
    expect(chunk.toString()).toBe('+PONG\r\n');
    again.destroy();
  });
});

describe('refusals by the control plane', () => {
  it('keeps retrying a refused credential with backoff', async () => {
    const before = cp.handshakes.length;
    const bad = await startAgent(config(cp.url, 'gwa_wrong'), { logger: silent, backoff: fastBackoff });
    await expect.poll(() => cp.handshakes.length - before, { timeout: 5000 }).toBeGreaterThanOrEqual(3);
    expect(bad.connected()).toBe(false);
    await bad.close();
  });

  it('stops for good when the credential is revoked', async () => {
    const revoked = await startAgent(config(cp.url, 'gwa_revoked'), { logger: silent, backoff: fastBackoff });
    await expect(revoked.stopped).resolves.toEqual({ kind: 'revoked', reason: 'agent credential revoked' });
    const attempts = cp.handshakes.filter((h) => h.credential === 'gwa_revoked').length;
    await new Promise((r) => setTimeout(r, 400));
    expect(cp.handshakes.filter((h) => h.credential === 'gwa_revoked').length).toBe(attempts);
  });

  it('stops for good on a revoked event from the control plane', async () => {
    const connected = cp.nextAgent();
    const other = await startAgent(config(cp.url, 'gwa_good'), { logger: silent, backoff: fastBackoff });
    const { socket } = await connected;
    await other.waitConnected(5000);
    socket.emit('revoked', { reason: 'revoked by an administrator' });
    await expect(other.stopped).resolves.toEqual({ kind: 'revoked', reason: 'revoked by an administrator' });
    expect(other.connected()).toBe(false);
  });
});
