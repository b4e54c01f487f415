import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { K8sEndpoint } from '../apps/control-plane/src/k8s-endpoint/k8s-endpoint.service.js';
import { kubectlFor, startKubeCluster, type KubeCluster } from './support/kube-fixture.js';
import { startStack, type Stack } from './support/stack.js';

const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("k8s-connect") @k8s_service_account("gw/deployer") @k8s_groups("gw:readers")
permit (principal, action == Gateway::Action::"connect", resource) when { resource.type == "kubernetes" && principal.gatewayRoles.contains("requester") };
@id("k8s-read")
permit (principal, action in Gateway::Action::"k8s:read", resource) when { principal.gatewayRoles.contains("requester") };
`;

describe('smoke', () => {
  let stack: Stack;
  let cluster: KubeCluster;
  beforeAll(async () => {
    cluster = await startKubeCluster();
    stack = await startStack({ policy: POLICY, resources: [cluster.resource('k8s', 'token-request')] });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await cluster?.close();
  });
  it('gets pods', async () => {
    const info = stack.cp.app.get(K8sEndpoint).endpointInfo();
    const token = await stack.cp.token('ai-agent');
    const kubectl = kubectlFor(info.server!, info.certificateAuthority!, 'k8s', token);
    const r = await kubectl(['get', 'pods', '-v=6']);
    console.log(r.stdout, r.stderr.slice(-3000));
    console.log(cluster.api.requests.slice(-3));
    expect(r.code).toBe(0);
  }, 60_000);
});
