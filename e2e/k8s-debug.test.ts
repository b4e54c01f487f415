import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeCluster, type KubeCluster } from './support/kube-fixture.js';
import { k8sRequest } from './support/kube-raw.js';
import { startStack, type Stack } from './support/stack.js';

// Exec (and kubectl debug, an exec too) is permitted in default, but never a command that removes files.
const POLICY = `
@id("k8s-connect") @k8s_service_account("gw/deployer")
permit (principal, action == Gateway::Action::"connect", resource) when { resource.type == "kubernetes" && principal.gatewayRoles.contains("requester") };
@id("k8s-read") permit (principal, action in Gateway::Action::"k8s:read", resource) when { principal.gatewayRoles.contains("requester") };
@id("k8s-exec-default")
permit (principal, action == Gateway::Action::"k8s:exec", resource)
  when { principal.gatewayRoles.contains("requester") && context has namespace && context.namespace == "default" };
@id("no-rm") @reason("workloads do not remove files in pods")
forbid (principal, action == Gateway::Action::"k8s:exec", resource) when { context has command && context.command like "*rm *" };
`;

/** What `kubectl debug web-1 --image=busybox -- <command>` sends: a strategic merge patch adding one ephemeral container. */
function debugPatch(command?: string[]): string {
  return JSON.stringify({ spec: { ephemeralContainers: [{ name: 'debugger', image: 'busybox', stdin: true, tty: true, ...(command ? { command } : {}) }] } });
}

describe('kubernetes: an ephemeral container (kubectl debug) is decided on the command it runs, like an exec', () => {
  let cluster: KubeCluster;
  let stack: Stack;
  let token: string;
  const url = () => `${stack.k8s.server}/k8s/k8s/api/v1/namespaces/default/pods/web-1/ephemeralcontainers`;
  const patch = (body: string, type = 'application/strategic-merge-patch+json') =>
    k8sRequest(url(), stack.k8s.certificateAuthority, token, { method: 'PATCH', headers: { 'content-type': type }, body });

  beforeAll(async () => {
    cluster = await startKubeCluster();
    stack = await startStack({ policy: POLICY, resources: [cluster.resource('k8s', 'token-request')] });
    token = await stack.cp.token('ai-agent');
  }, 90_000);

  afterAll(async () => {
    await stack?.close();
    await cluster?.close();
  });

  it('refuses a debug container whose command the forbid names, in a strategic merge patch and a JSON patch; the API server never sees it', async () => {
    const before = cluster.api.requests.length;
    const refused = await patch(debugPatch(['sh', '-c', 'rm -rf /data']));
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/no-rm.*workloads do not remove files in pods/);
    const jsonPatch = JSON.stringify([{ op: 'add', path: '/spec/ephemeralContainers/-', value: { name: 'd2', image: 'busybox', command: ['rm', '-rf', '/data'] } }]);
    expect((await patch(jsonPatch, 'application/json-patch+json')).status).toBe(403);
    expect(cluster.api.requests.slice(before).filter((r) => r.path.includes('ephemeralcontainers'))).toEqual([]);
  });

  it("refuses a debug container without a command (its image's entrypoint) while policy decides on commands, saying why", async () => {
    const refused = await patch(debugPatch());
    expect(refused.status).toBe(403);
    expect(refused.body).toContain("runs its image's entrypoint, which the gateway cannot see; name the command (kubectl debug ... -- <command>)");
  });

  it('lets a debug container with another command through to the API server', async () => {
    const before = cluster.api.requests.length;
    const answer = await patch(debugPatch(['ls', '/data']));
    expect(answer.status).not.toBe(403);
    expect(cluster.api.requests.slice(before).some((r) => r.method === 'PATCH' && r.path.includes('/pods/web-1/ephemeralcontainers'))).toBe(true);
  });
});
