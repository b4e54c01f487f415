import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectlFor, startKubeCluster, type KubeCluster, type Kubectl } from './support/kube-fixture.js';
import { k8sRequest } from './support/kube-raw.js';
import { startStack, type Stack } from './support/stack.js';

// Reads mask Secret data and e-mail addresses; writes in default carry no masking of their own; the
// ConfigMap "app-config" may be patched but not read.
const POLICY = `
@id("k8s-connect") @k8s_service_account("gw/deployer")
permit (principal, action == Gateway::Action::"connect", resource) when { resource.type == "kubernetes" && principal.gatewayRoles.contains("requester") };
@id("k8s-read") @mask_columns("secrets.data:full, secrets.stringData:full") @mask("email:partial")
permit (principal, action in Gateway::Action::"k8s:read", resource) when { principal.gatewayRoles.contains("requester") };
@id("k8s-write-default")
permit (principal, action in Gateway::Action::"k8s:write", resource)
  when { principal.gatewayRoles.contains("requester") && context has namespace && context.namespace == "default" };
@id("no-app-config-reads")
forbid (principal, action in Gateway::Action::"k8s:read", resource) when { context has name && context.name == "app-config" };
`;

const PASSWORD_B64 = Buffer.from('hunter2-secret').toString('base64');

describe('kubernetes: the answer to a write is masked as a read of the object would be', () => {
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

  it('a no-op dry-run patch, a patch and server-side apply of a Secret return its data masked, as a get would', async () => {
    const url = `${stack.k8s.server}/k8s/k8s/api/v1/namespaces/default/secrets/db-credentials`;
    const writes = [
      { query: '?dryRun=All', type: 'application/merge-patch+json', body: '{}' },
      { query: '', type: 'application/merge-patch+json', body: '{"metadata":{"labels":{"touched":"yes"}}}' },
      { query: '?fieldManager=probe&dryRun=All', type: 'application/apply-patch+yaml', body: 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-credentials\n' },
    ];
    for (const w of writes) {
      const answer = await k8sRequest(`${url}${w.query}`, stack.k8s.certificateAuthority, token, { method: 'PATCH', headers: { 'content-type': w.type }, body: w.body });
      expect(answer.status).toBe(200);
      const secret = JSON.parse(answer.body) as { kind: string; data: Record<string, string> };
      expect(secret.kind).toBe('Secret');
      expect(Object.keys(secret.data).sort()).toEqual(['password', 'username']);
      expect(answer.body).not.toContain(PASSWORD_B64);
      expect(answer.body).not.toContain('hunter2');
    }
    const viaKubectl = await kubectl(['patch', 'secret', 'db-credentials', '--type', 'merge', '-p', '{}', '--dry-run=server', '-o', 'json']);
    expect(viaKubectl.stderr).toBe('');
    expect(viaKubectl.stdout).toContain('db-credentials');
    expect(viaKubectl.stdout).not.toContain(PASSWORD_B64);
  });

  it('the answer to a write of an object policy does not let the principal read carries only its identity', async () => {
    expect((await kubectl(['get', 'configmap', 'app-config', '-o', 'json'])).stderr).toContain('forbidden');
    // (kubectl patch reads the object first, which is denied: a raw client's write.)
    const answer = await k8sRequest(`${stack.k8s.server}/k8s/k8s/api/v1/namespaces/default/configmaps/app-config?dryRun=All`, stack.k8s.certificateAuthority, token, {
      method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: '{}',
    });
    expect(answer.status).toBe(200);
    const object = JSON.parse(answer.body) as Record<string, unknown> & { metadata: Record<string, unknown> };
    expect(object).toMatchObject({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'app-config', namespace: 'default' } });
    expect(object.data).toBeUndefined();
    expect(object.metadata.labels).toBeUndefined();
    expect(answer.body).not.toContain('alice');
    const stored = cluster.api.requests.filter((r) => r.path.startsWith('/api/v1/namespaces/default/configmaps/app-config') && r.method === 'PATCH');
    expect(stored.length).toBe(1);
  });
});
