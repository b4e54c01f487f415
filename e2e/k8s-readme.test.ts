import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_POLICY } from '@gw/policy';
import { kubectlBinary, kubectlFor, startKubeCluster, type KubeCluster, type Kubectl } from './support/kube-fixture.js';
import { startStack, type Stack } from './support/stack.js';

/** The README's "Kubernetes through the gateway" examples, under the demo policy that `npm start` installs. */
describe('README: Kubernetes examples under the demo policy', () => {
  let cluster: KubeCluster;
  let stack: Stack;
  let kubectl: Kubectl;
  let token: string;

  beforeAll(async () => {
    cluster = await startKubeCluster();
    stack = await startStack({ policy: DEMO_POLICY, resources: [cluster.resource('k8s-demo', 'token-request', { demo: 'true', env: 'dev' })] });
    token = await stack.cp.token('ai-agent');
    kubectl = kubectlFor(stack.k8s.server, stack.k8s.certificateAuthority, 'k8s-demo', token);
  }, 90_000);

  afterAll(async () => {
    await stack?.close();
    await cluster?.close();
  });

  it('reads with Secret data and e-mail addresses masked, execs, refuses what no policy permits', async () => {
    expect((await kubectl(['get', 'pods'])).stdout).toMatch(/^NAME\s+READY\s+STATUS\s+AGE\nweb-1\s/);
    const secret = await kubectl(['get', 'secret', 'db-credentials', '-o', 'yaml']);
    expect(secret.stdout).toMatch(/password: '\*+='/);
    expect((await kubectl(['get', 'configmap', 'app-config', '-o', 'yaml'])).stdout).toContain('owner: a****@example.com');
    expect((await kubectl(['logs', 'web-1'])).stdout).toContain('request from b**@example.com');
    expect((await kubectl(['exec', 'web-1', '--', 'echo', 'hello'])).stdout).toBe('hello\n');
    const create = await kubectl(['create', 'namespace', 'x']);
    expect(create.stderr).toContain('Error from server (Forbidden): namespaces is forbidden: no policy permits k8s:create');
    // Creates in default are permitted, a service account token is not: it would work without the gateway.
    const minted = await kubectl(['create', 'token', 'reader']);
    expect(minted.stdout).toBe('');
    expect(minted.stderr).toContain('error: failed to create token: serviceaccounts/token "reader" is forbidden: denied by policy "requester-k8s-no-credentials"');
  });

  it('holds a delete until an approver approves; then the same command deletes, once; an exec into prod waits on stderr', async () => {
    const held = await kubectl(['delete', 'pod', 'web-1']);
    const id = /held for approval ([0-9a-f-]{36})/.exec(held.stderr)?.[1];
    expect(id).toBeDefined();
    const approved = await stack.cp.request('POST', `/api/v1/approvals/${id}/approve`, { token: await stack.cp.token('approver'), body: {} });
    expect(approved.status).toBe(200);
    let deleted = '';
    for (let i = 0; i < 50 && !deleted.includes('deleted'); i += 1) {
      deleted = (await kubectl(['delete', 'pod', 'web-1'])).stdout;
      if (!deleted.includes('deleted')) await new Promise((r) => setTimeout(r, 200));
    }
    expect(deleted).toContain('pod "web-1" deleted');

    const exec = spawn(kubectlBinary('1.33'), ['--kubeconfig', kubectl.kubeconfigFor(token), '-n', 'prod', 'exec', 'api-1', '--', 'echo', 'hi'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const stderr = await new Promise<string>((resolve) => {
      let text = '';
      exec.stderr.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes('gateway: exec is held for approval')) resolve(text);
      });
    });
    expect(stderr).toMatch(/^gateway: exec is held for approval [0-9a-f-]{36} until /);
    exec.kill();
  });
});
