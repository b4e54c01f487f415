import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { CoreV1Api, Exec, KubeConfig, type V1Status } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectlBinary, kubectlFor, startKubeCluster, type KubeCluster, type Kubectl } from './support/kube-fixture.js';
import { startStack, type Stack } from './support/stack.js';

const run = promisify(execFile);

const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("k8s-connect") @k8s_service_account("gw/deployer")
permit (principal, action == Gateway::Action::"connect", resource)
  when { resource.type == "kubernetes" && principal.gatewayRoles.contains("requester") && !(resource.hasTag("env") && resource.getTag("env") == "jit") };
@id("k8s-jit-connect") @require_grant("true") @k8s_service_account("gw/deployer")
permit (principal, action == Gateway::Action::"connect", resource)
  when { principal.gatewayRoles.contains("requester") && resource.hasTag("env") && resource.getTag("env") == "jit" };
@id("k8s-jit-access") permit (principal, action == Gateway::Action::"request_access", resource)
  when { principal.gatewayRoles.contains("requester") && resource.type == "kubernetes" };
@id("k8s-read") @mask_columns("secrets.data:full")
permit (principal, action in Gateway::Action::"k8s:read", resource) when { principal.gatewayRoles.contains("requester") };
@id("k8s-exec") permit (principal, action == Gateway::Action::"k8s:exec", resource) when { principal.gatewayRoles.contains("requester") };
`;

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

function waitForOutput(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (pattern.test(seen)) resolve(seen);
    });
    child.once('exit', () => reject(new Error(`ended before ${pattern}: ${seen}`)));
  });
}

describe('kubernetes sessions: grants, gw kubeconfig, client libraries', () => {
  let cluster: KubeCluster;
  let stack: Stack;
  let token: string;
  let kubectl: Kubectl;

  beforeAll(async () => {
    cluster = await startKubeCluster();
    stack = await startStack({ policy: POLICY, resources: [cluster.resource('k8s', 'token-request'), cluster.resource('k8s-jit', 'token-request', { env: 'jit' })] });
    token = await stack.cp.token('ai-agent');
    kubectl = kubectlFor(stack.k8s.server, stack.k8s.certificateAuthority, 'k8s-jit', token);
  }, 90_000);

  afterAll(async () => {
    await stack?.close();
    await cluster?.close();
  });

  it('a revoked grant ends a running watch and a running exec; new requests are refused again', async () => {
    const refused = await kubectl(['get', 'pods']);
    expect(refused.stderr).toMatch(/^Warning: not allowed to connect to "k8s-jit": a just-in-time grant is required/);
    const asked = await stack.cp.request('POST', '/api/v1/access-requests', { token, body: { resource: 'k8s-jit', role: 'cluster', duration: '30m', reason: 'INC-4711' } });
    expect(asked.status).toBe(201);
    const grantId = asked.body.grant.id as string;
    const mintedBefore = new Set(cluster.api.tokens.keys());

    const watchConfig = kubectl.kubeconfigFor(token);
    const watch = spawn(kubectlBinary('1.33'), ['--kubeconfig', watchConfig, 'get', 'pods', '--watch'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let watchErr = '';
    watch.stderr.on('data', (d: Buffer) => (watchErr += d.toString()));
    let watchOut = '';
    watch.stdout.on('data', (d: Buffer) => (watchOut += d.toString()));
    const exec = spawn(kubectlBinary('1.33'), ['--kubeconfig', kubectl.kubeconfigFor(token), 'exec', '-i', 'web-1', '--', 'cat'], { stdio: ['pipe', 'pipe', 'pipe'] });
    await waitForOutput(watch, /web-1/);
    // The session's cluster token expires with the 30-minute grant (never before the API server's 10-minute minimum).
    const minted = [...cluster.api.tokens.entries()].filter(([t]) => !mintedBefore.has(t)).map(([, e]) => e);
    expect(minted.length).toBeGreaterThan(0);
    for (const e of minted) expect(e.expirationSeconds).toBeGreaterThanOrEqual(600);
    for (const e of minted) expect(e.expirationSeconds).toBeLessThanOrEqual(30 * 60);
    const echoed = waitForOutput(exec, /ping/);
    exec.stdin.write('ping\n');
    await echoed;

    const revoked = await stack.cp.request('DELETE', `/api/v1/grants/${grantId}`, { token: stack.admin });
    expect(revoked.status).toBe(200);
    // Both end by themselves: the gateway cut their sessions (the test's timeout bounds the wait).
    // kubectl prints the watch's ERROR event as a row and stops watching.
    await exited(watch);
    expect(watchOut).toMatch(new RegExp(`Failure\\s+Forbidden\\s+the gateway ended this session: access grant ${grantId} was revoked by Security Admin`));
    expect(watchErr).toBe('');
    expect(await exited(exec)).not.toBe(0);
    const after = await kubectl(['get', 'pods']);
    expect(after.stderr).toContain('just-in-time grant is required');
  }, 60_000);

  it('answers unknown clusters, resources of another type and bad paths with a Kubernetes Status', async () => {
    const { k8sRequest } = await import('./support/kube-raw.js');
    const ca = stack.k8s.certificateAuthority;
    const unknown = await k8sRequest(`${stack.k8s.server}/k8s/nowhere/api`, ca, token);
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'unknown resource "nowhere"' });
    const notK8s = await k8sRequest(`${stack.k8s.server}/api/v1/pods`, ca, token);
    expect(notK8s.status).toBe(404);
    const noToken = await k8sRequest(`${stack.k8s.server}/k8s/k8s/api`, ca, '');
    expect(noToken.status).toBe(401);
    const encoded = await k8sRequest(`${stack.k8s.server}/k8s/k8s/api/v1/namespaces/default/secrets%2Fdb-credentials`, ca, token, { method: 'DELETE' });
    expect(encoded.status).toBe(400);
    expect(JSON.parse(encoded.body)).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
  });

  it('gw kubeconfig merges a context whose exec plugin presents the current token', async () => {
    const home = mkdtempSync(join(tmpdir(), 'gw-kubeconfig-'));
    const file = join(home, 'config');
    writeFileSync(file, 'apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster: {server: "https://10.0.0.1:6443"}\nusers:\n- name: other\n  user: {token: x}\ncontexts:\n- name: other\n  context: {cluster: other, user: other}\ncurrent-context: other\n');
    const cli = resolve('apps/cli/dist/main.js');
    const env = { ...process.env, HOME: home, GW_TOKEN: token, GW_CONFIG_DIR: join(home, 'gw'), KUBECONFIG: '' };
    const wrote = await run(process.execPath, [cli, '--api', stack.cp.baseUrl, 'kubeconfig', 'k8s', '--kubeconfig', file, '--namespace', 'default'], { env });
    expect(wrote.stdout).toContain('wrote context gw-k8s');
    const config = parseYaml(readFileSync(file, 'utf8')) as { 'current-context': string; contexts: { name: string }[]; users: { name: string; user: { exec?: { apiVersion: string } } }[] };
    expect(config['current-context']).toBe('gw-k8s');
    expect(config.contexts.map((c) => c.name).sort()).toEqual(['gw-k8s', 'other']);
    expect(config.users.find((u) => u.name === 'gw-k8s')?.user.exec?.apiVersion).toBe('client.authentication.k8s.io/v1');

    const listed = await run(kubectlBinary('1.33'), ['--kubeconfig', file, 'get', 'pods', '-o', 'name'], { env });
    expect(listed.stdout.trim()).toBe('pod/web-1');
    const noToken = await run(kubectlBinary('1.33'), ['--kubeconfig', file, 'get', 'pods'], { env: { ...env, GW_TOKEN: '' } }).catch((e: { stderr: string }) => e);
    expect(noToken.stderr).toContain('not logged in: run gw login');
  });

  it('@kubernetes/client-node lists, reads masked secrets, and execs through the gateway', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'gw', server: `${stack.k8s.server}/k8s/k8s`, caData: Buffer.from(stack.k8s.certificateAuthority).toString('base64') }],
      users: [{ name: 'gw', token }],
      contexts: [{ name: 'gw', cluster: 'gw', user: 'gw' }],
      currentContext: 'gw',
    });
    const core = kc.makeApiClient(CoreV1Api);
    const pods = await core.listNamespacedPod({ namespace: 'default' });
    expect(pods.items.map((p) => p.metadata?.name)).toEqual(['web-1']);
    const secret = await core.readNamespacedSecret({ namespace: 'default', name: 'db-credentials' });
    expect(secret.data?.password).toBeDefined();
    expect(secret.data?.password).not.toBe(Buffer.from('hunter2-secret').toString('base64'));
    await expect(core.deleteNamespacedSecret({ namespace: 'default', name: 'db-credentials' })).rejects.toMatchObject({ code: 403 });

    let out = '';
    const stdout = new Writable({ write: (chunk: Buffer, _e, cb) => { out += chunk.toString(); cb(); } });
    const status = await new Promise<V1Status>((resolve, reject) => {
      new Exec(kc).exec('default', 'web-1', 'web', ['echo', 'from-client-node'], stdout, new PassThrough(), null, false, resolve).catch(reject);
    });
    expect(status.status).toBe('Success');
    expect(out).toBe('from-client-node\n');
  });
});
