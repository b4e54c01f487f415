import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from './support/agent-process.js';
import { kubectlFor, startKubeCluster, type KubeCluster, type Kubectl } from './support/kube-fixture.js';
import { k8sRequest } from './support/kube-raw.js';
import { startStack, type Stack } from './support/stack.js';

// A delete in prod needs one approval. The approval, with the request's fingerprint, lives in the
// control plane: the agent keeps nothing, so an approved request survives the agent's restart.
const POLICY = `
@id("admins") permit (principal, action, resource) when { principal.gatewayRoles.contains("admin") };
@id("k8s-connect") @k8s_service_account("gw/deployer")
permit (principal, action == Gateway::Action::"connect", resource)
  when { resource.type == "kubernetes" && principal.gatewayRoles.contains("requester") };
@id("k8s-read") permit (principal, action in Gateway::Action::"k8s:read", resource) when { principal.gatewayRoles.contains("requester") };
@id("k8s-delete-prod") @approval("required") @approvers("role:approver")
permit (principal, action == Gateway::Action::"k8s:delete", resource)
  when { principal.gatewayRoles.contains("requester") && context has namespace && context.namespace == "prod" };
`;

const HELD = /held for approval ([0-9a-f-]{36})/;

describe('an approved Kubernetes request survives an agent restart, and runs exactly once', () => {
  let cluster: KubeCluster;
  let stack: Stack;
  let agent: AgentProcess & { dir: string };
  let credential: string;
  let token: string;
  let kubectl: Kubectl;
  const start = (dir?: string) => {
    const r = cluster.resource('k8s', 'token-request');
    return spawnAgent({ controlPlaneUrl: stack.cp.baseUrl, credential, ...(dir ? { dir } : {}), resources: [{ name: r.name, type: r.type, address: r.address, labels: {}, ...r.extra }] });
  };
  const approve = async (id: string) => {
    const vote = await stack.cp.request('POST', `/api/v1/approvals/${id}/approve`, { token: await stack.cp.token('approver'), body: {} });
    expect(vote.status).toBe(200);
  };
  const deletes = (name: string) => cluster.api.requests.filter((r) => r.method === 'DELETE' && r.path.split('?')[0] === `/api/v1/namespaces/prod/pods/${name}`).length;

  beforeAll(async () => {
    cluster = await startKubeCluster();
    stack = await startStack({ policy: POLICY });
    credential = (await stack.cp.request('POST', '/api/v1/agents', { token: stack.admin, body: { name: 'edge-k8s-proc' } })).body.credential;
    agent = start();
    await stack.waitOnline('k8s');
    token = await stack.cp.token('ai-agent');
    kubectl = kubectlFor(stack.k8s.server, stack.k8s.certificateAuthority, 'k8s', token);
  }, 90_000);

  afterAll(async () => {
    await agent?.kill();
    await stack?.close();
    await cluster?.close();
  });

  it('approve, kill the agent, start it again: the same kubectl delete runs once; a third is held again', async () => {
    const held = await kubectl(['delete', 'pod', '-n', 'prod', 'api-1', '--wait=false']);
    expect(held.code).not.toBe(0);
    const approvalId = HELD.exec(held.stderr)?.[1];
    expect(approvalId, held.stderr).toBeDefined();
    await approve(approvalId!);

    await agent.kill('SIGKILL');
    await stack.waitOnline('k8s', false);
    agent = start(agent.dir);
    await stack.waitOnline('k8s');

    const ran = await kubectl(['delete', 'pod', '-n', 'prod', 'api-1', '--wait=false']);
    expect(ran, ran.stderr).toMatchObject({ code: 0, stdout: 'pod "api-1" deleted\n' });
    expect(deletes('api-1')).toBe(1);
    expect((await kubectl(['get', 'pod', '-n', 'prod', 'api-1'])).stderr).toContain('NotFound');

    const again = await kubectl(['delete', 'pod', '-n', 'prod', 'api-1', '--wait=false']);
    expect(again.code).not.toBe(0);
    expect(HELD.exec(again.stderr)?.[1]).toBeDefined();
    expect(HELD.exec(again.stderr)?.[1]).not.toBe(approvalId);
    expect(deletes('api-1')).toBe(1);

    const consumed = await stack.cp.request('GET', `/api/v1/audit/events?action=approval.consumed`, { token: stack.admin });
    expect(JSON.stringify(consumed.body)).toContain(approvalId!);
  }, 120_000);

  it('two identical requests at the same time use one approval: one runs, the other is held again', async () => {
    const url = `${stack.k8s.server}/k8s/k8s/api/v1/namespaces/prod/pods/worker-1`;
    const ca = stack.k8s.certificateAuthority;
    const first = await k8sRequest(url, ca, token, { method: 'DELETE' });
    expect(first.status).toBe(403);
    const approvalId = HELD.exec(first.body)?.[1];
    expect(approvalId, first.body).toBeDefined();
    // Before the approval, the same request is still held under the same approval.
    const early = await k8sRequest(url, ca, token, { method: 'DELETE' });
    expect(early.status).toBe(403);
    expect(early.body).toContain(`still held for approval ${approvalId}`);
    await approve(approvalId!);

    const both = await Promise.all([k8sRequest(url, ca, token, { method: 'DELETE' }), k8sRequest(url, ca, token, { method: 'DELETE' })]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 403]);
    expect(both.find((r) => r.status === 403)?.body).toMatch(HELD);
    expect(deletes('worker-1')).toBe(1);
  }, 60_000);
});
