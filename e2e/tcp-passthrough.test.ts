import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { startConnectListener } from '@gw/cli';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './support/stack.js';

const run = promisify(execFile);

const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("demo-tcp") permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "tcp" && resource.hasTag("demo") };
`;

/** A TCP sink/source on this machine: echoes, or serves a fixed payload, or reads slowly. */
function echoServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((s) => s.pipe(s));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise((r) => server.close(() => r())),
  })));
}

describe('tcp passthrough: gw connect -> control plane -> agent -> resource', () => {
  let stack: Stack;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let agentToken: string;

  beforeAll(async () => {
    echo = await echoServer();
    stack = await startStack({
      policy: POLICY,
      resources: [
        { name: 'redis', type: 'tcp', address: '127.0.0.1:6379', labels: { demo: 'true' } },
        { name: 'echo', type: 'tcp', address: `127.0.0.1:${echo.port}`, labels: { demo: 'true' } },
        { name: 'secret-tcp', type: 'tcp', address: '127.0.0.1:6379' },
        { name: 'dead', type: 'tcp', address: '127.0.0.1:1', labels: { demo: 'true' } },
      ],
    });
    agentToken = await stack.cp.token('ai-agent');
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await echo?.close();
  });

  it('redis-cli PING, SET and GET through the tunnel, recorded as a session with byte counts', async () => {
    const listener = await startConnectListener({ apiUrl: stack.cp.baseUrl, token: agentToken, resource: 'redis' });
    try {
      const port = String(listener.port);
      expect((await run('redis-cli', ['-p', port, 'PING'])).stdout.trim()).toBe('PONG');
      const key = `gw-e2e-${randomBytes(4).toString('hex')}`;
      expect((await run('redis-cli', ['-p', port, 'SET', key, 'through-the-gateway'])).stdout.trim()).toBe('OK');
      expect((await run('redis-cli', ['-p', port, 'GET', key])).stdout.trim()).toBe('through-the-gateway');
      await run('redis-cli', ['-p', port, 'DEL', key]);
    } finally {
      await listener.close();
    }
    const whoami = await stack.cp.request('GET', '/api/v1/whoami', { token: agentToken });
    await expect.poll(async () => {
      const sessions = await stack.cp.request('GET', `/api/v1/sessions?resource=redis&principal=${encodeURIComponent(whoami.body.id)}`, { token: stack.admin });
      return sessions.body.items.filter((s: { status: string }) => s.status === 'ended').length;
    }, { timeout: 5000 }).toBeGreaterThanOrEqual(4);
    const sessions = await stack.cp.request('GET', '/api/v1/sessions?resource=redis', { token: stack.admin });
    const one = sessions.body.items[0];
    expect(one.principal.appId).toBe('ai-agent');
    expect(one.bytesIn).toBeGreaterThan(0);
    expect(one.bytesOut).toBeGreaterThan(0);
    expect(one.tokenId).toBeTruthy();
  });

  it('100 MiB arrive intact (SHA-256) and 200 concurrent streams each get their own bytes back', async () => {
    const listener = await startConnectListener({ apiUrl: stack.cp.baseUrl, token: agentToken, resource: 'echo' });
    try {
      const big = await roundTrip(listener.port, 100 * 1024 * 1024);
      expect(big.received).toBe(big.sent);
      expect(big.receivedHash).toBe(big.sentHash);
      const many = await Promise.all(Array.from({ length: 200 }, () => roundTrip(listener.port, 64 * 1024)));
      for (const r of many) expect(r.receivedHash).toBe(r.sentHash);
    } finally {
      await listener.close();
    }
  }, 240_000);

  it('bytes a WebSocket client sends at once, before `ready`, reach the resource (none lost while the token is checked)', async () => {
    // Not the CLI (it holds bytes until ready): any client of the documented endpoint may send at once.
    const url = `${stack.cp.baseUrl.replace(/^http/, 'ws')}/api/v1/connect?resource=echo`;
    const { stdout } = await run(process.execPath, ['e2e/support/first-bytes-client.mjs', url, agentToken, '60'], { timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual(Array.from({ length: 60 }, (_, n) => ({ ready: true, echoed: `first-bytes-${n}` })));
  }, 60_000);

  it('/metrics counts opens by outcome and times their waits (session row, audit, grant, agent)', async () => {
    const metric = async (name: string): Promise<number> => {
      const text = String((await stack.cp.request('GET', '/metrics')).body);
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      return line ? Number(line.slice(name.length + 1)) : 0;
    };
    const opened = 'gw_session_open_duration_seconds_count{protocol="tcp",outcome="opened"}';
    const refused = 'gw_session_open_duration_seconds_count{protocol="tcp",outcome="refused"}';
    const steps = ['session_row', 'audit', 'grant', 'agent'].map((step) => `gw_session_open_step_duration_seconds_count{step="${step}"}`);
    const before = { opened: await metric(opened), refused: await metric(refused), steps: await Promise.all(steps.map(metric)) };
    const listener = await startConnectListener({ apiUrl: stack.cp.baseUrl, token: agentToken, resource: 'redis' });
    try {
      expect((await run('redis-cli', ['-p', String(listener.port), 'PING'])).stdout.trim()).toBe('PONG');
    } finally {
      await listener.close();
    }
    const refusedListener = await startConnectListener({ apiUrl: stack.cp.baseUrl, token: agentToken, resource: 'secret-tcp' });
    const s = net.connect(refusedListener.port, '127.0.0.1');
    s.on('error', () => undefined);
    await new Promise((r) => s.on('close', r));
    await refusedListener.close();
    expect(await metric(opened)).toBe(before.opened + 1);
    expect(await metric(refused)).toBe(before.refused + 1);
    expect(await Promise.all(steps.map(metric))).toEqual(before.steps.map((n) => n + 1));
  });

  it('clear refusals: not allowed, unknown resource, resource refusing connections', async () => {
    const events: { type: string; code?: number; message?: string }[] = [];
    const open = async (resource: string) => {
      const listener = await startConnectListener({ apiUrl: stack.cp.baseUrl, token: agentToken, resource, onEvent: (e) => events.push(e) });
      const s = net.connect(listener.port, '127.0.0.1');
      s.on('error', () => undefined);
      await new Promise((r) => s.on('close', r));
      await listener.close();
      return events.at(-1);
    };
    expect(await open('secret-tcp')).toMatchObject({ code: 4403, message: expect.stringMatching(/not allowed/) });
    expect(await open('nope')).toMatchObject({ code: 4404 });
    expect(await open('dead')).toMatchObject({ code: 4502 });
    const audit = await stack.cp.request('GET', '/api/v1/audit/events?action=session.connect&resource=secret-tcp', { token: stack.admin });
    expect(audit.body.items[0]).toMatchObject({ outcome: 'denied' });

    // Policy decides on what the serving agent declared, not on a stored copy: a row changed behind the
    // agent's back (here given the label the policy asks for) does not open the resource.
    const db = stack.cp.app.get(DataSource);
    await db.query(`UPDATE resources SET labels = '{"demo":"true"}' WHERE name = 'secret-tcp'`);
    try {
      expect((await stack.cp.request('GET', '/api/v1/resources', { token: stack.admin })).body.items.find((r: { name: string }) => r.name === 'secret-tcp').labels).toEqual({ demo: 'true' });
      expect(await open('secret-tcp')).toMatchObject({ code: 4403, message: expect.stringMatching(/not allowed/) });
    } finally {
      await db.query(`UPDATE resources SET labels = '{}' WHERE name = 'secret-tcp'`);
    }
  });
});

/** Sends `size` random bytes through an echo path and hashes both directions. */
async function roundTrip(port: number, size: number) {
  const socket = net.connect(port, '127.0.0.1');
  const sentHash = createHash('sha256');
  const receivedHash = createHash('sha256');
  let received = 0;
  const done = new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      receivedHash.update(chunk);
      received += chunk.length;
      if (received >= size) resolve();
    });
    socket.on('error', reject);
    socket.on('close', () => (received >= size ? resolve() : reject(new Error(`closed after ${received} of ${size} bytes`))));
  });
  const chunk = 64 * 1024;
  for (let sent = 0; sent < size; sent += chunk) {
    const block = randomBytes(Math.min(chunk, size - sent));
    sentHash.update(block);
    if (!socket.write(block)) await new Promise((r) => socket.once('drain', r));
  }
  await done;
  socket.end();
  return { sent: size, received, sentHash: sentHash.digest('hex'), receivedHash: receivedHash.digest('hex') };
}
