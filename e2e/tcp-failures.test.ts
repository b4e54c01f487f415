import net from 'node:net';
import { startConnectListener, type ConnectEvent } from '@gw/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from './support/agent-process.js';
import { startStack, type Stack } from './support/stack.js';

const POLICY = `@id("demo-tcp") permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "tcp" };`;

/** A source that writes as fast as TCP lets it; counts what it managed to hand to the kernel. */
function firehose(): Promise<{ port: number; written: () => number; close(): Promise<void> }> {
  let written = 0;
  const block = Buffer.alloc(64 * 1024, 7);
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    const pump = () => {
      while (!s.destroyed && written < 2 * 1024 ** 3) {
        written += block.length;
        if (!s.write(block)) return void s.once('drain', pump);
      }
    };
    pump();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: (server.address() as net.AddressInfo).port,
    written: () => written,
    close: () => new Promise((r) => { server.close(() => r()); }),
  })));
}

function echoServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((s) => { s.on('error', () => undefined); s.pipe(s); });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise((r) => { server.close(() => r()); }),
  })));
}

describe('tcp passthrough under failure: dead agent, restarted control plane, slow consumer', () => {
  let stack: Stack;
  let agent: AgentProcess;
  let hose: Awaited<ReturnType<typeof firehose>>;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let token: string;
  let credential: string;

  beforeAll(async () => {
    hose = await firehose();
    echo = await echoServer();
    stack = await startStack({ policy: POLICY });
    token = await stack.cp.token('ai-agent');
    const reg = await stack.cp.request('POST', '/api/v1/agents', { token: stack.admin, body: { name: 'edge-proc' } });
    credential = reg.body.credential;
    agent = spawnAgent({
      controlPlaneUrl: stack.cp.baseUrl,
      credential,
      resources: [
        { name: 'hose', type: 'tcp', address: `127.0.0.1:${hose.port}` },
        { name: 'echo', type: 'tcp', address: `127.0.0.1:${echo.port}` },
      ],
    });
    await stack.waitOnline('echo');
  }, 60_000);
  afterAll(async () => {
    await agent?.kill();
    await stack?.close();
    await hose?.close();
    await echo?.close();
  });

  it('a slow consumer never makes the agent or the control plane buffer the firehose', async () => {
    const listener = await startConnectListener({ apiUrl: stack.cp.baseUrl, token, resource: 'hose' });
    const agentBefore = agent.rssBytes();
    const cpBefore = process.memoryUsage().rss;
    const client = net.connect(listener.port, '127.0.0.1');
    client.pause();
    let read = 0;
    // Read 64 KiB every 50 ms (about 1.3 MB/s) for 6 s while the source could push gigabytes.
    const reader = setInterval(() => {
      let chunk: Buffer | null;
      let budget = 64 * 1024;
      while (budget > 0 && (chunk = client.read() as Buffer | null)) {
        read += chunk.length;
        budget -= chunk.length;
      }
    }, 50);
    await new Promise((r) => setTimeout(r, 6000));
    clearInterval(reader);
    const agentGrowth = agent.rssBytes() - agentBefore;
    const cpGrowth = process.memoryUsage().rss - cpBefore;
    client.destroy();
    await listener.close();
    expect(read).toBeGreaterThan(1024 * 1024);
    // Everything between source and reader is a chain of bounded buffers (kernel socket buffers,
    // a 256 KiB tunnel window, 1 MiB WebSocket high-water marks): the source is held back.
    expect(hose.written()).toBeLessThan(read + 64 * 1024 * 1024);
    expect(agentGrowth).toBeLessThan(64 * 1024 * 1024);
    expect(cpGrowth).toBeLessThan(128 * 1024 * 1024);
  }, 30_000);

  it('the agent killed mid-stream: the client sees its connection close within 2 s', async () => {
    const events: ConnectEvent[] = [];
    const listener = await startConnectListener({ apiUrl: stack.cp.baseUrl, token, resource: 'echo', onEvent: (e) => events.push(e) });
    const client = net.connect(listener.port, '127.0.0.1');
    client.on('error', () => undefined);
    client.write('hello');
    await new Promise((r) => client.once('data', r));
    const closed = new Promise<number>((resolve) => client.once('close', () => resolve(Date.now())));
    const killedAt = Date.now();
    await agent.kill('SIGKILL');
    const closedAt = await closed;
    expect(closedAt - killedAt).toBeLessThan(2000);
    await expect.poll(() => events.find((e) => e.type === 'closed'), { timeout: 2000 }).toMatchObject({ code: 4410 });
    await listener.close();
    await stack.waitOnline('echo', false);
    // The next session gets a clear "offline" refusal.
    const refused: ConnectEvent[] = [];
    const l2 = await startConnectListener({ apiUrl: stack.cp.baseUrl, token, resource: 'echo', onEvent: (e) => refused.push(e) });
    const c2 = net.connect(l2.port, '127.0.0.1');
    c2.on('error', () => undefined);
    await new Promise((r) => c2.once('close', r));
    expect(refused.find((e) => e.type === 'closed')).toMatchObject({ code: 4503 });
    await l2.close();
  }, 30_000);

  it('the control plane restarted: the agent is back within 5 s and new sessions work', async () => {
    agent = spawnAgent({ controlPlaneUrl: stack.cp.baseUrl, credential, resources: [{ name: 'echo', type: 'tcp', address: `127.0.0.1:${echo.port}` }] });
    await stack.waitOnline('echo');
    const stoppedAt = Date.now();
    await stack.cp.restart(500);
    // Measured from the moment the new control plane is listening again.
    const restartedAt = Date.now();
    await stack.waitOnline('echo', true);
    // waitOnline may see the pre-restart row: require a fresh heartbeat after the restart.
    let backAt = 0;
    for (;;) {
      const agents = (await stack.cp.request('GET', '/api/v1/agents', { token: stack.admin })).body.items as { name: string; status: string; lastSeenAt: string }[];
      const me = agents.find((a) => a.name === 'edge-proc');
      if (me && me.status === 'online' && Date.parse(me.lastSeenAt) > stoppedAt) {
        backAt = Date.now();
        break;
      }
      if (Date.now() - restartedAt > 10_000) throw new Error('agent did not come back');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(backAt - restartedAt).toBeLessThan(5000);
    const listener = await startConnectListener({ apiUrl: stack.cp.baseUrl, token, resource: 'echo' });
    const client = net.connect(listener.port, '127.0.0.1');
    client.write('after restart');
    const echoed = await new Promise<string>((r) => client.once('data', (d) => r(d.toString())));
    expect(echoed).toBe('after restart');
    client.destroy();
    await listener.close();
  }, 30_000);

  it('two agents serve one resource: with one of them killed, new sessions go to the other', async () => {
    const reg = await stack.cp.request('POST', '/api/v1/agents', { token: stack.admin, body: { name: 'edge-proc-b' } });
    const second = spawnAgent({ controlPlaneUrl: stack.cp.baseUrl, credential: reg.body.credential, resources: [{ name: 'echo', type: 'tcp', address: `127.0.0.1:${echo.port}` }] });
    try {
      await expect.poll(async () => {
        const items = (await stack.cp.request('GET', '/api/v1/resources', { token: stack.admin })).body.items as { name: string; agents: { online: boolean }[] }[];
        return items.find((r) => r.name === 'echo')?.agents.filter((a) => a.online).length;
      }, { timeout: 10_000 }).toBe(2);
      await agent.kill('SIGKILL');
      for (let i = 0; i < 5; i++) {
        const listener = await startConnectListener({ apiUrl: stack.cp.baseUrl, token, resource: 'echo' });
        const client = net.connect(listener.port, '127.0.0.1');
        client.write(`ha ${i}`);
        const echoed = await new Promise<string>((r) => client.once('data', (d) => r(d.toString())));
        expect(echoed).toBe(`ha ${i}`);
        client.destroy();
        await listener.close();
      }
    } finally {
      await second.kill();
    }
  }, 30_000);
});
