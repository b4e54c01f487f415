import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectlBinary, kubectlFor, startKubeCluster, type KubeCluster, type Kubectl } from './support/kube-fixture.js';
import type { SessionEvent } from './support/session-events.js';
import { startStack, type Stack } from './support/stack.js';

// kubectl 1.27 and 1.28 exec over SPDY/3.1 (v4.channel.k8s.io), 1.29 over SPDY with v5; port-forward is
// plain SPDY up to 1.30 and SPDY tunnelled in a WebSocket from 1.31. The gateway agent ends the client's
// SPDY and speaks WebSocket channels to the API server (the test double serves only those).
const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("k8s-connect") @k8s_service_account("gw/deployer")
permit (principal, action == Gateway::Action::"connect", resource)
  when { resource.type == "kubernetes" && principal.gatewayRoles.contains("requester") };
@id("k8s-read") permit (principal, action in Gateway::Action::"k8s:read", resource) when { principal.gatewayRoles.contains("requester") };
@id("k8s-exec-default") @mask("email:partial")
permit (principal, action in [Gateway::Action::"k8s:exec", Gateway::Action::"k8s:attach"], resource)
  when { principal.gatewayRoles.contains("requester") && context has namespace && context.namespace == "default" };
@id("k8s-exec-prod") @approval("required") @approvers("role:approver")
permit (principal, action == Gateway::Action::"k8s:exec", resource)
  when { principal.gatewayRoles.contains("requester") && context has namespace && context.namespace == "prod" && context has container && context.container == "held" };
@id("k8s-portforward-default")
permit (principal, action == Gateway::Action::"k8s:portforward", resource)
  when { principal.gatewayRoles.contains("requester") && context has namespace && context.namespace == "default" };
@id("no-debugger-port") @reason("the debugger port is not forwarded")
forbid (principal, action == Gateway::Action::"k8s:portforward", resource) when { context has port && context.port == 9229 };
`;

async function allEvents(stack: Stack): Promise<SessionEvent[]> {
  const sessions = (await stack.cp.request('GET', '/api/v1/sessions?resource=k8s&limit=200', { token: stack.admin })).body.items as { id: string }[];
  const events: SessionEvent[] = [];
  for (const s of sessions) events.push(...((await stack.cp.request('GET', `/api/v1/sessions/${s.id}/events?limit=1000`, { token: stack.admin })).body.items as SessionEvent[]));
  return events;
}

function output(child: ChildProcess): { text: () => string; waitFor: (pattern: RegExp) => Promise<RegExpExecArray> } {
  let text = '';
  const waiters: (() => void)[] = [];
  const onData = (d: Buffer) => {
    text += d.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return {
    text: () => text,
    waitFor: (pattern) => new Promise((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(text);
        if (m) return resolve(m);
        if (child.exitCode !== null) return reject(new Error(`kubectl ended (${child.exitCode}): ${text}`));
        waiters.push(check);
      };
      child.once('exit', () => setImmediate(check));
      check();
    }),
  };
}

/** Sends bytes on a fresh connection to the forwarded local port and reads until `expected` bytes came back. */
function echoThrough(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let size = 0;
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      size += d.length;
      if (size >= payload.length) {
        socket.end();
        resolve(Buffer.concat(chunks));
      }
    });
    socket.once('error', reject);
    socket.once('close', () => size < payload.length && reject(new Error(`connection closed after ${size} of ${payload.length} bytes`)));
    socket.write(payload);
  });
}

describe('kubectl over SPDY through the gateway (exec and attach before 1.30, port-forward)', () => {
  let cluster: KubeCluster;
  let stack: Stack;
  let token: string;
  let kubectl: Kubectl;

  beforeAll(async () => {
    cluster = await startKubeCluster();
    stack = await startStack({ policy: POLICY, resources: [cluster.resource('k8s', 'token-request')] });
    token = await stack.cp.token('ai-agent');
    kubectl = kubectlFor(stack.k8s.server, stack.k8s.certificateAuthority, 'k8s', token);
  }, 90_000);

  afterAll(async () => {
    await stack?.close();
    await cluster?.close();
  });

  it('runs exec from kubectl 1.27, 1.28 (SPDY, v4) and 1.29 (SPDY, v5): output, stdin, exit codes, masking', async () => {
    for (const version of ['1.27', '1.28', '1.29']) {
      const echoed = await kubectl(['exec', 'web-1', '--', 'echo', `spdy-${version}`], { version });
      expect(echoed, `kubectl ${version}`).toMatchObject({ code: 0, stdout: `spdy-${version}\n` });
      const piped = await kubectl(['exec', '-i', 'web-1', '--', 'cat'], { version, input: 'mail carol@example.com please\n' });
      expect(piped.stdout, `kubectl ${version}`).toMatch(/^mail c\*+@example\.com please\n$/);
      const failed = await kubectl(['exec', 'web-1', '--', 'sh', '-c', 'echo to-stderr >&2; exit 3'], { version });
      expect(failed.code, `kubectl ${version}`).toBe(3);
      expect(failed.stderr).toContain('to-stderr');
      expect(failed.stderr).toContain('command terminated with exit code 3');
    }
    // Much more than one flow-control window (64 KiB) both ways.
    const big = 'x'.repeat(300 * 1024);
    const copied = await kubectl(['exec', '-i', 'web-1', '--', 'wc', '-c'], { version: '1.28', input: big });
    expect(copied.stdout.trim()).toBe(String(big.length));
    const produced = await kubectl(['exec', 'web-1', '--', 'head', '-c', '500000', '/dev/zero'], { version: '1.27' });
    expect(produced.stdout.length).toBe(500000);
  }, 120_000);

  it('attaches from kubectl 1.28 over SPDY (decided as k8s:attach)', async () => {
    const attached = await kubectl(['attach', '-i', 'web-1'], { version: '1.28', input: 'to the container\n' });
    expect(attached.stdout).toContain('to the container');
  });

  it('refuses an exec where no permit applies, like the WebSocket path, and never dials the API server', async () => {
    const before = cluster.api.requests.length;
    const denied = await kubectl(['exec', '-n', 'prod', 'worker-1', '--', 'echo', 'nope'], { version: '1.28' });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('Forbidden');
    expect(denied.stderr).toContain('is forbidden');
    expect(cluster.api.requests.slice(before).some((r) => r.path.includes('/exec'))).toBe(false);
  });

  it('holds an exec from kubectl 1.27: stderr names the approval at once, and the command runs once approved', async () => {
    const child = spawn(kubectlBinary('1.27'), ['--kubeconfig', kubectl.kubeconfigFor(token), 'exec', '-n', 'prod', 'worker-1', '-c', 'held', '--', 'echo', 'approved-spdy'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const seen = output(child);
    const approvalId = (await seen.waitFor(/held for approval ([0-9a-f-]{36})/))[1]!;
    expect(stdout).toBe('');
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const vote = await stack.cp.request('POST', `/api/v1/approvals/${approvalId}/approve`, { token: await stack.cp.token('approver'), body: {} });
    expect(vote.status).toBe(200);
    expect(await exited).toBe(0);
    expect(stdout).toBe('approved-spdy\n');
  }, 60_000);

  it('records SPDY exec like WebSocket exec, replayable as asciicast', async () => {
    let exec: SessionEvent | undefined;
    await expect.poll(async () => {
      exec = (await allEvents(stack)).find((e) => e.type === 'k8s.exec' && e.data.command === 'echo spdy-1.27');
      return exec !== undefined;
    }, { timeout: 15_000, interval: 200 }).toBe(true);
    expect(exec!.data).toMatchObject({ protocol: 'SPDY/3.1+v4.channel.k8s.io', upgrade: 'SPDY/3.1', action: 'k8s:exec', decision: 'allow' });
    const v5 = (await allEvents(stack)).find((e) => e.type === 'k8s.exec' && e.data.command === 'echo spdy-1.29');
    expect(v5?.data.protocol).toBe('SPDY/3.1+v5.channel.k8s.io');
    const sessions = (await stack.cp.request('GET', '/api/v1/sessions?resource=k8s&limit=200', { token: stack.admin })).body.items as { id: string }[];
    let cast = '';
    for (const s of sessions) {
      const res = await stack.cp.request('GET', `/api/v1/sessions/${s.id}/recording.cast`, { token: stack.admin });
      if (res.status === 200 && typeof res.body === 'string' && res.body.includes('spdy-1.27')) cast = res.body;
    }
    const lines = cast.trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(lines[0]).toMatchObject({ version: 2, command: 'echo spdy-1.27' });
    expect(lines.slice(1)).toContainEqual([expect.any(Number), 'o', 'spdy-1.27\n']);
  });

  it('forwards a pod port with kubectl 1.27 and 1.30 (SPDY) and 1.33 (SPDY in a WebSocket), bytes both ways, several connections', async () => {
    for (const version of ['1.27', '1.30', '1.33']) {
      const child = spawn(kubectlBinary(version), ['--kubeconfig', kubectl.kubeconfigFor(token), 'port-forward', 'pod/web-1', ':8080'], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        const seen = output(child);
        const local = Number((await seen.waitFor(/Forwarding from 127\.0\.0\.1:(\d+) -> 8080/))[1]);
        const request = Buffer.from(`GET / HTTP/1.1\r\nHost: kubectl-${version}\r\n\r\n`);
        expect((await echoThrough(local, request)).toString(), `kubectl ${version}`).toBe(request.toString());
        // A second connection through the same kubectl, larger than a flow-control window.
        const bulk = Buffer.alloc(200 * 1024, version);
        expect((await echoThrough(local, bulk)).equals(bulk), `kubectl ${version}`).toBe(true);
        expect(seen.text()).not.toMatch(/error|an error occurred/i);
      } finally {
        child.kill('SIGTERM');
      }
    }
    const forwards = (events: SessionEvent[]) => events.filter((e) => e.type === 'k8s.portforward').map((e) => e.data);
    let found: Record<string, unknown>[] = [];
    await expect.poll(async () => {
      found = forwards(await allEvents(stack));
      return found.length;
    }, { timeout: 15_000, interval: 200 }).toBeGreaterThanOrEqual(6);
    // Plain SPDY comes as a POST, the WebSocket tunnel as a GET: both are decided as k8s:portforward.
    for (const [method, verb] of [['POST', 'create'], ['GET', 'get']]) {
      expect(found).toContainEqual(expect.objectContaining({
        method, verb, resource: 'pods', subresource: 'portforward', namespace: 'default', name: 'web-1', action: 'k8s:portforward',
        decision: 'allow', policies: ['k8s-portforward-default'], port: 8080, status: 101, endedBy: 'client',
      }));
    }
    // Channel messages carry one channel byte each: the 200 KiB connection is the one a little over 200 KiB each way.
    const bulk = found.find((r) => Number(r.bytesIn) >= 200 * 1024);
    expect(Number(bulk?.bytesIn)).toBeLessThan(200 * 1024 + 64);
    expect(Number(bulk?.bytesOut)).toBeGreaterThanOrEqual(200 * 1024 + 6);
    await expect.poll(async () => (await allEvents(stack)).filter((e) => e.type === 'k8s.request' && e.data.subresource === 'portforward' && e.data.status === 101).map((e) => e.data.upgrade).sort(), { timeout: 15_000, interval: 200 })
      .toEqual(['SPDY/3.1', 'SPDY/3.1', 'websocket']);
  }, 120_000);

  it('decides each forwarded connection with its port (context.port): a forbidden port never reaches the API server, old and new kubectl', async () => {
    const before = cluster.api.requests.length;
    for (const version of ['1.27', '1.33']) {
      const child = spawn(kubectlBinary(version), ['--kubeconfig', kubectl.kubeconfigFor(token), 'port-forward', 'pod/web-1', ':9229'], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        const seen = output(child);
        const local = Number((await seen.waitFor(/Forwarding from 127\.0\.0\.1:(\d+) -> 9229/))[1]);
        const socket = connect(local, '127.0.0.1');
        socket.on('error', () => undefined);
        socket.write('GET / HTTP/1.1\r\n\r\n');
        await seen.waitFor(/port-forward to port 9229 is forbidden: denied by policy \\?"no-debugger-port\\?"/);
        socket.destroy();
      } finally {
        child.kill('SIGTERM');
      }
    }
    expect(cluster.api.requests.slice(before).some((r) => r.path.includes('/portforward'))).toBe(false);
    await expect.poll(async () => (await allEvents(stack)).filter((e) => e.type === 'k8s.portforward' && e.data.port === 9229).map((e) => [e.data.decision, e.data.policies, e.data.status]), { timeout: 15_000, interval: 200 })
      .toEqual([['deny', ['no-debugger-port'], 403], ['deny', ['no-debugger-port'], 403]]);
  }, 60_000);

  it('refuses port-forward (403 Forbidden) where no k8s:portforward permit applies, old and new kubectl', async () => {
    const before = cluster.api.requests.length;
    for (const version of ['1.27', '1.33']) {
      const child = spawn(kubectlBinary(version), ['--kubeconfig', kubectl.kubeconfigFor(token), 'port-forward', '-n', 'prod', 'pod/worker-1', ':5432'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const seen = output(child);
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      expect(code, `kubectl ${version}: ${seen.text()}`).not.toBe(0);
      expect(seen.text(), `kubectl ${version}`).toMatch(/forbidden/i);
    }
    expect(cluster.api.requests.slice(before).some((r) => r.path.includes('/portforward'))).toBe(false);
  }, 60_000);
});
