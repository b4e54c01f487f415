import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeCluster, type KubeCluster } from './support/kube-fixture.js';
import type { SessionEvent } from './support/session-events.js';
import { startStack, type Stack } from './support/stack.js';

// Port-forward may go to pods in "default" only: a pod in "prod" has no k8s:portforward permit.
const POLICY = `
@id("k8s-exec-default") permit (principal, action == Gateway::Action::"k8s:exec", resource)
  when { principal.gatewayRoles.contains("requester") && context has namespace && context.namespace == "default" };
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("k8s-connect") @k8s_service_account("gw/deployer")
permit (principal, action == Gateway::Action::"connect", resource)
  when { resource.type == "kubernetes" && principal.gatewayRoles.contains("requester") };
@id("k8s-read") permit (principal, action in Gateway::Action::"k8s:read", resource) when { principal.gatewayRoles.contains("requester") };
@id("k8s-portforward-default")
permit (principal, action == Gateway::Action::"k8s:portforward", resource)
  when { principal.gatewayRoles.contains("requester") && context has namespace && context.namespace == "default" };
@id("k8s-proxy-default") @mask("email:partial")
permit (principal, action == Gateway::Action::"k8s:proxy", resource)
  when { principal.gatewayRoles.contains("requester") && context has namespace && context.namespace == "default" };
@id("k8s-proxy-prod")
permit (principal, action == Gateway::Action::"k8s:proxy", resource)
  when { principal.gatewayRoles.contains("requester") && context has namespace && context.namespace == "prod" };
@id("no-debugger-port") @reason("the debugger port is not forwarded")
forbid (principal, action == Gateway::Action::"k8s:portforward", resource) when { context has port && context.port == 9229 };
`;

/** The WebSocket port-forward protocol of the kubelet (v4.channel.k8s.io), as a client library speaks it. */
function portForward(url: string, ca: string, token: string): Promise<{ ws: WebSocket; messages: Buffer[] } | { status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['v4.channel.k8s.io'], { ca, headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    const messages: Buffer[] = [];
    ws.on('message', (data: Buffer) => messages.push(data));
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', reject);
  });
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('kubernetes port-forward through the gateway (WebSocket, v4.channel.k8s.io)', () => {
  let cluster: KubeCluster;
  let stack: Stack;
  let token: string;

  beforeAll(async () => {
    cluster = await startKubeCluster();
    stack = await startStack({ policy: POLICY, resources: [cluster.resource('k8s', 'token-request')] });
    token = await stack.cp.token('ai-agent');
  }, 90_000);

  afterAll(async () => {
    await stack?.close();
    await cluster?.close();
  });

  it('forwards bytes both ways to a pod port, refuses a pod the policy does not allow, and records both', async () => {
    const base = `${stack.k8s.server.replace(/^https:/, 'wss:')}/k8s/k8s/api/v1/namespaces`;
    const ca = stack.k8s.certificateAuthority;
    const opened = await portForward(`${base}/default/pods/web-1/portforward?ports=8080`, ca, token);
    if (!('ws' in opened)) throw new Error(`port-forward refused: ${opened.status} ${opened.body}`);
    const { ws, messages } = opened;
    expect(ws.protocol).toBe('v4.channel.k8s.io');
    // First the port (8080, little-endian) on its data channel (0) and its error channel (1).
    await until(() => messages.length >= 2);
    const port = Buffer.alloc(2);
    port.writeUInt16LE(8080);
    expect(messages.slice(0, 2)).toEqual([Buffer.concat([Buffer.from([0]), port]), Buffer.concat([Buffer.from([1]), port])]);
    // The double's pod port echoes: what goes out on channel 0 comes back on channel 0.
    const request = 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n';
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(request)]));
    await until(() => messages.length >= 3);
    expect(messages[2]![0]).toBe(0);
    expect(messages[2]!.subarray(1).toString()).toBe(request);
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close(1000);
    });

    // Each port of the query is decided (context.port): one forbidden port refuses the port-forward;
    // a port the API server would read otherwise (or not at all) is refused as a bad request.
    for (const query of ['ports=9229', 'ports=8080&ports=9229', 'ports=8080,9229', 'ports=%2B9229']) {
      const refused = await portForward(`${base}/default/pods/web-1/portforward?${query}`, ca, token);
      if (!('status' in refused)) throw new Error(`port-forward with ${query} was not refused`);
      expect(refused.status, query).toBe(403);
      expect(JSON.parse(refused.body).message, query).toContain('denied by policy "no-debugger-port"');
    }
    for (const query of ['ports=0', 'ports=65536', 'ports=%209229', 'ports=x', 'ports=']) {
      const refused = await portForward(`${base}/default/pods/web-1/portforward?${query}`, ca, token);
      if (!('status' in refused)) throw new Error(`port-forward with ${query} was not refused`);
      expect(refused.status, query).toBe(400);
      expect(JSON.parse(refused.body).message, query).toContain('is not a port from 1 to 65535');
    }
    expect(cluster.api.requests.filter((r) => r.path.startsWith('/api/v1/namespaces/default/pods/web-1/portforward')).length).toBe(1);

    const denied = await portForward(`${base}/prod/pods/worker-1/portforward?ports=5432`, ca, token);
    if (!('status' in denied)) throw new Error('port-forward to prod/worker-1 was not refused');
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body)).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
    expect(JSON.parse(denied.body).message).toContain('is forbidden');
    // The refused request never reached the API server.
    expect(cluster.api.requests.some((r) => r.path.startsWith('/api/v1/namespaces/prod/pods/worker-1/portforward'))).toBe(false);
    expect(cluster.api.requests.filter((r) => r.path.startsWith('/api/v1/namespaces/default/pods/web-1/portforward')).length).toBe(1);

    // The agent ships recordings in batches: read every k8s session's events until both requests are there.
    const forwards = (events: SessionEvent[]) => events.filter((e) => e.type === 'k8s.request' && e.data.subresource === 'portforward').map((e) => e.data);
    let found: Record<string, unknown>[] = [];
    await expect.poll(async () => {
      const sessions = (await stack.cp.request('GET', '/api/v1/sessions?resource=k8s&limit=100', { token: stack.admin })).body.items as { id: string }[];
      found = [];
      for (const s of sessions) found.push(...forwards((await stack.cp.request('GET', `/api/v1/sessions/${s.id}/events?limit=1000`, { token: stack.admin })).body.items as SessionEvent[]));
      return found.some((r) => r.status === 101) && found.some((r) => r.status === 403 && r.namespace === 'prod');
    }, { timeout: 15_000, interval: 200 }).toBe(true);
    expect(found).toContainEqual(expect.objectContaining({
      verb: 'get', resource: 'pods', subresource: 'portforward', namespace: 'default', name: 'web-1', action: 'k8s:portforward',
      decision: 'allow', policies: ['k8s-portforward-default'], status: 101, endedBy: 'client', bytesIn: 1 + request.length, bytesOut: 3 + 3 + 1 + request.length,
    }));
    expect(found).toContainEqual(expect.objectContaining({
      subresource: 'portforward', namespace: 'prod', name: 'worker-1', action: 'k8s:portforward', decision: 'deny', status: 403,
    }));
  }, 60_000);

  it('refuses a WebSocket through pods/proxy where the permit masks answers (its messages cannot be masked); without masking it reaches the API server', async () => {
    const base = `${stack.k8s.server.replace(/^https:/, 'wss:')}/k8s/k8s/api/v1/namespaces`;
    const before = cluster.api.requests.length;
    const masked = await portForward(`${base}/default/pods/web-1/proxy/ws`, stack.k8s.certificateAuthority, token);
    if (!('status' in masked)) throw new Error('a WebSocket through a masked proxy was upgraded');
    expect(masked.status).toBe(403);
    expect(JSON.parse(masked.body).message).toContain('the messages of a proxied connection cannot be masked');
    expect(cluster.api.requests.slice(before).some((r) => r.path.includes('/proxy'))).toBe(false);
    // (The test double serves no proxy: what it answers does not matter here, only that it was asked.)
    const unmasked = await portForward(`${base}/prod/pods/worker-1/proxy/ws`, stack.k8s.certificateAuthority, token).catch(() => undefined);
    if (unmasked && 'ws' in unmasked) unmasked.ws.close();
    expect(cluster.api.requests.slice(before).some((r) => r.path.startsWith('/api/v1/namespaces/prod/pods/worker-1/proxy/ws'))).toBe(true);
  }, 30_000);

  it('refuses SPDY tunnelled in a WebSocket for anything but port-forward, with a 400 that says so, and never dials the API server', async () => {
    // kubectl tunnels SPDY in a WebSocket (subprotocol SPDY/3.1+portforward.k8s.io) for port-forward only
    // (e2e/k8s-spdy.test.ts runs it); offered for exec, it is refused. No WebSocket library here sends it: a raw upgrade.
    const url = new URL(`${stack.k8s.server}/k8s/k8s/api/v1/namespaces/default/pods/web-1/exec?command=true`);
    const before = cluster.api.requests.length;
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest(url, {
        ca: stack.k8s.certificateAuthority,
        headers: {
          authorization: `Bearer ${token}`, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13',
          'sec-websocket-key': randomBytes(16).toString('base64'), 'sec-websocket-protocol': 'SPDY/3.1+portforward.k8s.io',
        },
      });
      req.once('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.once('upgrade', () => reject(new Error('the gateway upgraded a tunnelled SPDY exec')));
      req.once('error', reject);
      req.end();
    });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
    expect(JSON.parse(answer.body).message).toContain('SPDY is relayed in a WebSocket for port-forward only');
    expect(cluster.api.requests.slice(before).some((r) => r.path.includes('/exec'))).toBe(false);
  }, 30_000);
});
